import { LOOK_BACK_MS, remember } from '../../look-back';

/**
 * Incremental-pull bookkeeping for vendors whose change filter is a modification time with whole
 * seconds (Mailchimp last_changed, Klaviyo updated, Constant Contact updated_at): the cursor keeps the
 * newest time emitted, the ids already emitted at exactly that time and the versions emitted inside a
 * look-back window below it. Queries ask from the start of that window, so it does not matter whether the
 * vendor's "since" is inclusive, and a change the vendor exposes late is still pulled; records are then
 * emitted once per version: no gaps at a boundary second shared by several records, no repeats.
 */
export interface Watermark {
  /** Newest modification time emitted (ms), null before the first record. */
  readonly ts: number | null;
  /** Ids emitted whose modification time equals `ts`. */
  readonly seen: readonly string[];
  /**
   * Versions emitted inside the look-back window below `ts`: id -> modification time. Absent in cursors
   * written before the window existed; those re-read only the boundary second until their next advance.
   */
  readonly recent?: Readonly<Record<string, number>>;
}

export const START: Watermark = { ts: null, seen: [], recent: {} };

export { LOOK_BACK_MS };

/** The "changed since" value to send: the look-back window before the watermark (a second for old cursors). */
export function queryFrom(mark: Watermark): number | null {
  if (mark.ts === null) return null;
  return mark.ts - (mark.recent ? LOOK_BACK_MS : 1000);
}

/** Whether a record changed at `changedMs` with `id` has not been emitted yet. */
export function isNew(mark: Watermark, id: string, changedMs: number): boolean {
  if (mark.ts === null) return true;
  if (changedMs > mark.ts) return true;
  if (changedMs === mark.ts) return !mark.seen.includes(id);
  return mark.recent !== undefined && changedMs >= mark.ts - LOOK_BACK_MS && mark.recent[id] !== changedMs;
}

/** The watermark after emitting `records`. */
export function advance(
  mark: Watermark,
  records: readonly { readonly id: string; readonly changedMs: number }[],
): Watermark {
  let ts = mark.ts;
  for (const r of records) if (ts === null || r.changedMs > ts) ts = r.changedMs;
  if (ts === null || records.length === 0) return mark;
  const previous = mark.ts === null ? [] : mark.seen.map((id) => ({ id, changedMs: mark.ts! }));
  const versions = remember(mark.recent, [...previous, ...records], (r) => ({ id: r.id, ms: r.changedMs }), ts);
  const newest = ts;
  const seen = Object.keys(versions).filter((id) => versions[id] === newest);
  return { ts, seen, recent: Object.fromEntries(Object.entries(versions).filter(([, ms]) => ms !== newest)) };
}

/** A vendor timestamp in ms, truncated to whole seconds (the precision the filters understand). */
export function secondsOf(value: unknown): number | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000) * 1000;
}
