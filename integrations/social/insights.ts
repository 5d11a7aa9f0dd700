/**
 * The `metrics` object of the social connectors: page, post and media insights and follower counts as
 * daily report rows `{ id, date: 'YYYYMMDD', dimensions, metrics, pullId }`, the shape GA4's rows have,
 * so `replaceMetricDays` writes them into `metrics_daily`. Every pull re-reads `lookBackDays` days
 * (the networks keep revising recent days) under a new pull id; counts that have no history at the
 * vendor (followers now, a post's lifetime totals) are rows of the pull's own day.
 */
import { randomUUID } from 'crypto';
import { z } from 'zod';
import type { PullPage } from '../connector';
import { addDays, maxDay, utcDay } from '../analytics/shared/time';
import { decodeCursor, encodeCursor } from '../marketing/shared/cursor';

export type MetricRecord = {
  readonly id: string;
  /** YYYYMMDD (UTC day the values belong to). */
  readonly date: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly metrics: Readonly<Record<string, number>>;
  readonly pullId: string;
};

/** The window of one insights pull: `start`..`today` (YYYY-MM-DD, UTC), and its pull id. */
export interface InsightsWindow {
  readonly start: string;
  readonly today: string;
  readonly pullId: string;
  /** Adds the metrics of one (day, dimensions) row; numbers only, repeats of a metric replace. */
  add(day: string, dimensions: Record<string, string>, metrics: Record<string, unknown>): void;
}

const cursorSchema = z.object({ through: z.string() });

/** Settings every social connector's insights share. */
export interface InsightsSettings {
  /** Days re-read behind the last pulled day. */
  readonly lookBackDays: number;
  /** Days read by the first pull. */
  readonly firstDays: number;
}

/**
 * One insights pull as a single page: `read` fills the window, the cursor remembers the last day read.
 * Daily values the vendor dates outside the window are dropped (they would replace days not re-read).
 */
export async function pullInsights(
  integration: string,
  cursor: string | null,
  now: number,
  settings: InsightsSettings,
  read: (window: InsightsWindow) => Promise<void>,
): Promise<PullPage> {
  const state = decodeCursor(integration, cursor, cursorSchema, { through: '' });
  const today = utcDay(now);
  const first = addDays(today, -settings.firstDays);
  const start = state.through === '' ? first : maxDay(first, addDays(state.through, -settings.lookBackDays));
  const pullId = randomUUID();
  const rows = new Map<string, { day: string; dimensions: Record<string, string>; metrics: Record<string, number> }>();
  await read({
    start,
    today,
    pullId,
    add(day, dimensions, metrics) {
      if (day < start || day > today) return;
      const key = JSON.stringify([day, Object.entries(dimensions).sort()]);
      const row = rows.get(key) ?? { day, dimensions, metrics: {} };
      for (const [name, value] of Object.entries(metrics))
        if (typeof value === 'number' && Number.isFinite(value)) row.metrics[name] = value;
      if (Object.keys(row.metrics).length) rows.set(key, row);
    },
  });
  const records: MetricRecord[] = [...rows.values()].map((row) => ({
    // The key the raw replica keeps the row under: the day and its dimension values.
    id: [row.day, ...Object.entries(row.dimensions).map(([k, v]) => `${k}=${v}`)].join('|'),
    date: row.day.replace(/-/g, ''),
    dimensions: row.dimensions,
    metrics: row.metrics,
    pullId,
  }));
  return { records, deletedIds: [], cursor: encodeCursor({ through: today }), done: true };
}
