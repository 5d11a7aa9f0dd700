/** The analytics part of the internal model: vendor events (table events) and daily metrics (metrics_daily). */
import type { Queryable } from '@data-sync/pipelines/db';

export interface AnalyticsQuery {
  readonly source?: string;
  readonly name?: string;
  /** Earliest time (events) or day (metrics), inclusive. */
  readonly from?: string;
  /** Latest time, exclusive (events), or day, inclusive (metrics). */
  readonly to?: string;
  readonly limit: number;
  readonly offset: number;
}

export interface EventRow {
  readonly source: string;
  readonly eventId: string;
  readonly event: string;
  readonly occurredAt: string;
  readonly userId: string | null;
  readonly deviceId: string | null;
  readonly email: string | null;
  /** The contact this event links to by email, when one exists. */
  readonly contactEmail: string | null;
  readonly properties: Record<string, unknown>;
}

export interface MetricRow {
  readonly source: string;
  readonly metric: string;
  readonly date: string;
  readonly dimensions: Record<string, string>;
  readonly value: number;
}

interface EventTableRow {
  source: string;
  event_id: string;
  name: string;
  occurred_at: Date | string;
  user_id: string | null;
  device_id: string | null;
  email: string | null;
  contact_email: string | null;
  properties: Record<string, unknown>;
}

interface MetricTableRow {
  source: string;
  metric: string;
  date: string;
  dimensions: Record<string, string>;
  value: string | number;
}

/** WHERE clause and parameters of the filters, on `nameColumn` and `timeColumn`. */
function where(
  q: AnalyticsQuery,
  columns: { source: string; name: string; time: string },
  toOperator: '<' | '<=',
  cast: string,
) {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    clauses.push(sql.replace('?', `$${params.length}`));
  };
  if (q.source !== undefined) add(`${columns.source} = ?`, q.source);
  if (q.name !== undefined) add(`${columns.name} = ?`, q.name);
  if (q.from !== undefined) add(`${columns.time} >= ?::${cast}`, q.from);
  if (q.to !== undefined) add(`${columns.time} ${toOperator} ?::${cast}`, q.to);
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

export type AnalyticsRepository = ReturnType<typeof createAnalyticsRepository>;

export function createAnalyticsRepository(q: Queryable) {
  return {
    /** Events newest first, with the contact each links to. */
    async events(query: AnalyticsQuery): Promise<{ items: EventRow[]; total: number }> {
      const filter = where(query, { source: 'e.source', name: 'e.name', time: 'e.occurred_at' }, '<', 'timestamptz');
      const [page, count] = await Promise.all([
        q.query<EventTableRow>(
          `SELECT e.source, e.event_id, e.name, e.occurred_at, e.user_id, e.device_id, e.email, e.properties, c.email AS contact_email
           FROM events e LEFT JOIN contacts c ON c.email = e.email ${filter.sql}
           ORDER BY e.occurred_at DESC, e.source, e.event_id LIMIT $${filter.params.length + 1} OFFSET $${filter.params.length + 2}`,
          [...filter.params, query.limit, query.offset],
        ),
        q.query<{ n: number }>(`SELECT count(*)::int AS n FROM events e ${filter.sql}`, filter.params),
      ]);
      const items = page.rows.map((r) => ({
        source: r.source,
        eventId: r.event_id,
        event: r.name,
        occurredAt: new Date(r.occurred_at).toISOString(),
        userId: r.user_id,
        deviceId: r.device_id,
        email: r.email,
        contactEmail: r.contact_email,
        properties: r.properties,
      }));
      return { items, total: count.rows[0].n };
    },

    /** Daily metric values, newest day first. */
    async metrics(query: AnalyticsQuery): Promise<{ items: MetricRow[]; total: number }> {
      const filter = where(query, { source: 'source', name: 'metric', time: 'date' }, '<=', 'date');
      const [page, count] = await Promise.all([
        q.query<MetricTableRow>(
          `SELECT source, metric, to_char(date, 'YYYY-MM-DD') AS date, dimensions, value FROM metrics_daily ${filter.sql}
           ORDER BY date DESC, source, metric, dimensions_key LIMIT $${filter.params.length + 1} OFFSET $${filter.params.length + 2}`,
          [...filter.params, query.limit, query.offset],
        ),
        q.query<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_daily ${filter.sql}`, filter.params),
      ]);
      const items = page.rows.map((r) => ({
        source: r.source,
        metric: r.metric,
        date: r.date,
        dimensions: r.dimensions,
        value: Number(r.value),
      }));
      return { items, total: count.rows[0].n };
    },
  };
}
