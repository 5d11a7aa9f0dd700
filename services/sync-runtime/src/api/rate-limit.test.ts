import IORedis from 'ioredis';
import { startPausableProxy } from '@data-sync/test-services/pausable-proxy';
import { TEST_REDIS_URL, describeWithService } from '@data-sync/test-services';
import { openRateLimitRedis } from './rate-limit-redis';
import { bearer, createHarness, Harness } from './testing/harness';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ rateLimitPerMinute: 3, logLevel: 'warn' });
});
afterAll(async () => h.close());

test('inbound requests are limited per token: the 4th in a minute is 429 in the error shape, other tokens unaffected', async () => {
  const statuses = [];
  for (let i = 0; i < 4; i++)
    statuses.push(
      (await h.inject({ method: 'GET', url: '/api/sync/status', headers: bearer(h.auth.viewer) })).statusCode,
    );
  expect(statuses).toEqual([200, 200, 200, 429]);
  const limited = await h.inject({ method: 'GET', url: '/api/sync/status', headers: bearer(h.auth.viewer) });
  expect(limited.json()).toMatchObject({ error: 'rate_limited', details: { limit: 3 } });
  expect(limited.headers['retry-after']).toBeDefined();
  expect(
    (await h.inject({ method: 'GET', url: '/api/sync/status', headers: bearer(h.auth.operator) })).statusCode,
  ).toBe(200);
});

describeWithService('inbound rate limit shared through Redis', TEST_REDIS_URL, () => {
  const key = 'data-sync-rate-limit:ip:127.0.0.1';
  let redis: IORedis;
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    redis = new IORedis(TEST_REDIS_URL);
    await redis.del(key);
    a = await createHarness({ rateLimitPerMinute: 3, logLevel: 'warn', rateLimitRedis: redis, db: h.db });
    b = await createHarness({ rateLimitPerMinute: 3, logLevel: 'warn', rateLimitRedis: redis, db: h.db });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await redis.del(key);
    await redis.quit();
  });

  test('two instances count against one limit per client', async () => {
    const statuses = [];
    for (const instance of [a, b, a, b])
      statuses.push((await instance.inject({ method: 'GET', url: '/health' })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describeWithService('inbound rate limit on a Redis that stops answering', TEST_REDIS_URL, () => {
  test('requests, /health included, are answered while Redis is silent: its calls time out and are skipped', async () => {
    const proxy = await startPausableProxy(TEST_REDIS_URL);
    const redis = await openRateLimitRedis(proxy.url, 200);
    await new Promise((resolve) => redis.once('ready', resolve));
    const paused = await createHarness({ rateLimitPerMinute: 3, logLevel: 'silent', rateLimitRedis: redis, db: h.db });
    proxy.silent = true;
    // Without a command timeout these wait for as long as Redis is silent: past the test's own timeout.
    expect((await paused.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect(
      (await paused.inject({ method: 'GET', url: '/api/sync/status', headers: bearer(paused.auth.viewer) })).statusCode,
    ).toBe(200);
    proxy.silent = false;
    await paused.close();
    redis.disconnect();
    await proxy.close();
  });
});

describe('failed authentication attempts, limited per client address before any token is verified', () => {
  let g: Harness;
  beforeAll(async () => {
    // One proxy hop in front, so each test client is told apart by its X-Forwarded-For address.
    g = await createHarness({ authFailuresPerMinute: 3, trustProxy: 1, logLevel: 'warn' });
  });
  afterAll(async () => g.close());
  const from = (address: string, token?: string) =>
    g.inject({
      method: 'GET',
      url: '/api/sync/status',
      headers: { 'x-forwarded-for': address, ...(token ? bearer(token) : {}) },
    });

  test('a guesser rotating tokens gets 429 after the budget, even for a valid token; other addresses are unaffected', async () => {
    const statuses = [];
    for (const guess of ['guess-1', 'guess-2', undefined, 'guess-4'])
      statuses.push((await from('203.0.113.5', guess)).statusCode);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const blocked = await from('203.0.113.5', g.auth.admin);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ error: 'rate_limited', details: { limit: 3 } });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await from('198.51.100.7', g.auth.viewer)).statusCode).toBe(200);
    // Successful requests do not spend the failure budget.
    for (let i = 0; i < 5; i++) expect((await from('198.51.100.8', g.auth.viewer)).statusCode).toBe(200);
    expect((await from('198.51.100.8', 'guess')).statusCode).toBe(401);
  });
});

describeWithService('failed authentication attempts shared through Redis', TEST_REDIS_URL, () => {
  const address = `192.0.2.${Math.floor(Math.random() * 200) + 1}`;
  let redis: IORedis;
  let a: Harness;
  let b: Harness;
  beforeAll(async () => {
    redis = new IORedis(TEST_REDIS_URL);
    const options = { authFailuresPerMinute: 2, trustProxy: 1, logLevel: 'warn', rateLimitRedis: redis, db: h.db };
    a = await createHarness(options);
    b = await createHarness(options);
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await redis.del(`data-sync-auth-failures:${address}`);
    await redis.quit();
  });

  test('two instances count one budget per address', async () => {
    const statuses = [];
    for (const instance of [a, b, a])
      statuses.push(
        (
          await instance.inject({
            method: 'GET',
            url: '/api/sync/status',
            headers: { 'x-forwarded-for': address, ...bearer('not-a-token') },
          })
        ).statusCode,
      );
    expect(statuses).toEqual([401, 401, 429]);
  });
});
