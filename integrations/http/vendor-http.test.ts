import { IntegrationError } from '../connector';
import { TokenBucket } from './token-bucket';
import { VendorHttp, defaultRateLimit, parseRetryAfter, resetSecondsToMs } from './vendor-http';

type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | Error;

function scripted(replies: Reply[]) {
  const calls: { url: string; init: RequestInit }[] = [];
  const fetchImpl = (async (url: URL, init: RequestInit) => {
    calls.push({ url: String(url), init });
    const reply = replies.shift() ?? { status: 200, body: { ok: true } };
    if (reply instanceof Error) throw reply;
    const body =
      reply.body === undefined ? null : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    return new Response(body, {
      status: reply.status,
      headers: { 'content-type': typeof reply.body === 'string' ? 'text/plain' : 'application/json', ...reply.headers },
    });
  }) as unknown as typeof fetch;
  return { calls, fetchImpl };
}

function client(replies: Reply[], extra: Partial<ConstructorParameters<typeof VendorHttp>[0]> = {}) {
  const { calls, fetchImpl } = scripted(replies);
  const sleeps: number[] = [];
  const observed: number[] = [];
  const http = new VendorHttp({
    integration: 'acme',
    baseUrl: 'http://127.0.0.1:1/api/',
    context: {
      fetch: fetchImpl,
      sleep: async (ms) => void sleeps.push(ms),
      observe: (c) => void observed.push(c.status),
    },
    random: () => 0.5,
    ...extra,
  });
  return { http, calls, sleeps, observed };
}

test('joins base URL, path and query, sends JSON and parses the JSON answer', async () => {
  const { http, calls } = client([{ status: 200, body: { id: 7 } }]);
  const body = await http.json<{ id: number }>({
    path: '/things',
    query: { limit: 2, skip: undefined, tag: ['a', 'b'] },
    json: { name: 'x' },
  });
  expect(body).toEqual({ id: 7 });
  expect(calls[0].url).toBe('http://127.0.0.1:1/api/things?limit=2&tag=a&tag=b');
  expect(calls[0].init.method).toBe('POST');
  expect((calls[0].init.headers as Record<string, string>)['content-type']).toBe('application/json');
  expect(calls[0].init.body).toBe('{"name":"x"}');
});

test('absolute next-page URLs are used as given', async () => {
  const { http, calls } = client([{ status: 200, body: {} }]);
  await http.request({ path: 'http://127.0.0.1:9/next?page=2' });
  expect(calls[0].url).toBe('http://127.0.0.1:9/next?page=2');
});

test('retries 5xx with growing backoff, then succeeds', async () => {
  const { http, calls, sleeps, observed } = client([
    { status: 503 },
    { status: 502 },
    { status: 200, body: { ok: 1 } },
  ]);
  await expect(http.json({ path: '/x' })).resolves.toEqual({ ok: 1 });
  expect(calls).toHaveLength(3);
  expect(sleeps).toHaveLength(2);
  expect(sleeps[1]).toBeGreaterThan(sleeps[0]);
  expect(observed).toEqual([503, 502, 200]);
});

test('gives up on 5xx after the bounded number of attempts with kind unavailable', async () => {
  const { http, calls } = client(
    Array.from({ length: 10 }, () => ({ status: 500, body: { message: 'boom' } })),
    { maxAttempts: 3 },
  );
  const error = (await http.json({ path: '/x' }).catch((e: IntegrationError) => e)) as IntegrationError;
  expect(error).toBeInstanceOf(IntegrationError);
  expect(error.kind).toBe('unavailable');
  expect(error.message).toContain('boom');
  expect(calls).toHaveLength(3);
});

test('network errors are retried and then reported as unavailable', async () => {
  const { http, calls } = client([new TypeError('fetch failed'), new TypeError('fetch failed')], { maxAttempts: 2 });
  const error = (await http.json({ path: '/x' }).catch((e: IntegrationError) => e)) as IntegrationError;
  expect(error.kind).toBe('unavailable');
  expect(calls).toHaveLength(2);
});

test('non-idempotent calls are not retried on 5xx', async () => {
  const { http, calls } = client([{ status: 503 }, { status: 200 }]);
  await expect(http.json({ path: '/x', json: {}, retry: false })).rejects.toMatchObject({ kind: 'unavailable' });
  expect(calls).toHaveLength(1);
});

test('429 waits for Retry-After seconds, then retries', async () => {
  const { http, sleeps } = client([
    { status: 429, headers: { 'retry-after': '3' } },
    { status: 200, body: {} },
  ]);
  await http.json({ path: '/x' });
  expect(sleeps).toEqual([3000]);
});

test('429 honours Retry-After as an HTTP date', async () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  const { http, sleeps } = client(
    [{ status: 429, headers: { 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' } }, { status: 200 }],
    { now: () => now },
  );
  await http.request({ path: '/x' });
  expect(sleeps).toEqual([5000]);
});

test('429 without Retry-After waits for the vendor reset header', async () => {
  const { http, sleeps } = client([
    { status: 429, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '7' } },
    { status: 200 },
  ]);
  await http.request({ path: '/x' });
  expect(sleeps).toEqual([7000]);
});

test('a 429 asking for a very long wait fails fast with kind rate_limit', async () => {
  const { http, sleeps } = client([{ status: 429, headers: { 'retry-after': '3600' } }]);
  await expect(http.request({ path: '/x' })).rejects.toMatchObject({ kind: 'rate_limit', status: 429 });
  expect(sleeps).toEqual([]);
});

test('401 and 403 surface as auth errors without retry', async () => {
  for (const status of [401, 403]) {
    const { http, calls } = client([
      { status, body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }] },
    ]);
    const error = (await http.request({ path: '/x' }).catch((e: IntegrationError) => e)) as IntegrationError;
    expect(error).toMatchObject({ kind: 'auth', status });
    expect(error.message).toContain('Session expired');
    expect(calls).toHaveLength(1);
  }
});

test('a 401 triggers one credential refresh and a retry', async () => {
  let token = 'old';
  const refreshes: string[] = [];
  const { http, calls } = client([{ status: 401 }, { status: 200, body: { ok: true } }], {
    auth: () => ({ authorization: `Bearer ${token}` }),
    onUnauthorized: async () => {
      refreshes.push(token);
      token = 'new';
      return true;
    },
  });
  await expect(http.json({ path: '/x' })).resolves.toEqual({ ok: true });
  expect(refreshes).toEqual(['old']);
  expect((calls[1].init.headers as Record<string, string>).authorization).toBe('Bearer new');
});

test('a 401 after a refresh is an auth error, not a loop', async () => {
  const { http, calls } = client([{ status: 401 }, { status: 401 }, { status: 200 }], {
    onUnauthorized: async () => true,
  });
  await expect(http.request({ path: '/x' })).rejects.toMatchObject({ kind: 'auth' });
  expect(calls).toHaveLength(2);
});

test('404 is not_found unless accepted, other 4xx are vendor_error with the vendor message', async () => {
  await expect(client([{ status: 404 }]).http.request({ path: '/x' })).rejects.toMatchObject({ kind: 'not_found' });
  await expect(client([{ status: 404 }]).http.request({ path: '/x', accept: [404] })).resolves.toMatchObject({
    status: 404,
  });
  await expect(
    client([{ status: 400, body: { errors: [{ message: 'bad field Email' }] } }]).http.request({ path: '/x' }),
  ).rejects.toMatchObject({
    kind: 'vendor_error',
    message: expect.stringContaining('bad field Email'),
  });
});

test('the token bucket is consulted before each call and corrected by the vendor headers', async () => {
  const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 1, now: () => 0, sleep: async () => undefined });
  const { fetchImpl } = scripted([{ status: 200, headers: { 'x-ratelimit-remaining': '2' } }]);
  const withBucket = new VendorHttp({
    integration: 'acme',
    baseUrl: 'http://127.0.0.1:1',
    bucket,
    context: { fetch: fetchImpl },
  });
  await withBucket.request({ path: '/x' });
  expect(bucket.available()).toBe(2);
});

test('context.acquire runs before every attempt', async () => {
  let acquired = 0;
  const { fetchImpl } = scripted([{ status: 503 }, { status: 200 }]);
  const http = new VendorHttp({
    integration: 'acme',
    baseUrl: 'http://127.0.0.1:1',
    context: { fetch: fetchImpl, sleep: async () => undefined, acquire: async () => void acquired++ },
  });
  await http.request({ path: '/x' });
  expect(acquired).toBe(2);
});

test('rate-limit header parsing', () => {
  const now = 1_700_000_000_000;
  expect(parseRetryAfter('2', now)).toBe(2000);
  expect(parseRetryAfter('soon', now)).toBeUndefined();
  expect(resetSecondsToMs(1_700_000_010, now)).toBe(10_000);
  expect(resetSecondsToMs(10, now)).toBe(10_000);
  expect(
    defaultRateLimit(
      new Headers({ 'RateLimit-Limit': '100', 'RateLimit-Remaining': '5', 'RateLimit-Reset': '30' }),
      now,
    ),
  ).toEqual({ limit: 100, remaining: 5, resetMs: 30_000 });
});

test('backoff grows exponentially with jitter and is capped', () => {
  const low = new VendorHttp({
    integration: 'a',
    baseUrl: 'http://x',
    random: () => 0,
    baseDelayMs: 100,
    maxDelayMs: 1000,
  });
  const high = new VendorHttp({
    integration: 'a',
    baseUrl: 'http://x',
    random: () => 1,
    baseDelayMs: 100,
    maxDelayMs: 1000,
  });
  expect(low.backoff(5)).toBe(50);
  expect([1, 2, 3, 4, 5, 6].map((a) => high.backoff(a))).toEqual([100, 200, 400, 800, 1000, 1000]);
});

test('a vendor classifier can turn a 403 into a final rate_limit and a 400 into auth', async () => {
  const classifyError = (status: number, body: unknown) =>
    status === 403 && JSON.stringify(body).includes('REQUEST_LIMIT_EXCEEDED')
      ? 'rate_limit'
      : status === 400 && JSON.stringify(body).includes('invalid_grant')
        ? 'auth'
        : undefined;
  const limited = client(
    [{ status: 403, body: [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }] }],
    { classifyError },
  );
  await expect(limited.http.request({ path: '/x' })).rejects.toMatchObject({ kind: 'rate_limit', status: 403 });
  expect(limited.calls).toHaveLength(1);
  const bad = client([{ status: 400, body: { error: 'invalid_grant', error_description: 'authentication failure' } }], {
    classifyError,
  });
  await expect(bad.http.request({ path: '/x' })).rejects.toMatchObject({
    kind: 'auth',
    message: expect.stringContaining('invalid_grant'),
  });
});

test('a 429 body can set the wait (HubSpot policyName), and Infinity fails at once', async () => {
  const tooManyRequestsWaitMs = (body: unknown) =>
    (body as { policyName?: string }).policyName === 'DAILY' ? Infinity : 10_000;
  const rolling = client([{ status: 429, body: { policyName: 'TEN_SECONDLY_ROLLING' } }, { status: 200 }], {
    tooManyRequestsWaitMs,
  });
  await rolling.http.request({ path: '/x' });
  expect(rolling.sleeps).toEqual([10_000]);
  const daily = client([{ status: 429, body: { policyName: 'DAILY', message: 'daily limit' } }], {
    tooManyRequestsWaitMs,
  });
  await expect(daily.http.request({ path: '/x' })).rejects.toMatchObject({
    kind: 'rate_limit',
    message: expect.stringContaining('daily limit'),
  });
  expect(daily.sleeps).toEqual([]);
});
