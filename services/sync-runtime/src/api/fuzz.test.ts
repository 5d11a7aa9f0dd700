import * as http from 'http';
import fc from 'fast-check';
import { createN8nClient } from '@data-sync/n8n/client';
import { FakeN8n, startFakeN8n, webhookWorkflow } from '@data-sync/n8n/fake-server';
import { createHarness, Harness } from './testing/harness';

let h: Harness;
let n8n: FakeN8n;
beforeAll(async () => {
  n8n = await startFakeN8n({ apiKey: 'fuzz-n8n-key', workflows: [webhookWorkflow('wf1', 'p', true)] });
  h = await createHarness({
    logLevel: 'warn',
    worker: true,
    n8n: createN8nClient({ baseUrl: n8n.url, apiKey: 'fuzz-n8n-key' }),
  });
  await h.inject({
    method: 'POST',
    url: '/api/integrations',
    headers: { authorization: `Bearer ${h.auth.admin}` },
    payload: {
      name: 'fuzzed',
      system: 'demo',
      config: { baseUrl: 'http://127.0.0.1:1', apiKey: 'fuzz-key-123', webhookSecret: 'fuzz-secret-123' },
    },
  });
});
afterAll(async () => {
  await h.close();
  await n8n.close();
});

/** Sends bytes exactly as generated (fetch would normalize paths and refuse odd headers). */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | null,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
      },
      (res) => {
        // An event stream (GET /api/changes/stream) never ends: its status is the answer.
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          resolve(res.statusCode ?? 0);
          req.destroy();
          return;
        }
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

/** Printable ASCII only in a request line; everything else percent-encoded, but stray '%' kept to test bad escapes. */
const pathSafe = (s: string) => s.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
const headerSafe = (s: string) => s.replace(/[^\x20-\x7e]/g, '');

test('2,000+ generated bad requests across every route: never a 5xx, and the process keeps serving', async () => {
  const port = Number(new URL(h.url).port);
  const routes = h.app.routeAccess.filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/docs'));
  const segment = fc.oneof(
    fc.constantFrom(
      'x1',
      'fuzzed',
      'wf1',
      '',
      '%',
      '%zz',
      '%00',
      '..',
      '%2e%2e',
      'a'.repeat(300),
      'DROP TABLE',
      '1e309',
    ),
    fc.string({ maxLength: 40 }),
  );
  const queryValue = fc.oneof(
    fc.constantFrom('-1', '0', '1e400', 'NaN', 'true', 'null', '[]', '%zz', 'a'.repeat(2000)),
    fc.string({ maxLength: 30 }),
  );
  const path = fc
    .tuple(
      fc.constantFrom(...routes),
      fc.array(segment, { maxLength: 3 }),
      fc.option(
        fc.tuple(
          fc.constantFrom(
            'limit',
            'offset',
            'status',
            'purge',
            'integration',
            'active',
            'cursor',
            fc.sample(fc.string(), 1)[0],
          ),
          queryValue,
        ),
        { nil: undefined },
      ),
    )
    .map(([route, values, query]) => {
      let i = 0;
      const filled = route.url.replace(/:[A-Za-z]+/g, () => values[i++] ?? 'x1');
      return { route, path: pathSafe(filled) + (query ? `?${pathSafe(query[0])}=${pathSafe(query[1])}` : '') };
    });
  const body = fc.oneof(
    fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
    fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
    fc.jsonValue().map((v) => Buffer.from((JSON.stringify(v) ?? '').slice(0, -1))),
    fc.integer({ min: 1, max: 5000 }).map((n) => Buffer.from('['.repeat(n) + ']'.repeat(n % 7))),
    fc
      .record(
        {
          name: fc.string(),
          system: fc.constantFrom('demo', 'x'),
          config: fc.jsonValue(),
          records: fc.array(fc.jsonValue(), { maxLength: 5 }),
          mapping: fc.string(),
          workflowId: fc.string(),
          full: fc.jsonValue(),
        },
        { requiredKeys: [] },
      )
      .map((o) => Buffer.from(JSON.stringify(o))),
  );
  const contentType = fc.oneof(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-16',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      '*/*',
      '',
    ),
    fc.string({ maxLength: 40 }).map(headerSafe),
  );
  const auth = fc.constantFrom<'admin' | 'operator' | 'garbage' | 'none'>(
    'admin',
    'admin',
    'operator',
    'garbage',
    'none',
  );
  const extraHeaders = fc.dictionary(
    fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
    fc.string({ maxLength: 100 }).map(headerSafe),
    { maxKeys: 3 },
  );
  const method = fc.option(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'), {
    freq: 4,
    nil: undefined,
  });

  let sent = 0;
  const failures: string[] = [];
  await fc.assert(
    fc.asyncProperty(
      path,
      fc.option(body, { nil: undefined }),
      contentType,
      auth,
      extraHeaders,
      method,
      async (p, b, ct, who, extra, m) => {
        const headers: Record<string, string> = { ...extra };
        if (ct) headers['content-type'] = ct;
        if (who === 'admin' || who === 'operator') headers.authorization = `Bearer ${h.auth[who]}`;
        if (who === 'garbage') headers.authorization = 'Bearer \u0000'.replace('\u0000', 'x'.repeat(5));
        const verb = m ?? p.route.method;
        const status = await send(
          port,
          verb,
          p.path,
          headers,
          verb === 'GET' || verb === 'OPTIONS' ? null : (b ?? null),
        );
        sent++;
        if (status >= 500 || status === 0) failures.push(`${verb} ${p.path.slice(0, 120)} (${ct}) -> ${status}`);
        return status < 500 && status > 0;
      },
    ),
    { numRuns: 2100, endOnFailure: true },
  );
  expect(failures).toEqual([]);
  expect(sent).toBeGreaterThanOrEqual(2000);
  expect(await send(port, 'GET', '/health', {}, null)).toBe(200);
}, 240_000);
