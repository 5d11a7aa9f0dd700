/**
 * OData `$batch` bodies as SAP Gateway (V2) and Dataverse (V4) read and write them (multipart/mixed): a batch of parts, each
 * an `application/http` request (reads) or a multipart/mixed change set of modifying requests; the
 * answer has one part per batch part, a change set answered by the responses of its requests or by the
 * one error that rolled it back. Written apart from the connector's builder, so neither hides the other's bug.
 */
import type { FakeResponse } from '@data-sync/integrations/contract/fake-kit';

export interface InnerRequest {
  readonly method: string;
  /** As written in the request line: relative to the service root, or absolute. */
  readonly target: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export type BatchPart = { readonly changeSet: InnerRequest[] } | { readonly request: InnerRequest };

const boundaryOf = (contentType: string) =>
  /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)?.slice(1).find(Boolean);

function parts(body: string, boundary: string): { headers: Record<string, string>; body: string }[] {
  const delimiter = `--${boundary}`;
  const lines = body.split(/\r?\n/);
  const found: string[][] = [];
  let current: string[] | undefined;
  for (const line of lines) {
    if (line === `${delimiter}--`) break;
    if (line === delimiter) {
      current = [];
      found.push(current);
    } else current?.push(line);
  }
  if (!current) throw new Error(`no part delimited by ${delimiter}`);
  return found.map((partLines) => {
    const blank = partLines.indexOf('');
    const head = blank < 0 ? partLines : partLines.slice(0, blank);
    const headers: Record<string, string> = {};
    for (const line of head) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { headers, body: blank < 0 ? '' : partLines.slice(blank + 1).join('\r\n') };
  });
}

function request(part: { headers: Record<string, string>; body: string }): InnerRequest {
  if (!/^application\/http/i.test(part.headers['content-type'] ?? ''))
    throw new Error(`a batch part must be application/http, got ${part.headers['content-type'] ?? 'none'}`);
  const lines = part.body.split('\r\n');
  const line = /^(GET|POST|PUT|PATCH|MERGE|DELETE) (\S+) HTTP\/1\.1$/.exec(lines[0] ?? '');
  if (!line) throw new Error(`not a request line: ${(lines[0] ?? '').slice(0, 80)}`);
  const blank = lines.indexOf('', 1);
  const headers: Record<string, string> = {};
  for (const header of lines.slice(1, blank < 0 ? undefined : blank)) {
    const colon = header.indexOf(':');
    if (colon > 0) headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim();
  }
  return {
    method: line[1],
    target: line[2],
    headers,
    body:
      blank < 0
        ? ''
        : lines
            .slice(blank + 1)
            .join('\r\n')
            .trim(),
  };
}

/** The parts of a `$batch` request body; throws with the reason when it is not a well-formed batch. */
export function parseBatch(contentType: string, body: string): BatchPart[] {
  const boundary = boundaryOf(contentType);
  if (!/^multipart\/mixed/i.test(contentType) || !boundary)
    throw new Error('a $batch request is multipart/mixed with a boundary');
  return parts(body, boundary).map((part) => {
    const type = part.headers['content-type'] ?? '';
    if (/^multipart\/mixed/i.test(type)) {
      const inner = boundaryOf(type);
      if (!inner) throw new Error('a change set needs a boundary');
      const changeSet = parts(part.body, inner).map(request);
      const read = changeSet.find((r) => r.method === 'GET');
      if (read) throw new Error(`a change set holds modifying requests only, not GET ${read.target}`);
      return { changeSet };
    }
    return { request: request(part) };
  });
}

const REASONS: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  500: 'Internal Server Error',
  501: 'Not Implemented',
};

function httpPart(response: FakeResponse): string {
  const body =
    response.body === undefined
      ? ''
      : typeof response.body === 'string'
        ? response.body
        : JSON.stringify(response.body);
  const headers = {
    ...(body && typeof response.body !== 'string' ? { 'content-type': 'application/json' } : {}),
    ...response.headers,
  };
  return [
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    '',
    `HTTP/1.1 ${response.status} ${REASONS[response.status] ?? 'Status'}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
    `content-length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** The 202 answer of a batch: per part its response, a change set's as a nested multipart unless it failed. */
export function batchAnswer(answers: readonly (FakeResponse | readonly FakeResponse[])[]): FakeResponse {
  const boundary = `batch_${Math.random().toString(16).slice(2)}`;
  const body = answers
    .map((answer) => {
      if (!Array.isArray(answer)) return `--${boundary}\r\n${httpPart(answer as FakeResponse)}`;
      const changeSet = `changeset_${Math.random().toString(16).slice(2)}`;
      const inner = answer.map((r) => `--${changeSet}\r\n${httpPart(r)}`).join('\r\n');
      return `--${boundary}\r\nContent-Type: multipart/mixed; boundary=${changeSet}\r\n\r\n${inner}\r\n--${changeSet}--`;
    })
    .join('\r\n');
  return {
    status: 202,
    headers: { 'content-type': `multipart/mixed; boundary=${boundary}` },
    body: `${body}\r\n--${boundary}--\r\n`,
  };
}
