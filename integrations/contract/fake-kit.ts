/**
 * Building blocks of the vendor fakes under test/fakes/: a loopback HTTP server, the failure and
 * auth switches of the contract's Fake interface, and a strictly increasing clock for modification
 * times. Test-only; the runtime's demo mode starts the same fakes.
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
 * Starts a server on 127.0.0.1 (an ephemeral port unless `port` is given). Handler errors become
 * 500s with the message, so a fake bug shows up in the test output instead of a hung request.
 */
export async function serveFake(
  handler: (request: FakeRequest) => Promise<FakeResponse> | FakeResponse,
  port = 0,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', `http://${req.headers.host ?? '127.0.0.1'}`);
      Promise.resolve()
        .then(() => handler({ method: req.method ?? 'GET', url, headers: req.headers, body: Buffer.concat(chunks) }))
        .catch((error: Error) => ({ status: 500, body: { message: `fake error: ${error.message}` } }))
        .then((response) => send(res, response));
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: http.ServerResponse, response: FakeResponse): void {
  const headers: Record<string, string> = { ...response.headers };
  let body: string | Buffer | undefined;
  if (response.body === undefined) body = undefined;
  else if (typeof response.body === 'string' || Buffer.isBuffer(response.body)) body = response.body;
  else {
    body = JSON.stringify(response.body);
    headers['content-type'] ??= 'application/json;charset=UTF-8';
  }
  res.writeHead(response.status, headers);
  res.end(body);
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

/** Deterministic pseudo-random numbers (mulberry32): the same seed gives the same data on every run. */
export { rng as seededRandom } from '../../pipelines/testing/generate';

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Margaret', 'Dennis', 'Radia', 'Tim'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Hamilton', 'Ritchie', 'Perlman', 'Berners-Lee'];
const COMPANIES = ['Acme Corp', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Stark Industries', 'Wayne Enterprises', 'Soylent'];

/** A generated person: names, a unique email (by index), a phone and a company. */
export function fakePerson(index: number, random: () => number) {
  const first = FIRST[Math.floor(random() * FIRST.length)];
  const last = LAST[Math.floor(random() * LAST.length)];
  return {
    firstName: first,
    lastName: last,
    email: `${first}.${last}.${index}@example.com`.toLowerCase(),
    phone: `+1415555${String(1000 + (index % 9000)).padStart(4, '0')}`,
    company: COMPANIES[Math.floor(random() * COMPANIES.length)],
  };
}
