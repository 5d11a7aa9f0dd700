/**
 * Insights of a Facebook Page or an Instagram professional account as the `metrics` object:
 * - daily values of `/{id}/insights?metric=...&period=day&since&until` (each value's `end_time` closes
 *   the day it counts, so the row is dated the day before it);
 * - follower counts of the account now (`followers_count`, and `fan_count` of a Page);
 * - lifetime insights of the most recent posts (`/{page}/published_posts`) or media (`/{ig}/media`),
 *   one row per post with its id as a dimension.
 * Instagram's account is the Page's linked `instagram_business_account`.
 */
import { IntegrationError } from '../../connector';
import { addDays, utcDay } from '../../analytics/shared/time';
import { mapPool } from '../../marketing/shared/pool';
import type { InsightsWindow } from '../insights';
import type { MetaConfig } from './config';
import type { GraphClient, GraphPage } from './graph';

interface InsightSeries {
  name: string;
  period?: string;
  values?: { value?: unknown; end_time?: string }[];
  total_value?: { value?: unknown };
}

const DAY_MS = 86_400_000;
const unix = (day: string) => Math.floor(Date.parse(`${day}T00:00:00Z`) / 1000);

/** The day a `period=day` value counts: the one its `end_time` closes. */
export const insightDay = (endTime: string): string | null => {
  const ms = Date.parse(endTime.replace(/\+0000$/, 'Z'));
  return Number.isNaN(ms) ? null : utcDay(ms - DAY_MS);
};

interface Surface {
  /** The Graph node whose insights are read, and the dimension naming it. */
  readonly node: string;
  readonly dimension: 'page_id' | 'instagram_account_id';
  readonly dailyMetrics: readonly string[];
  readonly countFields: string;
  readonly items: { edge: string; fields: string; dimension: string; metrics: readonly string[] };
}

async function surface(system: string, graph: GraphClient, config: MetaConfig): Promise<Surface> {
  if (system === 'facebook')
    return {
      node: config.pageId,
      dimension: 'page_id',
      dailyMetrics: config.pageMetrics,
      countFields: 'followers_count,fan_count',
      items: { edge: 'published_posts', fields: 'id,created_time', dimension: 'post_id', metrics: config.postMetrics },
    };
  const page = await graph.call<{ instagram_business_account?: { id?: string } }>({
    path: `/${config.pageId}`,
    query: { fields: 'instagram_business_account' },
  });
  const id = page.instagram_business_account?.id;
  if (!id)
    throw new IntegrationError(
      system,
      'invalid_config',
      `page ${config.pageId} has no linked Instagram professional account (instagram_business_account)`,
    );
  return {
    node: id,
    dimension: 'instagram_account_id',
    dailyMetrics: config.instagramMetrics,
    countFields: 'followers_count,media_count',
    items: { edge: 'media', fields: 'id,timestamp', dimension: 'media_id', metrics: config.mediaMetrics },
  };
}

/** The lifetime value of each series: the last of `values`, or `total_value`. */
function lifetime(series: readonly InsightSeries[]): Record<string, unknown> {
  return Object.fromEntries(
    series.map((s) => [s.name, s.total_value?.value ?? s.values?.[s.values.length - 1]?.value]),
  );
}

export async function readMetaInsights(
  system: string,
  graph: GraphClient,
  config: MetaConfig,
  window: InsightsWindow,
): Promise<void> {
  const s = await surface(system, graph, config);
  const dims = { [s.dimension]: s.node };
  if (s.dailyMetrics.length) {
    // `since` is included in the first value; `until` is exclusive, so the day after today closes the range.
    const daily = await graph.call<GraphPage<InsightSeries>>({
      path: `/${s.node}/insights`,
      query: {
        metric: s.dailyMetrics.join(','),
        period: 'day',
        since: unix(window.start),
        until: unix(addDays(window.today, 1)),
      },
    });
    for (const series of daily.data ?? [])
      for (const value of series.values ?? []) {
        const day = value.end_time ? insightDay(value.end_time) : null;
        if (day) window.add(day, dims, { [series.name]: value.value });
      }
  }
  const counts = await graph.call<Record<string, unknown>>({ path: `/${s.node}`, query: { fields: s.countFields } });
  window.add(window.today, dims, counts);
  if (!s.items.metrics.length || config.insightItems === 0) return;
  const items = await graph.call<GraphPage<{ id: string }>>({
    path: `/${s.node}/${s.items.edge}`,
    query: { fields: s.items.fields, limit: config.insightItems },
  });
  await mapPool(items.data ?? [], 4, async (item) => {
    const insights = await graph.call<GraphPage<InsightSeries>>({
      path: `/${item.id}/insights`,
      query: { metric: s.items.metrics.join(','), period: 'lifetime' },
    });
    window.add(window.today, { ...dims, [s.items.dimension]: item.id }, lifetime(insights.data ?? []));
  });
}
