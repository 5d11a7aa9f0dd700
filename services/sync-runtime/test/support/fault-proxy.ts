/**
 * A reverse proxy on loopback in front of a vendor fake that breaks a share of the answers the way networks
 * and vendors do: a 500, a 429 asking for no wait, a connection reset before the headers, a body cut off
 * mid-way (the full Content-Length announced), and a 200 whose JSON does not parse. Which requests fail comes
 * from a seeded generator, so a run is repeatable; the failures take the kinds in turn, so every kind occurs
 * once five requests failed. The counts are kept for the suite's figures.
 */
import * as http from 'http';
import type { AddressInfo } from 'net';

export const FAULT_KINDS = ['status-500', 'status-429', 'reset', 'cut-body', 'invalid-json'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultProxy {
  readonly url: string;
  /** Requests received, and the faults answered by kind. */
  readonly figures: { requests: number; forwarded: number; faults: Record<FaultKind, number> };
  close(): Promise<void>;
}

/** Mulberry32: a small seeded generator, uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultProxyOptions {
  /** Share of requests answered with a fault, 0 to 1. */
  readonly rate: number;
  readonly seed: number;
  /** Awaited before the n-th request (from 1) is handled: a test holds the sync there to break something else. */
  readonly hold?: (n: number) => Promise<void> | void;
}

export async function startFaultProxy(target: string, options: FaultProxyOptions): Promise<FaultProxy> {
  const random = seeded(options.seed);
  let injected = 0;
  const upstream = new URL(target);
  const figures = {
    requests: 0,
    forwarded: 0,
    faults: Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>,
  };
  const server = http.createServer((req, res) => {
    const n = ++figures.requests;
    void Promise.resolve(options.hold?.(n)).then(() => handle(req, res));
  });
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const fault = random() < options.rate ? FAULT_KINDS[injected++ % FAULT_KINDS.length] : undefined;
    if (fault === 'status-500' || fault === 'status-429' || fault === 'reset') {
      figures.faults[fault]++;
      req.resume();
      if (fault === 'reset') return void req.socket.destroy();
      const body = JSON.stringify({ status: 'error', message: 'injected' });
      res.writeHead(fault === 'status-500' ? 500 : 429, {
        'content-type': 'application/json',
        'content-length': String(body.length),
        ...(fault === 'status-429' ? { 'retry-after': '0' } : {}),
      });
      return void res.end(body);
    }
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          const headers = { ...answer.headers, 'content-length': String(body.length) };
          delete headers['transfer-encoding'];
          const ok = (answer.statusCode ?? 500) < 300 && body.length > 2;
          if (fault === 'cut-body' && ok) {
            figures.faults[fault]++;
            res.writeHead(answer.statusCode ?? 200, headers);
            res.write(body.subarray(0, Math.floor(body.length / 2)));
            return void setImmediate(() => res.socket?.destroy());
          }
          if (fault === 'invalid-json' && ok) {
            figures.faults[fault]++;
            const broken = Buffer.concat([body.subarray(0, body.length - 2), Buffer.from('!!')]);
            res.writeHead(answer.statusCode ?? 200, headers);
            return void res.end(broken);
          }
          figures.forwarded++;
          res.writeHead(answer.statusCode ?? 502, headers);
          res.end(body);
        });
      },
    );
    forward.on('error', () => res.socket?.destroy());
    req.pipe(forward);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    figures,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
