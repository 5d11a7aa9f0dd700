/**
 * The Lambda handler module loads the worker bundle from the code cache made for its own Node and flags,
 * falls back to compiling when there is none or V8 refuses it, and the bundle behaves as under require.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { build } from 'esbuild';
import { codeCacheFile } from './lambda-code-cache';

let dir: string;
const FLAGS = ['--expose-gc', '--max-semi-space-size=25', '--max-old-space-size=461'];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lambda-code-cache-'));
  await build({
    entryPoints: [path.join(__dirname, 'lambda-handler.ts')],
    outfile: path.join(dir, 'lambda-handler.js'),
    bundle: true,
    platform: 'node',
    logLevel: 'warning',
  });
  // A bundle that uses what a CommonJS module has: require, __dirname, module.exports.
  fs.writeFileSync(
    path.join(dir, 'lambda.js'),
    `const path = require('path');
const here = path.basename(__dirname);
module.exports.handler = async (event) => ({ here, records: event.Records.length });
`,
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Starts Node with `flags` on a host that loads the handler module (as Lambda's bootstrap does) and invokes it. */
function invoke(flags: string[], env: Record<string, string> = {}) {
  const host = path.join(dir, 'host.js');
  fs.writeFileSync(
    host,
    `const m = require('./lambda-handler.js');
m.handler({ Records: [1, 2] }).then((result) => console.log(JSON.stringify({ codeCache: m.codeCache, result })));
`,
  );
  const child = spawnSync(process.execPath, [...flags, host], {
    cwd: dir,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
  });
  expect(child.status).toBe(0);
  const lines = child.stdout.trim().split('\n');
  return { ...JSON.parse(lines[lines.length - 1]), stderr: child.stderr };
}

test("the build's run writes the cache named after the Node and flags, and a start under the same flags uses it", () => {
  const cache = path.join(dir, codeCacheFile(process.version, FLAGS));
  expect(invoke(FLAGS, { DATA_SYNC_WRITE_CODE_CACHE: '1' }).codeCache).toBe('none');
  expect(fs.statSync(cache).size).toBeGreaterThan(0);
  expect(invoke(FLAGS)).toMatchObject({ codeCache: 'used', result: { here: path.basename(dir), records: 2 } });
});

test('other flags (another memory size) find no cache and compile the bundle from source', () => {
  expect(invoke(['--expose-gc'])).toMatchObject({ codeCache: 'none', result: { records: 2 } });
});

test('a cache V8 refuses is reported and the bundle still loads from source', () => {
  const cache = path.join(dir, codeCacheFile(process.version, FLAGS));
  fs.writeFileSync(cache, Buffer.alloc(4096, 7));
  const outcome = invoke(FLAGS);
  expect(outcome).toMatchObject({ codeCache: 'rejected', result: { records: 2 } });
  expect(outcome.stderr).toContain('the code cache was rejected');
});
