import Redis from 'ioredis';
import { describeWithService, TEST_REDIS_URL } from '../../test/support/services';
import { RedisTokenBucket } from './redis-token-bucket';

describeWithService('RedisTokenBucket', TEST_REDIS_URL, () => {
  let redis: Redis;
  const prefix = `test:h5a-bucket:${process.pid}:${Date.now()}`;
  let n = 0;
  const key = () => `${prefix}:${n++}`;

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  test('instances sharing a key share one burst', async () => {
    const k = key();
    // A refill of one token per ~3 hours keeps the test independent of elapsed time.
    const a = new RedisTokenBucket(redis, k, { capacity: 3, refillPerSecond: 0.0001 });
    const b = new RedisTokenBucket(redis, k, { capacity: 3, refillPerSecond: 0.0001 });
    expect([await a.tryAcquire(), await b.tryAcquire(), await a.tryAcquire()]).toEqual([0, 0, 0]);
    expect(await b.tryAcquire()).toBeGreaterThan(1000);
    expect(await new RedisTokenBucket(redis, key(), { capacity: 3, refillPerSecond: 0.0001 }).tryAcquire()).toBe(0);
  });

  test('a reported exhausted quota pauses every instance until the reset', async () => {
    const k = key();
    const a = new RedisTokenBucket(redis, k, { capacity: 100, refillPerSecond: 100 });
    const b = new RedisTokenBucket(redis, k, { capacity: 100, refillPerSecond: 100 });
    await a.observe({ remaining: 0, resetMs: 60_000 });
    const wait = await b.tryAcquire();
    expect(wait).toBeGreaterThan(50_000);
    expect(wait).toBeLessThanOrEqual(60_000);
  });

  test('a reported remaining count caps the shared tokens', async () => {
    const k = key();
    const a = new RedisTokenBucket(redis, k, { capacity: 50, refillPerSecond: 0.0001 });
    await a.observe({ remaining: 1, limit: 50 });
    expect(await a.tryAcquire()).toBe(0);
    expect(await a.tryAcquire()).toBeGreaterThan(0);
  });

  test('acquire sleeps the returned wait and then takes a token', async () => {
    const k = key();
    const sleeps: number[] = [];
    // A real (recorded) sleep and a wait far longer than any scheduling delay, so the wait cannot lapse unseen.
    const sleep = async (ms: number) => {
      sleeps.push(ms);
      await new Promise((resolve) => setTimeout(resolve, ms));
    };
    const bucket = new RedisTokenBucket(redis, k, { capacity: 1, refillPerSecond: 1000, sleep });
    await bucket.observe({ retryAfterMs: 1000 });
    await bucket.acquire();
    await bucket.acquire();
    expect(sleeps.length).toBeGreaterThanOrEqual(1);
  });
});
