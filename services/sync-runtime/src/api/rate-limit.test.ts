import IORedis from 'ioredis';
import { TEST_REDIS_URL, describeWithService } from '@data-sync/test-services';
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
