import { z } from 'zod';
import { IntegrationError } from '../../connector';
import { parseConfig } from './config';
import { decodeCursor, encodeCursor } from './cursor';
import { Semaphore, mapPool } from './pool';
import { START, advance, isNew, queryFrom, secondsOf } from './watermark';

describe('watermark', () => {
  test('queries from one second before the newest time, and skips only what was emitted at that second', () => {
    const mark = advance(START, [
      { id: 'a', changedMs: 1000 },
      { id: 'b', changedMs: 2000 },
      { id: 'c', changedMs: 2000 },
    ]);
    expect(mark).toEqual({ ts: 2000, seen: ['b', 'c'] });
    expect(queryFrom(mark)).toBe(1000);
    expect([isNew(mark, 'a', 1000), isNew(mark, 'b', 2000), isNew(mark, 'd', 2000), isNew(mark, 'a', 3000)]).toEqual([
      false,
      false,
      true,
      true,
    ]);
    expect(advance(mark, [{ id: 'd', changedMs: 2000 }])).toEqual({ ts: 2000, seen: ['b', 'c', 'd'] });
    expect(advance(mark, [])).toEqual(mark);
    expect(advance(START, [])).toBe(START);
    expect(advance(mark, [{ id: 'e', changedMs: 3000 }])).toEqual({ ts: 3000, seen: ['e'] });
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
