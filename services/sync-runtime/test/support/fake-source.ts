import * as http from 'http';
import type { AddressInfo } from 'net';
import { z } from 'zod';
import { ConnectorModule, IntegrationError, PullPage, VendorRecord } from '@data-sync/integrations/connector';

type Entry = { type: 'upsert'; record: VendorRecord } | { type: 'delete'; id: string };

/**
 * A local HTTP source for tests: per dataset and object, a change log of upserts and deletes, read
 * page by page with an offset cursor (`GET /:dataset/:object?cursor=N&limit=L`, bearer token).
 */
export interface FakeSource {
  readonly url: string;
  upsert(dataset: string, object: string, records: readonly VendorRecord[]): void;
  delete(dataset: string, object: string, ids: readonly string[]): void;
  /** Answers the next `count` requests with `status`. */
  failNext(count: number, status: number): void;
  /** Tokens answered with 401. */
  revoke(token: string): void;
  /** Delay before each answer, in ms. */
  delayMs: number;
  readonly requests: number;
  close(): Promise<void>;
}

export async function startFakeSource(): Promise<FakeSource> {
  const logs = new Map<string, Entry[]>();
  const revoked = new Set<string>();
  let failures: { count: number; status: number } = { count: 0, status: 500 };
  let requests = 0;
  const log = (dataset: string, object: string) => {
    const key = `${dataset}/${object}`;
    if (!logs.has(key)) logs.set(key, []);
    return logs.get(key)!;
  };
  const state = { delayMs: 0 };
  const server = http.createServer((req, res) => {
    requests++;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    setTimeout(() => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (!token || revoked.has(token)) return send(401, { error: 'invalid token' });
      if (failures.count > 0) {
        failures.count--;
        return send(failures.status, { error: 'injected failure' });
      }
      const [dataset, object] = url.pathname.split('/').filter(Boolean);
      if (!dataset || !object) return send(404, { error: 'no such collection' });
      const entries = log(dataset, object);
      const from = Number(url.searchParams.get('cursor') ?? '0');
      const limit = Number(url.searchParams.get('limit') ?? '10');
      const slice = entries.slice(from, from + limit);
      send(200, {
        records: slice.flatMap((e) => (e.type === 'upsert' ? [e.record] : [])),
        deleted: slice.flatMap((e) => (e.type === 'delete' ? [e.id] : [])),
        next: String(from + slice.length),
        done: from + slice.length >= entries.length,
      });
    }, state.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    upsert: (dataset, object, records) =>
      log(dataset, object).push(...records.map((record) => ({ type: 'upsert' as const, record }))),
    delete: (dataset, object, ids) => log(dataset, object).push(...ids.map((id) => ({ type: 'delete' as const, id }))),
    failNext: (count, status) => {
      failures = { count, status };
    },
    revoke: (token) => revoked.add(token),
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const configSchema = z.object({
  baseUrl: z.string().url(),
  dataset: z.string().min(1),
  token: z.string().min(1),
  pageSize: z.number().int().positive().default(10),
});

/** A connector over the fake source: reads only (the engine never pushes). */
export const fakeConnector: ConnectorModule = {
  system: 'fake-http',
  family: 'crm',
  configSchema,
  create(config: z.infer<typeof configSchema>, context = {}) {
    const name = config.dataset;
    const doFetch = context.fetch ?? fetch;
    const readOnly = async (): Promise<never> => {
      throw new IntegrationError(name, 'vendor_error', 'the fake source is read-only');
    };
    return {
      async test() {
        const started = Date.now();
        const res = await doFetch(`${config.baseUrl}/${config.dataset}/_ping?limit=0`, {
          headers: { authorization: `Bearer ${config.token}` },
        });
        return { ok: res.ok, message: res.ok ? 'ok' : `HTTP ${res.status}`, latencyMs: Date.now() - started };
      },
      async pull(object, cursor): Promise<PullPage> {
        await context.acquire?.();
        const started = Date.now();
        let res: Response;
        try {
          res = await doFetch(
            `${config.baseUrl}/${config.dataset}/${object}?cursor=${cursor ?? 0}&limit=${config.pageSize}`,
            { headers: { authorization: `Bearer ${config.token}` } },
          );
        } catch (error) {
          context.observe?.({ status: 0, latencyMs: Date.now() - started, rateLimit: {} });
          throw new IntegrationError(name, 'unavailable', `cannot reach the source: ${(error as Error).message}`);
        }
        context.observe?.({ status: res.status, latencyMs: Date.now() - started, rateLimit: {} });
        if (res.status === 401) throw new IntegrationError(name, 'auth', 'the source rejected the token', 401);
        if (res.status === 429) throw new IntegrationError(name, 'rate_limit', 'rate limited', 429);
        if (!res.ok)
          throw new IntegrationError(name, 'unavailable', `the source answered HTTP ${res.status}`, res.status);
        const body = (await res.json()) as { records: VendorRecord[]; deleted: string[]; next: string; done: boolean };
        return { records: body.records, deletedIds: body.deleted, cursor: body.next, done: body.done };
      },
      push: readOnly,
      delete: readOnly,
      erase: readOnly,
    };
  },
  verifyWebhook() {
    return { events: [] };
  },
};
