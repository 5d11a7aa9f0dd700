import type { VendorRecord } from '@data-sync/integrations/connector';
import type { RecordSink } from './types';

export interface StoreSinkOptions {
  /** Fields tried in order for a record's external id (default id, Id, ID, external_id, uuid, contact_id). */
  readonly idFields?: readonly string[];
  /** Fields tried in order for when the source last changed it (default updated_at, updatedAt, LastModifiedDate, ...). */
  readonly updatedFields?: readonly string[];
}

// contact_id: Constant Contact's contact key.
const ID_FIELDS = ['id', 'Id', 'ID', 'external_id', 'uuid', 'contact_id'];
const UPDATED_FIELDS = [
  'updated_at',
  'updatedAt',
  'LastModifiedDate',
  'lastmodifieddate',
  'modified_at',
  'modifiedAt',
  'hs_lastmodifieddate',
  'last_modified',
];

function pick(record: VendorRecord, fields: readonly string[]): unknown {
  for (const field of fields)
    if (record[field] !== undefined && record[field] !== null && record[field] !== '') return record[field];
  return undefined;
}

/** A vendor record's id by the default id fields, or null. */
export function recordId(record: VendorRecord): string | null {
  const id = pick(record, ID_FIELDS);
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

function toTime(value: unknown): Date | null {
  if (value === undefined) return null;
  const date =
    typeof value === 'number'
      ? new Date(value)
      : typeof value === 'string'
        ? new Date(/^\d+$/.test(value) ? Number(value) : value)
        : null;
  return date && !Number.isNaN(date.getTime()) ? date : null;
}

/**
 * The default sink: upserts vendor records into `synced_records`. Idempotent: a record only
 * replaces the stored one when its source timestamp is newer (or, without timestamps, when its data
 * differs), so a redelivered or older page never overwrites newer data. Deletes are kept as
 * tombstones: with timestamps, only a newer version brings a deleted record back.
 */
export function createStoreSink(options: StoreSinkOptions = {}): RecordSink {
  const idFields = options.idFields ?? ID_FIELDS;
  const updatedFields = options.updatedFields ?? UPDATED_FIELDS;
  return {
    async upsert(tx, run, records, deletedIds) {
      let quarantined = 0;
      let duplicates = 0;
      const latest = new Map<
        string,
        { external_id: string; data: VendorRecord; source_updated_at: string | null; at: number }
      >();
      for (const record of records) {
        const id = pick(record, idFields);
        if (typeof id !== 'string' && typeof id !== 'number') {
          quarantined++;
          continue;
        }
        const at = toTime(pick(record, updatedFields));
        const key = String(id);
        const seen = latest.get(key);
        if (seen) duplicates++;
        // Within a page the newest version wins; with equal times, the later one (pages are oldest change first).
        if (!seen || (at?.getTime() ?? -Infinity) >= seen.at)
          latest.set(key, {
            external_id: key,
            data: record,
            source_updated_at: at ? at.toISOString() : null,
            at: at?.getTime() ?? -Infinity,
          });
      }
      let accepted = 0;
      if (latest.size > 0) {
        const rows = [...latest.values()].map(({ external_id, data, source_updated_at }) => ({
          external_id,
          data,
          source_updated_at,
        }));
        const result = await tx.query(
          `INSERT INTO synced_records (integration, object, external_id, data, source_updated_at, run_id)
           SELECT $1, $2, r.external_id, r.data, r.source_updated_at, $3
           FROM jsonb_to_recordset($4::jsonb) AS r(external_id text, data jsonb, source_updated_at timestamptz)
           ON CONFLICT (integration, object, external_id) DO UPDATE SET
             data = EXCLUDED.data, source_updated_at = EXCLUDED.source_updated_at, deleted = false, run_id = EXCLUDED.run_id, synced_at = now()
           WHERE CASE WHEN EXCLUDED.source_updated_at IS NOT NULL AND synced_records.source_updated_at IS NOT NULL
                      THEN EXCLUDED.source_updated_at > synced_records.source_updated_at
                      ELSE synced_records.deleted OR synced_records.data IS DISTINCT FROM EXCLUDED.data END`,
          [run.integration, run.object, run.runId, JSON.stringify(rows)],
        );
        accepted = result.rowCount;
        duplicates += latest.size - accepted;
      }
      if (deletedIds.length > 0) {
        await tx.query(
          `UPDATE synced_records SET deleted = true, run_id = $3, synced_at = now()
           WHERE integration = $1 AND object = $2 AND external_id = ANY($4::text[]) AND NOT deleted`,
          [run.integration, run.object, run.runId, [...deletedIds]],
        );
      }
      return { received: records.length, accepted, quarantined, duplicates };
    },

    async purge(tx, integration) {
      return (await tx.query('DELETE FROM synced_records WHERE integration = $1', [integration])).rowCount;
    },
  };
}
