import { z } from 'zod';
import { IntegrationError } from '../../connector';
import { parseConfig } from './config';
import { decodeCursor, encodeCursor } from './cursor';
import { Semaphore, mapPool } from './pool';
import { LOOK_BACK_MS, START, advance, isNew, queryFrom, secondsOf } from './watermark';

describe('watermark', () => {
  test('queries from the look-back window before the newest time, and skips only versions already emitted', () => {
    const t = 10 * 60_000;
    const mark = advance(START, [
      { id: 'a', changedMs: t - 1000 },
      { id: 'b', changedMs: t },
      { id: 'c', changedMs: t },
    ]);
    expect(mark).toEqual({ ts: t, seen: ['b', 'c'], recent: { a: t - 1000 } });
    expect(queryFrom(mark)).toBe(t - LOOK_BACK_MS);
    expect([isNew(mark, 'a', t - 1000), isNew(mark, 'b', t), isNew(mark, 'd', t), isNew(mark, 'a', t + 1000)]).toEqual([
      false,
      false,
      true,
      true,
    ]);
    expect(advance(mark, [{ id: 'd', changedMs: t }])).toEqual({
      ts: t,
      seen: ['b', 'c', 'd'],
      recent: { a: t - 1000 },
    });
    expect(advance(mark, [])).toEqual(mark);
    expect(advance(START, [])).toBe(START);
    expect(advance(mark, [{ id: 'e', changedMs: t + 1000 }])).toEqual({
      ts: t + 1000,
      seen: ['e'],
      recent: { b: t, c: t, a: t - 1000 },
    });
  });

  test('a change exposed late, older than the newest but inside the window, is new once; older than the window it is not', () => {
    const t = 10 * 60_000;
    const mark = advance(START, [
      { id: 'a', changedMs: t - 60_000 },
      { id: 'b', changedMs: t },
    ]);
    expect(isNew(mark, 'late', t - 120_000)).toBe(true);
    expect(isNew(mark, 'a', t - 30_000)).toBe(true);
    const after = advance(mark, [
      { id: 'late', changedMs: t - 120_000 },
      { id: 'a', changedMs: t - 30_000 },
    ]);
    expect(after.ts).toBe(t);
    expect([isNew(after, 'late', t - 120_000), isNew(after, 'a', t - 30_000)]).toEqual([false, false]);
    expect(isNew(after, 'ancient', t - LOOK_BACK_MS - 1000)).toBe(false);
    // The window slides with the watermark: versions that fell out of it are forgotten.
    expect(advance(after, [{ id: 'z', changedMs: t + LOOK_BACK_MS }]).recent).toEqual({ b: t });
  });

  test('a cursor written before the window existed re-reads only the boundary second', () => {
    const legacy = { ts: 5000, seen: ['x'] };
    expect(queryFrom(legacy)).toBe(4000);
    expect([isNew(legacy, 'x', 5000), isNew(legacy, 'y', 5000), isNew(legacy, 'y', 4000)]).toEqual([
      false,
      true,
      false,
    ]);
    expect(advance(legacy, [{ id: 'y', changedMs: 6000 }])).toEqual({ ts: 6000, seen: ['y'], recent: { x: 5000 } });
  });

  test('reads vendor timestamps to whole seconds', () => {
    expect(secondsOf('2026-01-01T00:00:01.900Z')).toBe(Date.parse('2026-01-01T00:00:01Z'));
    expect(secondsOf('2026-01-01T00:00:01+00:00')).toBe(Date.parse('2026-01-01T00:00:01Z'));
    expect(secondsOf('not a date')).toBeNull();
    expect(secondsOf(undefined)).toBeNull();
  });
});

test('cursors round-trip, and a foreign one is an invalid_config error', () => {
  const schema = z.object({ n: z.number() });
  expect(decodeCursor('x', encodeCursor({ n: 3 }), schema, { n: 0 })).toEqual({ n: 3 });
  expect(decodeCursor('x', null, schema, { n: 0 })).toEqual({ n: 0 });
  expect(() => decodeCursor('x', encodeCursor({ n: 'three' }), schema, { n: 0 })).toThrow(IntegrationError);
  expect(() => decodeCursor('x', '%%%', schema, { n: 0 })).toThrow(/reset the sync state/);
});

test('a bad config names each offending field', () => {
  const schema = z.object({ apiKey: z.string().min(3), pageSize: z.number().max(10) });
  expect(() => parseConfig('acme', schema, { apiKey: 'x', pageSize: 11 })).toThrow(/apiKey: .*; pageSize: /);
});

describe('pool', () => {
  test('mapPool keeps order, never exceeds the limit, and rethrows the first failure after in-flight calls settle', async () => {
    let active = 0;
    let peak = 0;
    const results = await mapPool([5, 1, 4, 2, 3], 2, async (n) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, n));
      active--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
    const started: number[] = [];
    await expect(
      mapPool([1, 2, 3, 4], 1, async (n) => {
        started.push(n);
        if (n === 2) throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(started).toEqual([1, 2]);
  });

  test('Semaphore hands its slots to waiters in order', async () => {
    const semaphore = new Semaphore(1);
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((n) => semaphore.run(async () => void order.push(n))));
    expect(order).toEqual([1, 2, 3]);
    expect(() => new Semaphore(0)).toThrow(/limit/);
  });
});
