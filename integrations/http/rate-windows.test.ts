import { WindowBudget, parseRateLimitPolicy } from './rate-windows';

test('reads every window of an IETF-draft RateLimit-Limit value, ignoring the bare current limit', () => {
  expect(parseRateLimitPolicy('10, 10;w=1, 150;w=60')).toEqual([
    { limit: 10, windowMs: 1000 },
    { limit: 150, windowMs: 60_000 },
  ]);
  expect(parseRateLimitPolicy('700')).toEqual([]);
  expect(parseRateLimitPolicy(null)).toEqual([]);
});

test('a call waits until every window has room: burst first, then the steady window', async () => {
  let now = 0;
  const sleeps: number[] = [];
  const budget = new WindowBudget({
    windows: [
      { limit: 2, windowMs: 1000 },
      { limit: 3, windowMs: 60_000 },
    ],
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  });
  for (let i = 0; i < 4; i++) {
    await budget.acquire();
    budget.observe({});
  }
  // Two in the first second, the third after the burst window, the fourth after the steady one.
  expect(sleeps).toEqual([1000, 59_000]);
});

test('a declared window stricter than the documented one replaces it; Retry-After pauses the budget', async () => {
  let now = 0;
  const sleeps: number[] = [];
  const budget = new WindowBudget({
    windows: [{ limit: 75, windowMs: 1000 }],
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  });
  await budget.acquire();
  budget.observe({}, parseRateLimitPolicy('1, 1;w=1, 15;w=60'));
  expect(budget.current()).toEqual([
    { limit: 1, windowMs: 1000 },
    { limit: 15, windowMs: 60_000 },
  ]);
  await budget.acquire();
  expect(sleeps).toEqual([1000]);
  budget.observe({ retryAfterMs: 5000 });
  await budget.acquire();
  expect(sleeps).toEqual([1000, 5000]);
});
