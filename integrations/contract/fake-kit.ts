/**
 * Building blocks of the vendor fakes under test/fakes/: a loopback HTTP server, the failure and
 * auth switches of the contract's Fake interface, a strictly increasing clock for modification
 * times and deterministic people. Test-only; the runtime's demo mode starts the same fakes.
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
  /** Objects and arrays are sent as JSON; strings and buffers as given. */
  readonly body?: unknown;
}

/** The failure and auth switches shared by every fake. */
export class FakeSwitches {
  private failures: { status: number; headers: Record<string, string> }[] = [];
  private requests = 0;
  authRevoked = false;

  failNext(status: number, times = 1, headers: Record<string, string> = {}): void {
    for (let i = 0; i < times; i++) this.failures.push({ status, headers });
  }
  revokeAuth(): void {
    this.authRevoked = true;
  }
  restoreAuth(): void {
    this.authRevoked = false;
  }
  requestCount(): number {
    return this.requests;
  }
  /** Counts a request and returns the injected failure it must answer with, if any. */
  admit(): { status: number; headers: Record<string, string> } | undefined {
    this.requests++;
    return this.failures.shift();
  }
}

/**
 * How a fake frames its answers. Each fake keeps the framing its connector was tested against:
 * the CRM fakes stream chunked bodies, the marketing fakes send Content-Length.
 */
export interface Framing {
  /** Content type of JSON bodies whose response names none. */
  readonly jsonType: string;
  readonly contentLength: boolean;
  /** Idle keep-alive time, also announced in the Keep-Alive header. */
  readonly keepAliveMs: number;
}

const CRM_FRAMING: Framing = { jsonType: 'application/json;charset=UTF-8', contentLength: false, keepAliveMs: 1000 };
export const MARKETING_FRAMING: Framing = {
  jsonType: 'application/json; charset=utf-8',
  contentLength: true,
  keepAliveMs: 5000,
};

export interface ServeOptions {
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly framing?: Framing;
  /**
   * Failures queued on `switches`, answered before the handler runs with the vendor's error `body`
   * for the status, so the handler's own limits and state are untouched by them.
   */
  readonly faults?: {
    readonly switches: FakeSwitches;
    readonly body: (status: number) => unknown;
    /** Requests that never fail or count (OAuth token endpoints, result downloads). */
    readonly exempt?: (request: FakeRequest) => boolean;
  };
}

export interface FakeServer {
  readonly url: string;
  /** Path of every request received, in order, injected failures included (Mailchimp counts only its API's). */
  readonly log: string[];
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1. Handler errors become 500s (the vendor's error body with the message
 * in x-fake-error when `faults` renders one, else the message), so a fake bug shows up in the test
 * output instead of a hung request.
 */
export async function serveFake(
  handler: (request: FakeRequest) => Promise<FakeResponse> | FakeResponse,
  { port = 0, framing = CRM_FRAMING, faults }: ServeOptions = {},
): Promise<FakeServer> {
  const log: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      const request: FakeRequest = {
        method: req.method ?? 'GET',
        url,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      log.push(url.pathname);
      const answer = async (): Promise<FakeResponse> => {
        if (faults && !faults.exempt?.(request)) {
          const failure = faults.switches.admit();
          if (failure) return { status: failure.status, headers: failure.headers, body: faults.body(failure.status) };
        }
        return handler(request);
      };
      answer()
        .catch((error: Error): FakeResponse =>
          faults
            ? { status: 500, headers: { 'x-fake-error': error.message.slice(0, 200) }, body: faults.body(500) }
            : { status: 500, body: { message: `fake error: ${error.message}` } },
        )
        .then((response) => send(res, response, framing));
    });
  });
  server.keepAliveTimeout = framing.keepAliveMs;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: http.ServerResponse, response: FakeResponse, framing: Framing): void {
  const headers: Record<string, string> = { ...response.headers };
  let body: Buffer | undefined;
  if (response.body === undefined) body = undefined;
  else if (Buffer.isBuffer(response.body)) body = response.body;
  else if (typeof response.body === 'string') body = Buffer.from(response.body);
  else {
    body = Buffer.from(JSON.stringify(response.body));
    headers['content-type'] ??= framing.jsonType;
  }
  if (body && framing.contentLength) headers['content-length'] = String(body.length);
  res.writeHead(response.status, headers);
  res.end(body);
}

/** The request's JSON body; undefined when it has none. */
export function jsonBody(request: FakeRequest): unknown {
  if (request.body.length === 0) return undefined;
  return JSON.parse(request.body.toString('utf8'));
}

/**
 * Modification times with whole-second precision where `perSecond` consecutive changes share a
 * second, as bulk loads do at real vendors, so cursors must break ties by id.
 */
export class FakeClock {
  private count = 0;
  constructor(
    private readonly start = Date.parse('2026-01-05T08:00:00Z'),
    private readonly perSecond = 3,
  ) {}
  next(): Date {
    const at = new Date(this.start + Math.floor(this.count / this.perSecond) * 1000);
    this.count++;
    return at;
  }
  /** A time in a later second than every time handed out so far (a user's edit after a sync). */
  later(): Date {
    this.count = (Math.floor((this.count - 1) / this.perSecond) + 1) * this.perSecond;
    return this.next();
  }
}

/** A timestamp with whole seconds, as the marketing vendors print them (`2026-11-25T16:00:00+00:00`). */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', '+00:00');
}

/** Deterministic pseudo-random numbers (mulberry32): the same seed gives the same data on every run. */
export { rng as seededRandom } from '@data-sync/pipelines/testing/generate';

const FIRST = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Margaret',
  'Dennis',
  'Radia',
  'Tim',
];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  'Thompson',
  'Hamilton',
  'Ritchie',
  'Perlman',
  'Berners-Lee',
];
const COMPANIES = [
  'Acme Corp',
  'Globex',
  'Initech',
  'Umbrella',
  'Hooli',
  'Stark Industries',
  'Wayne Enterprises',
  'Soylent',
];

/** A generated person: names, a unique email (by index) and a phone. */
export function fakePerson(index: number, random: () => number) {
  const first = FIRST[Math.floor(random() * FIRST.length)];
  const last = LAST[Math.floor(random() * LAST.length)];
  return {
    firstName: first,
    lastName: last,
    email: `${first}.${last}.${index}@example.com`.toLowerCase(),
    phone: `+1415555${String(1000 + (index % 9000)).padStart(4, '0')}`,
  };
}

/** Drawn apart from fakePerson: the marketing fakes seed people without one, and every draw shifts the seeded data. */
export function fakeCompany(random: () => number): string {
  return COMPANIES[Math.floor(random() * COMPANIES.length)];
}
