/**
 * A deterministic zip of a few files, written in-process. cdktf's ARCHIVE assets zip in a child
 * Node process per stack (0.4-1.6 s each here); the worker's bundle is zipped once per process
 * instead and handed to each stack as a FILE asset, which synth only copies.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';

/** 1980-01-01 00:00 in DOS time/date: fixed, so the same input always gives the same bytes and hash. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/** Zip bytes (deflate) of `files` (archive name -> content), in the given order. */
export function zipBytes(files: ReadonlyArray<readonly [string, Buffer]>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of files) {
    const nameBytes = Buffer.from(name, 'utf8');
    const data = zlib.deflateRawSync(content, { level: 9 });
    const crc = zlib.crc32(content);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(content.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, spec 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(content.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

/** The nearest directory at or above the working directory holding cdktf.json (where cdktf resolves asset paths too). */
export function projectRoot(from = process.cwd()): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'cdktf.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from);
  }
}

const written = new Map<string, string>();

export interface ZipOptions {
  /** Files identified by their name alone: remade by every build with other bytes and the same meaning (a V8 code cache). @default none */
  readonly identifiedByName?: (name: string) => boolean;
}

export interface ZippedFiles {
  /** The zip, under the OS temp directory. */
  readonly path: string;
  /** What identifies the package: names and contents, except the contents of files identified by name. */
  readonly digest: string;
}

/**
 * Zips `fileNames` from `dir` once per digest and returns the zip's path (under the OS temp directory,
 * named by digest, written atomically so parallel processes never see half a file) and the digest.
 */
export function zipFiles(dir: string, fileNames: readonly string[], options: ZipOptions = {}): ZippedFiles {
  const files = fileNames.map((name) => {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new Error(`${file} does not exist: build the runtime bundle first (npm run build)`);
    return [name, fs.readFileSync(file)] as const;
  });
  const hash = crypto.createHash('sha256');
  for (const [name, content] of files)
    hash
      .update(name)
      .update('\0')
      .update(options.identifiedByName?.(name) ? '' : content);
  const digest = hash.digest('hex').slice(0, 32);
  const cached = written.get(digest);
  if (cached && fs.existsSync(cached)) return { path: cached, digest };
  const target = path.join(os.tmpdir(), 'data-sync-assets', digest, 'archive.zip');
  if (!fs.existsSync(target)) {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const temporary = `${target}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, zipBytes(files));
    fs.renameSync(temporary, target);
  }
  written.set(digest, target);
  return { path: target, digest };
}
