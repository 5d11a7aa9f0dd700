/**
 * Reads the result archive of a Mailchimp batch (`response_body_url`): a gzipped tar whose JSON files
 * each hold an array of `{ status_code, operation_id, response }`.
 */
import { gunzipSync } from 'zlib';

export interface BatchOperationResult {
  readonly status_code: number;
  readonly operation_id?: string;
  /** The operation's response body, as a JSON string. */
  readonly response: string;
}

function octal(block: Buffer, offset: number, length: number): number {
  const text = block
    .subarray(offset, offset + length)
    .toString('ascii')
    .replace(/\0.*$/s, '')
    .trim();
  return text === '' ? 0 : parseInt(text, 8);
}

export function readBatchResults(archive: Buffer): BatchOperationResult[] {
  const tar = archive[0] === 0x1f && archive[1] === 0x8b ? gunzipSync(archive) : archive;
  const results: BatchOperationResult[] = [];
  let offset = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const name = header.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const prefix = header.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 0x30);
    const data = tar.subarray(offset + 512, offset + 512 + size);
    if ((type === '0' || type === '\0') && `${prefix}${name}`.endsWith('.json')) {
      const parsed: unknown = JSON.parse(data.toString('utf8'));
      if (!Array.isArray(parsed)) throw new Error(`batch result file ${name} is not an array`);
      results.push(...(parsed as BatchOperationResult[]));
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return results;
}
