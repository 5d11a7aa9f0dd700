import Redis from 'ioredis';
import { describeWithService, TEST_REDIS_URL } from '@data-sync/test-services';
import { parseRateLimitPolicy } from './rate-windows';
import { RedisTokenBucket, RedisWindowBudget } from './redis-token-bucket';

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

  describe('RedisWindowBudget', () => {
    // Windows of hours keep these tests independent of elapsed time.
    const HOUR = 3_600_000;

    test('processes sharing a key share every window: the burst and the steady one', async () => {
      const k = key();
      const other = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
      try {
        const a = new RedisWindowBudget(redis, k, [
          { limit: 2, windowMs: HOUR },
          { limit: 3, windowMs: 2 * HOUR },
        ]);
        const b = new RedisWindowBudget(other, k, [
          { limit: 2, windowMs: HOUR },
          { limit: 3, windowMs: 2 * HOUR },
        ]);
        expect([await a.tryAcquire(), await b.tryAcquire()]).toEqual([0, 0]);
        const wait = await a.tryAcquire();
        expect(wait).toBeGreaterThan(HOUR - 60_000);
        expect(wait).toBeLessThanOrEqual(HOUR);
      } finally {
        await other.quit();
      }
    });

    test('a Retry-After seen by one process pauses the others; declared stricter windows apply to all', async () => {
      const k = key();
      const a = new RedisWindowBudget(redis, k, [{ limit: 75, windowMs: HOUR }]);
      const b = new RedisWindowBudget(redis, k, [{ limit: 75, windowMs: HOUR }]);
      expect(await a.tryAcquire()).toBe(0);
      await a.observe({ retryAfterMs: 30_000 });
      const paused = await b.tryAcquire();
      expect(paused).toBeGreaterThan(25_000);
      expect(paused).toBeLessThanOrEqual(30_000);

      const k2 = key();
      const c = new RedisWindowBudget(redis, k2, [{ limit: 75, windowMs: HOUR }]);
      const d = new RedisWindowBudget(redis, k2, [{ limit: 75, windowMs: HOUR }]);
      expect(await c.tryAcquire()).toBe(0);
      // The vendor declares a much lower limit for the same window than documented.
      await c.observe({}, parseRateLimitPolicy('1, 1;w=3600'));
      expect(await d.tryAcquire()).toBeGreaterThan(HOUR - 60_000);
    });
  });
});
