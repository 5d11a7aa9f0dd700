/**
 * The small HTTP toolkit the marketing fakes share (Mailchimp, Klaviyo, Constant Contact): a loopback
 * node:http server, fault injection (`failNext`), a request log and deterministic data generation.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export interface FakeRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface FakeResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  /** Objects are sent as JSON with `contentType` (default application/json); Buffers and strings as they are. */
  readonly body?: unknown;
  readonly contentType?: string;
}

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly at: number;
}

interface Fault {
  readonly status: number;
  remaining: number;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
}

export interface FakeServer {
  readonly url: string;
  readonly log: LoggedRequest[];
  close(): Promise<void>;
}

export interface ServeOptions {
  /**
   * Answer with `handler`, or with the next queued fault first. `faultBody` renders the vendor's error body
   * for an injected status.
   */
  readonly faults: FaultQueue;
  readonly faultBody: (status: number) => unknown;
  /** Paths that bypass fault injection (OAuth token endpoints, result downloads). */
  readonly faultExempt?: (req: FakeRequest) => boolean;
}

/** Queued failures answered before the real handler runs: `failNext(503, 2)` fails the next two calls. */
export class FaultQueue {
  private readonly faults: Fault[] = [];

  add(status: number, n = 1, headers: Record<string, string> = {}, body?: unknown): void {
    this.faults.push({ status, remaining: n, headers, body });
  }

  take(): Fault | undefined {
    const fault = this.faults[0];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.shift();
    return fault;
  }
}

export async function serve(handler: (req: FakeRequest) => Promise<FakeResponse> | FakeResponse, options: ServeOptions): Promise<FakeServer> {
  const log: LoggedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      const request: FakeRequest = { method: req.method ?? 'GET', url, headers: req.headers, body: Buffer.concat(chunks) };
      log.push({ method: request.method, path: url.pathname, query: url.search, headers: req.headers, at: Date.now() });
      const answer = async (): Promise<FakeResponse> => {
        const fault = options.faultExempt?.(request) ? undefined : options.faults.take();
        if (fault) return { status: fault.status, headers: fault.headers, body: fault.body ?? options.faultBody(fault.status) };
        return handler(request);
      };
      answer()
        .catch((error: Error): FakeResponse => ({ status: 500, body: options.faultBody(500), headers: { 'x-fake-error': error.message.slice(0, 200) } }))
        .then((response) => write(res, response));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function write(res: http.ServerResponse, response: FakeResponse): void {
  const headers: Record<string, string> = { ...(response.headers ?? {}) };
  let payload: Buffer | undefined;
  if (response.body === undefined || response.body === null) payload = undefined;
  else if (Buffer.isBuffer(response.body)) payload = response.body;
  else if (typeof response.body === 'string') payload = Buffer.from(response.body);
  else {
    payload = Buffer.from(JSON.stringify(response.body));
    headers['content-type'] = response.contentType ?? 'application/json; charset=utf-8';
  }
  if (payload) headers['content-length'] = String(payload.length);
  res.writeHead(response.status, headers);
  res.end(payload);
}

/** Deterministic pseudo-random numbers (mulberry32), so seeded data is the same on every run. */
export { seededRandom as random } from '../../../integrations/contract/fake-kit';

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Margaret', 'Niklaus', 'Radia', 'Tim'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Hamilton', 'Wirth', 'Perlman', 'Berners-Lee'];

/** A generated person: `index` keeps emails unique, `seed` picks the names. */
export function person(index: number, next: () => number): { email: string; firstName: string; lastName: string } {
  const firstName = FIRST[Math.floor(next() * FIRST.length)];
  const lastName = LAST[Math.floor(next() * LAST.length)];
  return { email: `${firstName}.${lastName}.${index}@example.com`.toLowerCase(), firstName, lastName };
}

export function json(req: FakeRequest): unknown {
  if (req.body.length === 0) return undefined;
  return JSON.parse(req.body.toString('utf8'));
}

/** A timestamp with whole seconds, as the vendors print them (`2026-11-25T16:00:00+00:00`). */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', '+00:00');
}
