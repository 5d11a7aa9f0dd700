import { TokenBucket, sharedBucket } from './token-bucket';

function virtualClock() {
  let t = 0;
  const slept: number[] = [];
  return {
    now: () => t,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
    slept,
    advance: (ms: number) => void (t += ms),
  };
}

test('hands out the burst at once, then paces at the refill rate', async () => {
  const clock = virtualClock();
  const bucket = new TokenBucket({ capacity: 3, refillPerSecond: 2, now: clock.now, sleep: clock.sleep });
  for (let i = 0; i < 3; i++) await bucket.acquire();
  expect(clock.slept).toEqual([]);
  await bucket.acquire();
  await bucket.acquire();
  expect(clock.slept).toEqual([500, 500]);
  expect(clock.now()).toBe(1000);
});

test('refills over time up to capacity', () => {
  const clock = virtualClock();
  const bucket = new TokenBucket({ capacity: 5, refillPerSecond: 1, now: clock.now, sleep: clock.sleep });
  clock.advance(60_000);
  expect(bucket.available()).toBe(5);
});

test('a vendor-reported remaining count lowers the tokens', () => {
  const clock = virtualClock();
  const bucket = new TokenBucket({ capacity: 100, refillPerSecond: 10, now: clock.now, sleep: clock.sleep });
  bucket.observe({ remaining: 4, limit: 100 });
  expect(bucket.available()).toBe(4);
  bucket.observe({ remaining: 50 });
  expect(bucket.available()).toBe(4);
});

test('an exhausted quota pauses every caller until the reported reset', async () => {
  const clock = virtualClock();
  const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 10, now: clock.now, sleep: clock.sleep });
  bucket.observe({ remaining: 0, resetMs: 8000 });
  await bucket.acquire();
  expect(clock.now()).toBeGreaterThanOrEqual(8000);
});

test('Retry-After pauses the bucket', async () => {
  const clock = virtualClock();
  const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 10, now: clock.now, sleep: clock.sleep });
  bucket.observe({ retryAfterMs: 2000 });
  expect(bucket.available()).toBe(0);
  await bucket.acquire();
  expect(clock.now()).toBe(2000);
});

test('an instant sleep (test double) still terminates', async () => {
  const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1, now: () => 0, sleep: async () => undefined });
  bucket.observe({ retryAfterMs: 60_000 });
  for (let i = 0; i < 5; i++) await bucket.acquire();
});

test('concurrent waiters are served one token each, in order', async () => {
  const clock = virtualClock();
  const bucket = new TokenBucket({ capacity: 1, refillPerSecond: 1, now: clock.now, sleep: clock.sleep });
  const order: number[] = [];
  await Promise.all([0, 1, 2].map((i) => bucket.acquire().then(() => order.push(i))));
  expect(order).toEqual([0, 1, 2]);
  expect(clock.now()).toBe(2000);
});

test('rejects a nonsensical configuration', () => {
  expect(() => new TokenBucket({ capacity: 0, refillPerSecond: 1 })).toThrow(/capacity/);
  expect(() => new TokenBucket({ capacity: 1, refillPerSecond: -1 })).toThrow(/refillPerSecond/);
});

test('sharedBucket returns one bucket per key', () => {
  const a = sharedBucket('t:a', { capacity: 1, refillPerSecond: 1 });
  expect(sharedBucket('t:a', { capacity: 9, refillPerSecond: 9 })).toBe(a);
  expect(sharedBucket('t:b', { capacity: 1, refillPerSecond: 1 })).not.toBe(a);
});
