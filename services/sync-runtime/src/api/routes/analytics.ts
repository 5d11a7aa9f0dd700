/**
 * The analytics part of the internal model: `GET /api/events` (vendor events, newest first, with the
 * contact each links to by email) and `GET /api/metrics` (daily metric values, the KPI Engine's
 * source), both for viewers, paginated as `{ items, total }` and filtered by source, name and time.
 * PII is masked below operator, including emails that arrive as a vendor's user id.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { maskPii, type Role } from '@data-sync/pipelines/privacy';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';
import { NAME_PATTERN, anyObject, errorResponses, paging } from '../schemas';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** maskPii, plus emails under fields it does not classify (Mixpanel's distinct_id, Amplitude's user_id). */
function masked<T extends Record<string, unknown>>(record: T, role: Role): T {
  const out = maskPii(record, role);
  if (role !== 'viewer') return out;
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return EMAIL.test(value) ? maskPii({ email: value }, role).email : value;
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return walk(out) as T;
}

const filters = (time: 'date-time' | 'date') => ({
  source: {
    type: 'string',
    pattern: NAME_PATTERN,
    description: 'integration that pulled it (mixpanel, amplitude, google_analytics)',
  },
  name: {
    type: 'string',
    minLength: 1,
    maxLength: 256,
    description: time === 'date' ? 'metric name, e.g. activeUsers' : 'event name',
  },
  from: { type: 'string', format: time, description: `earliest ${time === 'date' ? 'day' : 'time'}, inclusive` },
  to: {
    type: 'string',
    format: time,
    description: `latest ${time === 'date' ? 'day' : 'time'}, ${time === 'date' ? 'inclusive' : 'exclusive'}`,
  },
  ...paging,
});

interface Query {
  source?: string;
  name?: string;
  from?: string;
  to?: string;
  limit: number;
  offset: number;
}

/** WHERE clause and parameters of the filters, on `nameColumn` and `timeColumn`. */
function where(q: Query, nameColumn: string, timeColumn: string, toOperator: '<' | '<=', cast: string) {
  if (q.from !== undefined && q.to !== undefined && Date.parse(q.from) > Date.parse(q.to)) {
    throw new ApiError(400, 'validation_failed', 'querystring/from must not be after querystring/to', [
      { in: 'querystring', path: '/from', message: 'must not be after to' },
    ]);
  }
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    clauses.push(sql.replace('?', `$${params.length}`));
  };
  if (q.source !== undefined) add('source = ?', q.source);
  if (q.name !== undefined) add(`${nameColumn} = ?`, q.name);
  if (q.from !== undefined) add(`${timeColumn} >= ?::${cast}`, q.from);
  if (q.to !== undefined) add(`${timeColumn} ${toOperator} ?::${cast}`, q.to);
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

const eventView = {
  type: 'object',
  properties: {
    source: { type: 'string' },
    eventId: { type: 'string' },
    event: {
      type: 'string',
      description: "event name (not `name`, which reads as a person's name to the PII masking)",
    },
    occurredAt: { type: 'string' },
    userId: { type: ['string', 'null'] },
    deviceId: { type: ['string', 'null'] },
    email: { type: ['string', 'null'] },
    contactEmail: {
      type: ['string', 'null'],
      description: 'the contact this event links to (by email), when one exists',
    },
    properties: anyObject,
  },
} as const;

const metricView = {
  type: 'object',
  properties: {
    source: { type: 'string' },
    metric: { type: 'string' },
    date: { type: 'string' },
    dimensions: { type: 'object', additionalProperties: { type: 'string' } },
    value: { type: 'number' },
  },
} as const;

export const analyticsRoutes = (deps: ApiDeps) => async (app: FastifyInstance) => {
  app.get(
    '/api/events',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['analytics'],
        summary:
          'Analytics events (Mixpanel, Amplitude), newest first, with their linked contact; PII masked below operator',
        querystring: { type: 'object', additionalProperties: false, properties: filters('date-time') },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: eventView }, total: { type: 'integer' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Querystring: Query }>) => {
      const q = request.query;
      const filter = where(q, 'e.name', 'e.occurred_at', '<', 'timestamptz');
      const scoped = filter.sql.replace(/\bsource =/, 'e.source =');
      const [page, count] = await Promise.all([
        deps.db.query<Record<string, any>>(
          `SELECT e.source, e.event_id, e.name, e.occurred_at, e.user_id, e.device_id, e.email, e.properties, c.email AS contact_email
         FROM events e LEFT JOIN contacts c ON c.email = e.email ${scoped}
         ORDER BY e.occurred_at DESC, e.source, e.event_id LIMIT $${filter.params.length + 1} OFFSET $${filter.params.length + 2}`,
          [...filter.params, q.limit, q.offset],
        ),
        deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events e ${scoped}`, filter.params),
      ]);
      const role = request.principal!.role;
      return {
        items: page.rows.map((r) =>
          masked(
            {
              source: r.source,
              eventId: r.event_id,
              event: r.name,
              occurredAt: new Date(r.occurred_at).toISOString(),
              userId: r.user_id,
              deviceId: r.device_id,
              email: r.email,
              contactEmail: r.contact_email,
              properties: r.properties,
            },
            role,
          ),
        ),
        total: count.rows[0].n,
      };
    },
  );

  app.get(
    '/api/metrics',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['analytics'],
        summary: 'Daily metrics from the analytics platforms (GA4 reports), newest day first',
        querystring: { type: 'object', additionalProperties: false, properties: filters('date') },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: metricView }, total: { type: 'integer' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Querystring: Query }>) => {
      const q = request.query;
      const filter = where(q, 'metric', 'date', '<=', 'date');
      const [page, count] = await Promise.all([
        deps.db.query<Record<string, any>>(
          `SELECT source, metric, to_char(date, 'YYYY-MM-DD') AS date, dimensions, value FROM metrics_daily ${filter.sql}
         ORDER BY date DESC, source, metric, dimensions_key LIMIT $${filter.params.length + 1} OFFSET $${filter.params.length + 2}`,
          [...filter.params, q.limit, q.offset],
        ),
        deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM metrics_daily ${filter.sql}`, filter.params),
      ]);
      const role = request.principal!.role;
      return {
        items: page.rows.map((r) =>
          masked(
            { source: r.source, metric: r.metric, date: r.date, dimensions: r.dimensions, value: Number(r.value) },
            role,
          ),
        ),
        total: count.rows[0].n,
      };
    },
  );
};
