/** Writes a gzipped ustar archive, the format of Mailchimp's batch `response_body_url` download. */
import { gzipSync } from 'zlib';

function header(name: string, size: number, type: '0' | '5'): Buffer {
  const block = Buffer.alloc(512, 0);
  block.write(name, 0, 100, 'utf8');
  block.write(type === '5' ? '0000755\0' : '0000644\0', 100, 8, 'ascii');
  block.write('0000000\0', 108, 8, 'ascii');
  block.write('0000000\0', 116, 8, 'ascii');
  block.write(size.toString(8).padStart(11, '0') + '\0', 124, 12, 'ascii');
  block.write(
    Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, '0') + '\0',
    136,
    12,
    'ascii',
  );
  block.write('        ', 148, 8, 'ascii');
  block.write(type, 156, 1, 'ascii');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return block;
}

export function tarGz(directory: string, files: readonly { name: string; content: string }[]): Buffer {
  const parts: Buffer[] = [header(`${directory}/`, 0, '5')];
  for (const file of files) {
    const data = Buffer.from(file.content, 'utf8');
    parts.push(
      header(`${directory}/${file.name}`, data.length, '0'),
      data,
      Buffer.alloc((512 - (data.length % 512)) % 512, 0),
    );
  }
  parts.push(Buffer.alloc(1024, 0));
  return gzipSync(Buffer.concat(parts));
}
