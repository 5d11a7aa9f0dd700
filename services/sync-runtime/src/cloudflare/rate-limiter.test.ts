import { takeToken } from './rate-limiter';

describe('takeToken (token bucket)', () => {
  const limits = { capacity: 3, refillPerSecond: 2 };

  test('a new bucket starts full and allows a burst of its capacity', () => {
    let state;
    const allowed: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const result = takeToken(state, limits, 1000);
      allowed.push(result.allowed);
      state = result.state;
    }
    expect(allowed).toEqual([true, true, true, false]);
  });

  test('refills at the configured rate, never above capacity, and says how long to wait', () => {
    const empty = { tokens: 0, updatedAt: 0 };
    expect(takeToken(empty, limits, 100)).toMatchObject({ allowed: false, retryAfterMs: 400 });
    expect(takeToken(empty, limits, 500)).toMatchObject({ allowed: true, state: { tokens: 0, updatedAt: 500 } });
    expect(takeToken(empty, limits, 60_000).state.tokens).toBe(2);
  });

  test('a clock that goes backwards adds no tokens', () => {
    expect(takeToken({ tokens: 0.5, updatedAt: 10_000 }, limits, 5_000)).toMatchObject({
      allowed: false,
      state: { tokens: 0.5, updatedAt: 10_000 },
    });
  });

  test('refuses limits that could never allow a call', () => {
    expect(() => takeToken(undefined, { capacity: 0, refillPerSecond: 1 }, 0)).toThrow(/capacity >= 1/);
    expect(() => takeToken(undefined, { capacity: 1, refillPerSecond: 0 }, 0)).toThrow(/refillPerSecond > 0/);
  });
});
