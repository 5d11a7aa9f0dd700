import { DEFAULT_RETRY, backoffMs } from './binding';

describe('backoffMs', () => {
  test('caps grow exponentially from the base delay up to the maximum', () => {
    const top = () => 0.999999999;
    expect([1, 2, 3, 4].map((n) => backoffMs(n, { maxAttempts: 9, baseDelayMs: 100, maxDelayMs: 500 }, top))).toEqual([
      99, 199, 399, 499,
    ]);
    expect(backoffMs(40, DEFAULT_RETRY, top)).toBe(DEFAULT_RETRY.maxDelayMs - 1);
  });

  test('full jitter: delays spread over [0, cap)', () => {
    const delays = Array.from({ length: 2000 }, () =>
      backoffMs(3, { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 60000 }),
    );
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(4000);
    expect(new Set(delays.map((d) => Math.floor(d / 1000))).size).toBe(4);
  });
});
