/**
 * Incremental-pull bookkeeping for vendors whose change filter is a modification time with whole
 * seconds (Mailchimp last_changed, Klaviyo updated, Constant Contact updated_at): the cursor keeps the
 * newest time emitted and the ids already emitted at exactly that time. Queries ask from one second
 * before it, so it does not matter whether the vendor's "since" is inclusive, and records are then
 * emitted once each: no gaps at a boundary second shared by several records, no repeats.
 */
export interface Watermark {
  /** Newest modification time emitted (ms), null before the first record. */
  readonly ts: number | null;
  /** Ids emitted whose modification time equals `ts`. */
  readonly seen: readonly string[];
}

export const START: Watermark = { ts: null, seen: [] };

/** The "changed since" value to send: one second before the watermark, so the boundary second is included. */
export function queryFrom(mark: Watermark): number | null {
  return mark.ts === null ? null : mark.ts - 1000;
}

/** Whether a record changed at `changedMs` with `id` has not been emitted yet. */
export function isNew(mark: Watermark, id: string, changedMs: number): boolean {
  if (mark.ts === null) return true;
  if (changedMs > mark.ts) return true;
  return changedMs === mark.ts && !mark.seen.includes(id);
}

/** The watermark after emitting `records`. */
export function advance(
  mark: Watermark,
  records: readonly { readonly id: string; readonly changedMs: number }[],
): Watermark {
  let ts = mark.ts;
  for (const r of records) if (ts === null || r.changedMs > ts) ts = r.changedMs;
  if (ts === null) return mark;
  const seen = new Set(ts === mark.ts ? mark.seen : []);
  for (const r of records) if (r.changedMs === ts) seen.add(r.id);
  return { ts, seen: [...seen] };
}

/** A vendor timestamp in ms, truncated to whole seconds (the precision the filters understand). */
export function secondsOf(value: unknown): number | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const ms = typeof value === 'number' ? value : Date.parse(value);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000) * 1000;
}
