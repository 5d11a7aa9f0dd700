/**
 * Inbound mappings of the analytics vendors: each vendor's event (or report row) as it arrives from
 * the connector, to an `events` row (or `metrics_daily` rows). A record that lacks what the row
 * needs gets reasons instead, and is quarantined by the caller.
 */
export interface EventRow {
  /** The vendor's id of this event occurrence (insert id / uuid): the idempotency key. */
  readonly event_id: string;
  readonly name: string;
  readonly occurred_at: string;
  readonly user_id: string | null;
  readonly device_id: string | null;
  /** Lower-cased email the event carries, which links it to the contact of that email. */
  readonly email: string | null;
  readonly properties: Record<string, unknown>;
}

export interface MetricRow {
  /** YYYY-MM-DD */
  readonly date: string;
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly value: number;
  /** The pull that read this row: rows of a day from another pull are replaced. */
  readonly pull_id: string;
}

export type Mapped<T> =
  | { readonly ok: true; readonly rows: readonly T[] }
  | { readonly ok: false; readonly errors: readonly { field: string; rule: string; reason: string }[] };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
type Json = Record<string, unknown>;

const asObject = (value: unknown): Json =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
const text = (value: unknown): string | null =>
  typeof value === 'string' && value.trim()
    ? value
    : typeof value === 'number' && Number.isFinite(value)
      ? String(value)
      : null;

function emailOf(...candidates: unknown[]): string | null {
  for (const candidate of candidates)
    if (typeof candidate === 'string' && EMAIL.test(candidate.trim())) return candidate.trim().toLowerCase();
  return null;
}

function missing(...fields: [string, unknown][]): Mapped<never> | undefined {
  const errors = fields
    .filter(([, value]) => value === null || value === undefined)
    .map(([field]) => ({ field, rule: 'required', reason: `${field} is required` }));
  return errors.length ? { ok: false, errors } : undefined;
}

/** Epoch seconds or milliseconds (Mixpanel's `time`, with or without time_in_ms) as an ISO time. */
function epochTime(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return null;
  return new Date(value > 1e11 ? value : value * 1000).toISOString();
}

/** Amplitude's `2026-01-05 08:00:00.123000` (UTC, no zone) or an ISO time. */
function amplitudeTime(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value.replace(' ', 'T') : `${value.replace(' ', 'T')}Z`;
  const date = new Date(iso.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** A Raw Export line: `{ event, properties: { time, distinct_id, $insert_id, ... } }`. */
export function mapMixpanelEvent(record: Json): Mapped<EventRow> {
  const properties = asObject(record.properties);
  const event_id = text(properties.$insert_id);
  const name = text(record.event);
  const occurred_at = epochTime(properties.time);
  const bad = missing(['properties.$insert_id', event_id], ['event', name], ['properties.time', occurred_at]);
  if (bad) return bad;
  const distinctId = text(properties.distinct_id);
  return {
    ok: true,
    rows: [
      {
        event_id: event_id!,
        name: name!,
        occurred_at: occurred_at!,
        user_id: distinctId,
        device_id: text(properties.$device_id),
        email: emailOf(properties.$email, properties.email, distinctId),
        properties,
      },
    ],
  };
}

/** An Export API line (one event of an hourly file). */
export function mapAmplitudeEvent(record: Json): Mapped<EventRow> {
  const event_id = text(record.uuid) ?? text(record.$insert_id);
  const name = text(record.event_type);
  const occurred_at = amplitudeTime(record.event_time);
  const bad = missing(['uuid', event_id], ['event_type', name], ['event_time', occurred_at]);
  if (bad) return bad;
  const userProperties = asObject(record.user_properties);
  const { event_properties, user_properties, ...rest } = record;
  return {
    ok: true,
    rows: [
      {
        event_id: event_id!,
        name: name!,
        occurred_at: occurred_at!,
        user_id: text(record.user_id),
        device_id: text(record.device_id),
        email: emailOf(userProperties.email, record.user_id),
        properties: { ...asObject(event_properties), $user_properties: asObject(user_properties), $amplitude: rest },
      },
    ],
  };
}

/** A GA4 report row as the connector emits it: `{ date: 'YYYYMMDD', dimensions, metrics, pullId }`, one metrics_daily row per metric. */
export function mapGa4ReportRow(record: Json): Mapped<MetricRow> {
  const rawDate = text(record.date);
  const date =
    rawDate && /^\d{8}$/.test(rawDate) ? `${rawDate.slice(0, 4)}-${rawDate.slice(4, 6)}-${rawDate.slice(6, 8)}` : null;
  const pull_id = text(record.pullId);
  const metrics = asObject(record.metrics);
  const bad = missing(['date', date], ['pullId', pull_id]);
  if (bad) return bad;
  const dimensions = Object.fromEntries(Object.entries(asObject(record.dimensions)).map(([k, v]) => [k, String(v)]));
  const rows: MetricRow[] = [];
  for (const [metric, raw] of Object.entries(metrics)) {
    const value = Number(raw);
    if (raw === '' || raw === null || !Number.isFinite(value))
      return {
        ok: false,
        errors: [
          {
            field: `metrics.${metric}`,
            rule: 'number',
            reason: `metric ${metric} is not a number: ${JSON.stringify(raw)}`,
          },
        ],
      };
    rows.push({ date: date!, metric, dimensions, value, pull_id: pull_id! });
  }
  if (rows.length === 0)
    return {
      ok: false,
      errors: [{ field: 'metrics', rule: 'required', reason: 'a report row needs at least one metric' }],
    };
  return { ok: true, rows };
}

/** An X mention (an API v2 post naming the account) as the event `x.mention`; an edit is a new post with its own id. */
export function mapXMention(record: Json): Mapped<EventRow> {
  const event_id = text(record.id);
  const occurred_at =
    typeof record.created_at === 'string' && !Number.isNaN(Date.parse(record.created_at))
      ? new Date(record.created_at).toISOString()
      : null;
  const bad = missing(['id', event_id], ['created_at', occurred_at]);
  if (bad) return bad;
  const { id: _id, created_at: _created, author_id, ...properties } = record;
  return {
    ok: true,
    rows: [
      {
        event_id: event_id!,
        name: 'x.mention',
        occurred_at: occurred_at!,
        user_id: text(author_id),
        device_id: null,
        email: null,
        properties,
      },
    ],
  };
}

/** Event mappings of objects named other than `events` (social mentions), by catalog name and object. */
export const OBJECT_EVENT_MAPPINGS: Readonly<
  Record<string, Readonly<Record<string, (record: Json) => Mapped<EventRow>>>>
> = { x: { mentions: mapXMention } };

/** The inbound analytics mapping of each source, by catalog name. */
export const EVENT_MAPPINGS: Readonly<Record<string, (record: Json) => Mapped<EventRow>>> = {
  mixpanel: mapMixpanelEvent,
  amplitude: mapAmplitudeEvent,
};
// The social connectors' insights (integrations/social/insights.ts) are emitted as GA4-shaped rows.
export const METRIC_MAPPINGS: Readonly<Record<string, (record: Json) => Mapped<MetricRow>>> = {
  google_analytics: mapGa4ReportRow,
  facebook: mapGa4ReportRow,
  instagram: mapGa4ReportRow,
  linkedin: mapGa4ReportRow,
  x: mapGa4ReportRow,
};
