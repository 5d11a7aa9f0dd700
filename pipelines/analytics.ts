/**
 * The inbound path of analytics pages into the internal model, called inside the transaction that
 * commits the page's cursor: `upsertEvents` (idempotent on the vendor's event id) and
 * `replaceMetricDays` (a day pulled again replaces that day's rows). Records a mapping refuses are
 * quarantined with their reasons, as the contact pipeline does, so nothing is dropped silently.
 */
import { createHash } from 'crypto';
import { stableStringify } from './batch';
import type { Queryable } from './db';
import {
  EVENT_MAPPINGS,
  METRIC_MAPPINGS,
  OBJECT_EVENT_MAPPINGS,
  type EventRow,
  type Mapped,
  type MetricRow,
} from './analytics-mappings';
import { protectRecord, subjectHash, type FieldCipher } from './privacy';

export interface AnalyticsResult {
  readonly received: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  /** Repeats of an id within the page (the last one counts). */
  readonly duplicates: number;
  readonly quarantined: number;
}

type VendorRecord = Record<string, unknown>;

const jsonForDb = (value: unknown) => JSON.stringify(value).replace(/\\u0000/g, '\\ufffd');
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

function mapAll<T>(records: readonly VendorRecord[], map: (record: VendorRecord) => Mapped<T>) {
  const rows: T[] = [];
  const refused: { record: VendorRecord; errors: readonly unknown[] }[] = [];
  for (const record of records) {
    const result = map(record);
    if (result.ok) rows.push(...result.rows);
    else refused.push({ record, errors: result.errors });
  }
  return { rows, refused };
}

function mappingFor<T>(
  mappings: Readonly<Record<string, (record: VendorRecord) => Mapped<T>>>,
  source: string,
  kind: string,
) {
  const map = mappings[source];
  if (!map)
    throw new Error(`no ${kind} mapping for source "${source}": known are ${Object.keys(mappings).sort().join(', ')}`);
  return map;
}

/** Quarantines records a mapping refused, with their reasons (shared with the accounts model). */
export async function quarantine(
  tx: Queryable,
  source: string,
  mapping: string,
  refused: readonly { record: VendorRecord; errors: readonly unknown[] }[],
  cipher?: FieldCipher,
): Promise<void> {
  if (refused.length === 0) return;
  const subjects = refused.map(({ record }) => {
    const match = /"[^"]*email[^"]*":"([^"\s@]+@[^"\s@]+)"/i.exec(JSON.stringify(record));
    return match ? subjectHash(match[1]) : null;
  });
  await tx.query(
    `INSERT INTO pipeline_quarantine (integration, mapping, record, errors, record_hash, subject_hash)
     SELECT $1, $2, u.r::jsonb, u.e::jsonb, u.h, u.s FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS u(r, e, h, s)
     ON CONFLICT (integration, mapping, record_hash) DO UPDATE SET errors = EXCLUDED.errors, occurrences = pipeline_quarantine.occurrences + 1, last_seen_at = now()`,
    [
      source,
      mapping,
      refused.map(({ record }) => jsonForDb(protectRecord(record, cipher))),
      refused.map(({ errors }) => jsonForDb(errors)),
      refused.map(({ record }) => sha256(stableStringify(record))),
      subjects,
    ],
  );
}

/**
 * Upserts vendor events of `source` into `events` by (source, event id): a new id inserts, a known
 * id with different content updates (the vendor's latest version wins), a repeat changes nothing.
 */
export async function upsertEvents(
  tx: Queryable,
  source: string,
  records: readonly VendorRecord[],
  options: { cipher?: FieldCipher; object?: string } = {},
): Promise<AnalyticsResult> {
  const object = options.object ?? 'events';
  const map =
    object === 'events'
      ? mappingFor(EVENT_MAPPINGS, source, 'event')
      : mappingFor(OBJECT_EVENT_MAPPINGS[source] ?? {}, object, `${source} event`);
  const { rows, refused } = mapAll(records, map);
  await quarantine(tx, source, `${source}_to_internal.${object}`, refused, options.cipher);
  // Within one page the last version of an id wins, as it would across pages.
  const latest = new Map<string, EventRow>();
  for (const row of rows) latest.set(row.event_id, row);
  let inserted = 0;
  let updated = 0;
  if (latest.size > 0) {
    const unique = [...latest.values()].map((row) => ({ ...row, content_hash: sha256(stableStringify(row)) }));
    const { rows: written } = await tx.query<{ inserted: boolean }>(
      `INSERT INTO events (source, event_id, name, occurred_at, user_id, device_id, email, properties, content_hash)
       SELECT $1, r.event_id, r.name, r.occurred_at, r.user_id, r.device_id, r.email, r.properties, r.content_hash
       FROM jsonb_to_recordset($2::jsonb) AS r(event_id text, name text, occurred_at timestamptz, user_id text, device_id text, email text, properties jsonb, content_hash text)
       ON CONFLICT (source, event_id) DO UPDATE SET
         name = EXCLUDED.name, occurred_at = EXCLUDED.occurred_at, user_id = EXCLUDED.user_id, device_id = EXCLUDED.device_id,
         email = EXCLUDED.email, properties = EXCLUDED.properties, content_hash = EXCLUDED.content_hash, received_at = now()
       WHERE events.content_hash <> EXCLUDED.content_hash
       RETURNING (xmax = 0) AS inserted`,
      [source, jsonForDb(unique)],
    );
    inserted = written.filter((r) => r.inserted).length;
    updated = written.length - inserted;
  }
  return {
    received: records.length,
    inserted,
    updated,
    unchanged: latest.size - inserted - updated,
    duplicates: rows.length - latest.size,
    quarantined: refused.length,
  };
}

/**
 * Writes GA4-style daily report rows of `source`: every (day, metric) in the page loses the rows another pull
 * wrote (the day was pulled again, and what it holds now is the truth), then the page's rows are
 * upserted by (metric, date, dimensions). Pages of the same pull add to each other.
 */
export async function replaceMetricDays(
  tx: Queryable,
  source: string,
  records: readonly VendorRecord[],
  options: { cipher?: FieldCipher } = {},
): Promise<AnalyticsResult & { readonly replaced: number }> {
  const { rows, refused } = mapAll(records, mappingFor(METRIC_MAPPINGS, source, 'metric'));
  await quarantine(tx, source, `${source}_to_internal.metrics_daily`, refused, options.cipher);
  const latest = new Map<string, MetricRow & { dimensions_key: string }>();
  for (const row of rows) {
    const dimensions_key = stableStringify(row.dimensions);
    latest.set(`${row.metric}\u0000${row.date}\u0000${dimensions_key}`, { ...row, dimensions_key });
  }
  let replaced = 0;
  let inserted = 0;
  let updated = 0;
  // By (day, metric): a pull that re-reads a day's daily values leaves that day's counts of other metrics
  // (a social account's followers as of that day) alone.
  const byPull = new Map<string, Map<string, { date: string; metric: string }>>();
  for (const row of latest.values()) {
    const keys = byPull.get(row.pull_id) ?? new Map<string, { date: string; metric: string }>();
    keys.set(`${row.date}\u0000${row.metric}`, { date: row.date, metric: row.metric });
    byPull.set(row.pull_id, keys);
  }
  for (const [pullId, keys] of byPull) {
    replaced += (
      await tx.query(
        `DELETE FROM metrics_daily m USING unnest($2::date[], $3::text[]) AS k(date, metric)
         WHERE m.source = $1 AND m.date = k.date AND m.metric = k.metric AND m.pull_id <> $4`,
        [source, [...keys.values()].map((k) => k.date), [...keys.values()].map((k) => k.metric), pullId],
      )
    ).rowCount;
  }
  if (latest.size > 0) {
    const { rows: written } = await tx.query<{ inserted: boolean }>(
      `INSERT INTO metrics_daily (source, metric, date, dimensions, dimensions_key, value, pull_id)
       SELECT $1, r.metric, r.date, r.dimensions, r.dimensions_key, r.value, r.pull_id
       FROM jsonb_to_recordset($2::jsonb) AS r(metric text, date date, dimensions jsonb, dimensions_key text, value double precision, pull_id text)
       ON CONFLICT (source, metric, date, dimensions_key) DO UPDATE SET value = EXCLUDED.value, pull_id = EXCLUDED.pull_id, pulled_at = now()
       WHERE metrics_daily.value IS DISTINCT FROM EXCLUDED.value OR metrics_daily.pull_id <> EXCLUDED.pull_id
       RETURNING (xmax = 0) AS inserted`,
      [source, jsonForDb([...latest.values()])],
    );
    inserted = written.filter((r) => r.inserted).length;
    updated = written.length - inserted;
  }
  return {
    received: records.length,
    inserted,
    updated,
    unchanged: latest.size - inserted - updated,
    duplicates: rows.length - latest.size,
    quarantined: refused.length,
    replaced,
  };
}

/** Sync objects of the analytics connectors whose pages go to `events` or to `metrics_daily`. */
export const ANALYTICS_OBJECTS = { events: 'events', metrics: 'metrics' } as const;

/**
 * The sink step for one pulled page of an analytics integration: `events` pages to upsertEvents,
 * `metrics` pages to replaceMetricDays; undefined for any other (integration, object), which the
 * engine's default sink keeps handling.
 */
export async function ingestAnalyticsPage(
  tx: Queryable,
  page: { integration: string; object: string; records: readonly VendorRecord[] },
  options: { cipher?: FieldCipher } = {},
): Promise<AnalyticsResult | undefined> {
  if (page.object === ANALYTICS_OBJECTS.events && EVENT_MAPPINGS[page.integration])
    return upsertEvents(tx, page.integration, page.records, options);
  if (OBJECT_EVENT_MAPPINGS[page.integration]?.[page.object])
    return upsertEvents(tx, page.integration, page.records, { ...options, object: page.object });
  if (page.object === ANALYTICS_OBJECTS.metrics && METRIC_MAPPINGS[page.integration])
    return replaceMetricDays(tx, page.integration, page.records, options);
  return undefined;
}

/** The engine's sink contract (services/sync-runtime/src/engine/types.ts RecordSink), structurally: pipelines does not import the runtime. */
interface PageSink {
  upsert(
    tx: Queryable,
    run: { readonly integration: string; readonly object: string; readonly runId: string },
    records: readonly VendorRecord[],
    deletedIds: readonly string[],
  ): Promise<{ received: number; accepted: number; quarantined: number; duplicates: number }>;
  purge?(tx: Queryable, integration: string): Promise<number>;
}

/**
 * `sink` (the raw replica) plus the analytics model: pages of analytics objects also go through
 * ingestAnalyticsPage in the same transaction, so the cursor moves only with both written.
 */
export function withAnalyticsModel<S extends PageSink>(sink: S, options: { cipher?: FieldCipher } = {}): S {
  return {
    ...sink,
    async upsert(tx, run, records, deletedIds) {
      const raw = await sink.upsert(tx, run, records, deletedIds);
      await ingestAnalyticsPage(tx, { integration: run.integration, object: run.object, records }, options);
      return raw;
    },
  };
}
