/**
 * Salesforce connector. Pulls are SOQL queries ordered by (SystemModstamp, Id) after a stored
 * watermark, paged with `nextRecordsUrl`, followed by a `queryAll` for deleted records; pushes are
 * composite sObjects upserts by external id (200 per call) or a Bulk API 2.0 ingest job above the
 * bulk threshold; webhooks are outbound messages.
 */
import {
  IntegrationError,
  checkConnection,
  type Connector,
  type ConnectorContext,
  type ConnectorModule,
  type PullPage,
  type PushResult,
  type VendorRecord,
} from '../../connector';
import { SalesforceClient, toCsv, type QueryResult } from './client';
import { DEFAULT_FIELDS, salesforceConfigSchema, type SalesforceConfig } from './config';
import { verifyOutboundMessage } from './outbound-message';

export { salesforceConfigSchema, type SalesforceConfig } from './config';
export { SOAP_ACK, buildOutboundMessage, parseOutboundMessage } from './outbound-message';

const COMPOSITE_LIMIT = 200;
/** Bulk API 2.0 accepts 150 MB per job; 100k rows keeps a job well below that for CRM records. */
const BULK_JOB_ROWS = 100_000;
const DEFAULT_EXTERNAL_ID = 'External_Id__c';
const SYSTEM_FIELDS = new Set([
  'Id',
  'attributes',
  'IsDeleted',
  'CreatedDate',
  'LastModifiedDate',
  'SystemModstamp',
  'CreatedById',
  'LastModifiedById',
]);

interface Watermark {
  readonly ts: string;
  readonly id: string;
}

interface Cursor {
  readonly phase: 'records' | 'deletes';
  readonly records?: Watermark;
  readonly deletes?: Watermark;
  /** nextRecordsUrl of the query in progress; the watermark resumes if it expired. */
  readonly next?: string;
}

function readCursor(cursor: string | null): Cursor {
  if (cursor === null) return { phase: 'records' };
  try {
    const parsed = JSON.parse(cursor) as Cursor;
    if (parsed.phase === 'records' || parsed.phase === 'deletes') return parsed;
  } catch {
    // Falls through to the error below.
  }
  throw new IntegrationError('salesforce', 'invalid_config', `unreadable pull cursor: ${cursor.slice(0, 80)}`);
}

/** SOQL datetime literal; Salesforce stamps have whole seconds (`2026-01-05T08:00:00.000+0000`). */
export function soqlDateTime(value: string): string {
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (Number.isNaN(ms)) throw new IntegrationError('salesforce', 'vendor_error', `unreadable SystemModstamp ${value}`);
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A SOQL string literal. */
export function soqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function afterWatermark(mark: Watermark | undefined): string {
  if (!mark) return '';
  const ts = soqlDateTime(mark.ts);
  return `(SystemModstamp > ${ts} OR (SystemModstamp = ${ts} AND Id > ${soqlString(mark.id)}))`;
}

function lastWatermark(
  records: readonly Record<string, unknown>[],
  previous: Watermark | undefined,
): Watermark | undefined {
  const last = records[records.length - 1];
  if (!last) return previous;
  if (typeof last.Id !== 'string' || typeof last.SystemModstamp !== 'string')
    throw new IntegrationError('salesforce', 'vendor_error', 'query result without Id or SystemModstamp');
  return { ts: last.SystemModstamp, id: last.Id };
}

export interface SalesforceConnector extends Connector {
  /** Current field values of records by id (the outbound-message flow fetches what changed). */
  fetch(object: string, ids: readonly string[]): Promise<VendorRecord[]>;
}

function objectName(object: string): string {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(object))
    throw new IntegrationError('salesforce', 'invalid_config', `"${object}" is not a Salesforce object API name`);
  return object;
}

export function createSalesforce(config: SalesforceConfig, context: ConnectorContext = {}): SalesforceConnector {
  const client = new SalesforceClient(config, context);
  const fieldsOf = (object: string): readonly string[] => {
    const fields = config.fields[object] ?? DEFAULT_FIELDS[object] ?? ['Id', 'SystemModstamp'];
    return [...new Set(['Id', ...fields, 'SystemModstamp'])];
  };
  const externalIdOf = (object: string) => config.externalIdFields[object] ?? DEFAULT_EXTERNAL_ID;

  async function continueOrRequery(next: string | undefined, soql: string, all: boolean): Promise<QueryResult> {
    if (next) {
      const more = await client.queryMore(next);
      if (more) return more;
    }
    return client.query(soql, { all, batchSize: config.batchSize });
  }

  async function pullDeletes(object: string, cursor: Cursor): Promise<PullPage> {
    const filter = afterWatermark(cursor.deletes);
    const soql = `SELECT Id, SystemModstamp FROM ${object} WHERE IsDeleted = true${filter ? ` AND ${filter}` : ''} ORDER BY SystemModstamp ASC, Id ASC`;
    const result = await continueOrRequery(cursor.next, soql, true);
    const deletes = lastWatermark(result.records, cursor.deletes);
    const next: Cursor = result.done
      ? { phase: 'records', records: cursor.records, deletes }
      : { phase: 'deletes', records: cursor.records, deletes, next: result.nextRecordsUrl };
    return {
      records: [],
      deletedIds: result.records.map((r) => String(r.Id)),
      cursor: JSON.stringify(next),
      done: result.done,
    };
  }

  async function upsertComposite(object: string, records: readonly VendorRecord[]): Promise<PushResult> {
    const externalId = externalIdOf(object);
    let upserted = 0;
    const failed: { key: string; reason: string }[] = [];
    for (let i = 0; i < records.length; i += COMPOSITE_LIMIT) {
      const chunk = records.slice(i, i + COMPOSITE_LIMIT);
      const results = await client.call<
        { id?: string; success: boolean; errors: { statusCode: string; message: string }[] }[]
      >({
        method: 'PATCH',
        path: `/composite/sobjects/${object}/${externalId}`,
        json: {
          allOrNone: false,
          records: chunk.map((record) => ({ attributes: { type: object }, ...writable(record) })),
        },
      });
      results.forEach((result, index) => {
        if (result.success) upserted++;
        else
          failed.push({
            key: String(chunk[index][externalId]),
            reason: result.errors.map((e) => `${e.statusCode}: ${e.message}`).join('; '),
          });
      });
    }
    return { upserted, failed };
  }

  async function upsertBulk(object: string, records: readonly VendorRecord[]): Promise<PushResult> {
    const externalId = externalIdOf(object);
    let upserted = 0;
    const failed: { key: string; reason: string }[] = [];
    for (let i = 0; i < records.length; i += BULK_JOB_ROWS) {
      const rows = records.slice(i, i + BULK_JOB_ROWS).map(writable);
      const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
      const { job, failed: rejected } = await client.bulkIngest(object, 'upsert', toCsv(columns, rows), externalId);
      upserted += (job.numberRecordsProcessed ?? rows.length) - (job.numberRecordsFailed ?? rejected.length);
      for (const row of rejected) failed.push({ key: row.row[externalId] ?? '', reason: row.error });
    }
    return { upserted, failed };
  }

  return {
    test: () =>
      checkConnection(async () => {
        const limits = await client.call<{ DailyApiRequests?: { Max: number; Remaining: number } }>({
          path: '/limits',
        });
        const daily = limits.DailyApiRequests;
        return daily ? `connected; ${daily.Remaining}/${daily.Max} daily API requests left` : 'connected';
      }),

    async pull(object, cursorText) {
      const name = objectName(object);
      const cursor = readCursor(cursorText);
      if (cursor.phase === 'deletes') return pullDeletes(name, cursor);
      const filter = afterWatermark(cursor.records);
      const soql = `SELECT ${fieldsOf(name).join(', ')} FROM ${name}${filter ? ` WHERE ${filter}` : ''} ORDER BY SystemModstamp ASC, Id ASC`;
      const result = await continueOrRequery(cursor.next, soql, false);
      const records = lastWatermark(result.records, cursor.records);
      if (!result.done) {
        return {
          records: result.records,
          deletedIds: [],
          cursor: JSON.stringify({ phase: 'records', records, deletes: cursor.deletes, next: result.nextRecordsUrl }),
          done: false,
        };
      }
      // Changes are read; deletes since the last delete watermark follow, in this call when they fit one batch.
      const deletes = await pullDeletes(name, { phase: 'deletes', records, deletes: cursor.deletes });
      return { records: result.records, deletedIds: deletes.deletedIds, cursor: deletes.cursor, done: deletes.done };
    },

    async push(object, records) {
      const name = objectName(object);
      if (records.length === 0) return { upserted: 0, failed: [] };
      const externalId = externalIdOf(name);
      const missing = records.filter(
        (record) => record[externalId] === undefined || record[externalId] === null || record[externalId] === '',
      );
      const valid = records.filter((record) => !missing.includes(record));
      const result =
        valid.length > config.bulkThreshold ? await upsertBulk(name, valid) : await upsertComposite(name, valid);
      return {
        upserted: result.upserted,
        failed: [
          ...missing.map(() => ({ key: '', reason: `missing external id field ${externalId}` })),
          ...result.failed,
        ],
      };
    },

    async delete(object, ids) {
      objectName(object);
      const failures: string[] = [];
      for (let i = 0; i < ids.length; i += COMPOSITE_LIMIT) {
        const chunk = ids.slice(i, i + COMPOSITE_LIMIT);
        const results = await client.call<
          { id: string; success: boolean; errors: { statusCode: string; message: string }[] }[]
        >({
          method: 'DELETE',
          path: '/composite/sobjects',
          query: { ids: chunk.join(','), allOrNone: 'false' },
        });
        for (const result of results) {
          // Already deleted is the state we want: deletes are idempotent.
          if (!result.success && !result.errors.every((e) => e.statusCode === 'ENTITY_IS_DELETED')) {
            failures.push(`${result.id}: ${result.errors.map((e) => `${e.statusCode} ${e.message}`).join('; ')}`);
          }
        }
      }
      if (failures.length)
        throw new IntegrationError(
          'salesforce',
          'vendor_error',
          `delete failed for ${failures.length} record(s): ${failures.slice(0, 5).join(' | ')}`,
        );
    },

    async erase(email) {
      if (!/^[^\s@]+@[^\s@]+$/.test(email))
        throw new IntegrationError('salesforce', 'invalid_config', `erase needs an email address, got "${email}"`);
      // Contacts and leads carry the subject's email. queryAll finds records in the Recycle Bin too,
      // every batch of them: live ones are hard-deleted (Bulk API hardDelete, needs the "Bulk API
      // Hard Delete" permission), recycled ones purged with emptyRecycleBin.
      for (const object of ['Contact', 'Lead']) {
        const found: { Id: string; IsDeleted: boolean }[] = [];
        let result = await client.query<{ Id: string; IsDeleted: boolean }>(
          `SELECT Id, IsDeleted FROM ${object} WHERE Email = ${soqlString(email)}`,
          { all: true },
        );
        found.push(...result.records);
        while (!result.done && result.nextRecordsUrl) {
          const more = await client.queryMore<{ Id: string; IsDeleted: boolean }>(result.nextRecordsUrl);
          if (!more)
            throw new IntegrationError(
              'salesforce',
              'unavailable',
              `query locator expired while looking up ${object} records to erase; erase again`,
            );
          result = more;
          found.push(...result.records);
        }
        const live = found.filter((r) => !r.IsDeleted).map((r) => r.Id);
        if (live.length) {
          const { failed } = await client.bulkIngest(
            object,
            'hardDelete',
            toCsv(
              ['Id'],
              live.map((Id) => ({ Id })),
            ),
          );
          if (failed.length)
            throw new IntegrationError(
              'salesforce',
              'vendor_error',
              `erasing ${object} ${failed.map((f) => f.row.Id).join(',')}: ${failed[0].error}`,
            );
        }
        const recycled = found.filter((r) => r.IsDeleted).map((r) => r.Id);
        const refused = recycled.length ? await client.emptyRecycleBin(recycled) : [];
        if (refused.length)
          throw new IntegrationError(
            'salesforce',
            'vendor_error',
            `purging ${object} ${refused.map((r) => r.id).join(',')} from the Recycle Bin: ${refused[0].reason}`,
          );
      }
    },

    async fetch(object, ids) {
      const name = objectName(object);
      const out: VendorRecord[] = [];
      for (let i = 0; i < ids.length; i += COMPOSITE_LIMIT) {
        const chunk = ids.slice(i, i + COMPOSITE_LIMIT);
        let result = await client.query(
          `SELECT ${fieldsOf(name).join(', ')} FROM ${name} WHERE Id IN (${chunk.map(soqlString).join(', ')})`,
        );
        out.push(...result.records);
        while (!result.done && result.nextRecordsUrl) {
          const more = await client.queryMore(result.nextRecordsUrl);
          if (!more)
            throw new IntegrationError('salesforce', 'unavailable', 'query locator expired while fetching records');
          result = more;
          out.push(...result.records);
        }
      }
      return out;
    },
  };
}

function writable(record: VendorRecord): VendorRecord {
  return Object.fromEntries(
    Object.entries(record).filter(
      ([field, value]) => !SYSTEM_FIELDS.has(field) && (value === null || typeof value !== 'object'),
    ),
  );
}

export const salesforce: ConnectorModule<SalesforceConfig> = {
  system: 'salesforce',
  family: 'crm',
  configSchema: salesforceConfigSchema,
  create: createSalesforce,
  verifyWebhook: verifyOutboundMessage,
};
