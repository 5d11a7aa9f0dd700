/**
 * OData `$batch` in the multipart/mixed format both SAP Gateway (OData V2) and the Dataverse Web API
 * (OData V4) take: one batch of change sets, each change set one or more modifying requests that the
 * service applies all or nothing, and answers with one part per change set (the responses of its
 * requests, or the single error that rolled it back). Writes that were one round trip per record
 * become one per batch.
 */
import { randomUUID } from 'crypto';

/** One request of a change set; `path` relative to the service root (`A_BusinessPartner('1')`, `contacts(...)`). */
export interface BatchRequest {
  readonly method: 'POST' | 'PATCH' | 'PUT' | 'DELETE' | 'MERGE';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly json?: unknown;
}

export interface BatchResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed JSON when the part carries JSON, its text otherwise, undefined when empty. */
  readonly body: unknown;
}

const CRLF = '\r\n';

function httpPart(request: BatchRequest, contentId: number, absolute: string | undefined): string {
  const target = absolute ? `${absolute.replace(/\/+$/, '')}/${request.path}` : request.path;
  const headers = { ...(request.json !== undefined ? { 'Content-Type': 'application/json' } : {}), ...request.headers };
  const lines = [
    'Content-Type: application/http',
    'Content-Transfer-Encoding: binary',
    `Content-ID: ${contentId}`,
    '',
    `${request.method} ${target} HTTP/1.1`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    '',
    request.json === undefined ? '' : JSON.stringify(request.json),
  ];
  return lines.join(CRLF);
}

/**
 * The body and Content-Type of a `$batch` request: each entry of `changeSets` one change set. V4
 * services (Dataverse) want absolute request URLs inside the batch: pass the service root as `absolute`.
 */
export function buildBatch(
  changeSets: readonly (readonly BatchRequest[])[],
  absolute?: string,
): { contentType: string; body: string } {
  const batch = `batch_${randomUUID()}`;
  let contentId = 0;
  const parts = changeSets.map((requests) => {
    const changeSet = `changeset_${randomUUID()}`;
    const inner = requests.map((request) => `--${changeSet}${CRLF}${httpPart(request, ++contentId, absolute)}`);
    return [
      `--${batch}`,
      `Content-Type: multipart/mixed; boundary=${changeSet}`,
      '',
      `${inner.join(CRLF)}${CRLF}--${changeSet}--`,
    ].join(CRLF);
  });
  return { contentType: `multipart/mixed; boundary=${batch}`, body: `${parts.join(CRLF)}${CRLF}--${batch}--${CRLF}` };
}

function boundaryOf(contentType: string): string | undefined {
  return /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)?.slice(1).find(Boolean);
}

/** The parts between `--boundary` lines, each as its header block and body. */
function splitParts(body: string, boundary: string): { headers: Record<string, string>; body: string }[] {
  const parts: { headers: Record<string, string>; body: string }[] = [];
  const chunks = body.split(new RegExp(`(?:^|\\r?\\n)--${boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  for (const chunk of chunks.slice(1)) {
    if (chunk.startsWith('--')) break;
    const text = chunk.replace(/^\r?\n/, '');
    const split = /\r?\n\r?\n/.exec(text);
    const head = split ? text.slice(0, split.index) : text;
    const rest = split ? text.slice(split.index + split[0].length) : '';
    const headers: Record<string, string> = {};
    for (const line of head.split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: rest });
  }
  return parts;
}

/** An `application/http` part's response: status line, headers, body. */
function httpResponse(text: string): BatchResponse {
  const split = /\r?\n\r?\n/.exec(text);
  const head = (split ? text.slice(0, split.index) : text).split(/\r?\n/);
  const raw = (split ? text.slice(split.index + split[0].length) : '').replace(/\r?\n$/, '');
  const status = Number(/^HTTP\/\d\.\d\s+(\d{3})/.exec(head[0] ?? '')?.[1]);
  if (!Number.isInteger(status)) throw new Error(`not an HTTP response in the batch: ${(head[0] ?? '').slice(0, 80)}`);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body: unknown = raw === '' ? undefined : raw;
  if (raw && /json/i.test(headers['content-type'] ?? ''))
    try {
      body = JSON.parse(raw);
    } catch {
      // Kept as text: the caller reports it.
    }
  return { status, headers, body };
}

/**
 * The responses of a `$batch` answer, one array per change set in the order sent: the responses of its
 * requests, or one error response for the whole change set (the service rolled it back).
 */
export function parseBatchResponse(contentType: string, body: string): BatchResponse[][] {
  const boundary = boundaryOf(contentType);
  if (!boundary) throw new Error(`the $batch answer is not multipart (${contentType || 'no content type'})`);
  return splitParts(body, boundary).map((part) => {
    const inner = boundaryOf(part.headers['content-type'] ?? '');
    if (inner && /multipart\/mixed/i.test(part.headers['content-type'] ?? ''))
      return splitParts(part.body, inner).map((p) => httpResponse(p.body));
    return [httpResponse(part.body)];
  });
}
