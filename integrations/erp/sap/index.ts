/**
 * SAP S/4HANA connector over the Business Partner OData V2 API (`API_BUSINESS_PARTNER`). Objects are
 * business partners of one category: `persons` (1) and `organizations` (2), each read with its
 * addresses' email addresses and phone numbers expanded. Pulls are keyset pages ordered by last change
 * date, time and number, so a partner edited mid-run moves behind the cursor instead of shifting a
 * `$skip`; business partners cannot be deleted (`sap:deletable="false"`), so the archiving flag
 * `IsMarkedForArchiving` is SAP's delete, reported in `deletedIds`. Writes fetch a CSRF token first
 * and update with `If-Match`; a new partner is one deep insert with its address and email. A push
 * sends its writes in `$batch` requests, one change set per record, so one refused record fails alone.
 */
import { timingSafeEqual } from 'crypto';
import {
  IntegrationError,
  checkConnection,
  WebhookRejected,
  type Connector,
  type ConnectorContext,
  type ConnectorModule,
  type VendorRecord,
  type WebhookEvents,
  type WebhookRequest,
} from '../../connector';
import { VendorHttp, type VendorRequest, type VendorResponse } from '../../http/vendor-http';
import { LOOK_BACK_MS, remember, unseen, type Versions } from '../../look-back';
import { ClientCredentials } from '../shared/client-credentials';
import { buildBatch, parseBatchResponse, type BatchRequest } from '../shared/odata-batch';
import { sapConfigSchema, type SapConfig } from './config';

export { sapConfigSchema, type SapConfig } from './config';

const CATEGORY: Record<string, string> = { persons: '1', organizations: '2' };
const EXPAND = 'to_BusinessPartnerAddress/to_EmailAddress,to_BusinessPartnerAddress/to_PhoneNumber';
/** Fields SAP sets itself or that a push must not change. */
const NOT_UPDATED = new Set([
  'id',
  'BusinessPartner',
  'BusinessPartnerCategory',
  'BusinessPartnerFullName',
  'PersonNumber',
  'BusinessPartnerUUID',
  'CreationDate',
  'CreationTime',
  'LastChangeDate',
  'LastChangeTime',
  'LastChangedByUser',
  'Customer',
  'Supplier',
]);

type Row = Record<string, unknown> & { __metadata?: { etag?: string } };

interface Position {
  /** LastChangeDate (epoch ms, midnight), LastChangeTime (seconds of the day) and number of a record read. */
  readonly date: number;
  readonly time: number;
  readonly id: string;
}

interface Cursor extends Position {
  /** Versions emitted inside the look-back window behind this position (absent in cursors written before it). */
  readonly recent?: Versions;
  /** Where the run in progress continues: its keyset position, behind the newest while it re-reads the window. */
  readonly scan?: Position;
}

const isPosition = (value: Partial<Position> | undefined): value is Position =>
  typeof value?.date === 'number' && typeof value.time === 'number' && typeof value.id === 'string';

function readCursor(text: string | null): Cursor | null {
  // An empty cursor is what a full pull of an empty category leaves.
  if (text === null || text === '') return null;
  try {
    const cursor = JSON.parse(text) as Cursor;
    if (isPosition(cursor) && (cursor.scan === undefined || isPosition(cursor.scan))) return cursor;
  } catch {
    // Falls through to the error below.
  }
  throw new IntegrationError('sap', 'invalid_config', `unreadable pull cursor: ${text.slice(0, 80)}`);
}

const DAY_MS = 86_400_000;
const positionMs = (at: Position) => at.date + at.time * 1000;
const positionOf = (row: Row): Position => ({
  date: odataDate(row.LastChangeDate) ?? 0,
  time: odataTime(row.LastChangeTime) ?? 0,
  id: String(row.BusinessPartner),
});
const versionOf = (row: Row) => ({ id: String(row.BusinessPartner), ms: positionMs(positionOf(row)) });

/** The later of two keyset positions. */
function later(a: Position, b: Position | undefined): Position {
  if (!b) return a;
  const [ma, mb] = [positionMs(a), positionMs(b)];
  return mb > ma || (mb === ma && b.id > a.id) ? b : { date: a.date, time: a.time, id: a.id };
}

/**
 * Where a page starts: after the run's keyset position; a new run of a cursor that remembers versions
 * starts the look-back window behind its newest change (cursors written before the window resume after
 * it, and gain the window on this advance).
 */
function pageStart(cursor: Cursor): string {
  if (cursor.scan) return after(cursor.scan);
  if (!cursor.recent) return after(cursor);
  const from = positionMs(cursor) - LOOK_BACK_MS;
  const d = literalDate(Math.floor(from / DAY_MS) * DAY_MS);
  const t = literalTime(Math.floor((from % DAY_MS) / 1000));
  return `(LastChangeDate gt ${d} or (LastChangeDate eq ${d} and LastChangeTime ge ${t}))`;
}

function category(object: string): string {
  const value = CATEGORY[object];
  if (!value)
    throw new IntegrationError(
      'sap',
      'invalid_config',
      `unknown SAP object "${object}" (known: ${Object.keys(CATEGORY).join(', ')})`,
    );
  return value;
}

/** `/Date(1736064000000)/` -> epoch ms. */
export function odataDate(value: unknown): number | undefined {
  const match = /^\/Date\((-?\d+)(?:[+-]\d+)?\)\/$/.exec(String(value ?? ''));
  return match ? Number(match[1]) : undefined;
}

/** `PT08H30M05S` -> seconds of the day. */
export function odataTime(value: unknown): number | undefined {
  const match = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.\d+)?S)?$/.exec(String(value ?? ''));
  return match ? Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0) : undefined;
}

const literalDate = (ms: number) => `datetime'${new Date(ms).toISOString().slice(0, 19)}'`;
const literalTime = (s: number) =>
  `time'PT${String(Math.floor(s / 3600)).padStart(2, '0')}H${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}M${String(s % 60).padStart(2, '0')}S'`;
const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** Records strictly after the cursor in (LastChangeDate, LastChangeTime, BusinessPartner) order. */
function after(cursor: Cursor): string {
  const d = literalDate(cursor.date);
  const t = literalTime(cursor.time);
  return `(LastChangeDate gt ${d} or (LastChangeDate eq ${d} and (LastChangeTime gt ${t} or (LastChangeTime eq ${t} and BusinessPartner gt ${quote(cursor.id)}))))`;
}

const results = (value: unknown): Row[] => ((value as { results?: Row[] } | undefined)?.results ?? []) as Row[];

/** The first email address of a business partner record (read or push shape). */
export function sapEmail(record: VendorRecord): string | undefined {
  for (const address of results(record.to_BusinessPartnerAddress)) {
    for (const email of results(address.to_EmailAddress))
      if (typeof email.EmailAddress === 'string' && email.EmailAddress) return email.EmailAddress.toLowerCase();
  }
  return undefined;
}

/**
 * A pulled business partner with its number as `id` and ISO timestamps the mappings can read:
 * `LastChangeDateTime` and `CreationDateTime` join SAP's separate date and time fields (taken as UTC).
 */
function normalize(row: Row): VendorRecord {
  const { __metadata: _meta, ...record } = row;
  const stamp = (date: unknown, time: unknown) => {
    const ms = odataDate(date);
    return ms === undefined ? undefined : new Date(ms + (odataTime(time) ?? 0) * 1000).toISOString();
  };
  // `id` keys the raw replica (synced_records), as every connector's records do.
  return {
    id: String(row.BusinessPartner),
    ...record,
    LastChangeDateTime: stamp(row.LastChangeDate, row.LastChangeTime),
    CreationDateTime: stamp(row.CreationDate, row.CreationTime),
  };
}

function sapMessage(body: unknown): string | undefined {
  const error = (body as { error?: { code?: string; message?: { value?: string } | string } } | undefined)?.error;
  if (error)
    return `${error.code ?? 'error'}: ${typeof error.message === 'string' ? error.message : (error.message?.value ?? '')}`;
  return typeof body === 'string' && body ? body.slice(0, 200) : undefined;
}

export function createSap(config: SapConfig, context: ConnectorContext = {}): Connector {
  const credentials =
    config.auth.type === 'oauth'
      ? new ClientCredentials({
          integration: 'sap',
          tokenUrl: config.auth.tokenUrl,
          clientId: config.auth.clientId,
          clientSecret: config.auth.clientSecret,
          context,
        })
      : undefined;
  const basic =
    config.auth.type === 'basic'
      ? `Basic ${Buffer.from(`${config.auth.username}:${config.auth.password}`).toString('base64')}`
      : undefined;
  const service = config.baseUrl.replace(/\/+$/, '') + config.servicePath;
  const http = new VendorHttp({
    integration: 'sap',
    baseUrl: service,
    context,
    auth: async () => ({ authorization: basic ?? `Bearer ${await credentials!.accessToken()}` }),
    onUnauthorized: async () => {
      if (!credentials) return false;
      credentials.invalidate();
      return true;
    },
    errorMessage: sapMessage,
  });
  // The CSRF token and the session cookie it belongs to, fetched before the first write.
  let session: { token: string; cookie: string } | undefined;

  async function fetchSession(): Promise<{ token: string; cookie: string }> {
    const response = await http.request({ path: '/', headers: { 'x-csrf-token': 'Fetch' } });
    const token = response.headers.get('x-csrf-token');
    if (!token) throw new IntegrationError('sap', 'vendor_error', 'the service answered without an x-csrf-token');
    const cookie = response.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    return (session = { token, cookie });
  }

  /** A modifying call with the CSRF token; an expired token (403 `x-csrf-token: Required`) is fetched again once. */
  async function modify(request: VendorRequest): Promise<VendorResponse<unknown>> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const current = session ?? (await fetchSession());
      const response = await http.request({
        ...request,
        headers: { ...request.headers, 'x-csrf-token': current.token, cookie: current.cookie },
        accept: [403, ...(request.accept ?? [])],
      });
      if (response.status !== 403) return response;
      if (response.headers.get('x-csrf-token')?.toLowerCase() !== 'required')
        throw new IntegrationError(
          'sap',
          'auth',
          `${request.method} ${request.path} -> 403: ${sapMessage(response.body) ?? 'forbidden'}`,
          403,
        );
      session = undefined;
    }
    throw new IntegrationError(
      'sap',
      'vendor_error',
      `${request.method} ${request.path}: the CSRF token was refused twice`,
    );
  }

  /** Live business partners holding `email` (through their address's email records), with their ETags. */
  async function findByEmail(email: string): Promise<Row[]> {
    const emails = await http.json<{ d: { results: Row[] } }>({
      path: '/A_AddressEmailAddress',
      query: { $filter: `EmailAddress eq ${quote(email)}`, $select: 'AddressID,Person', $format: 'json' },
    });
    const found = new Map<string, Row>();
    for (const { AddressID } of emails.d.results) {
      const addresses = await http.json<{ d: { results: Row[] } }>({
        path: '/A_BusinessPartnerAddress',
        query: {
          $filter: `AddressID eq ${quote(String(AddressID))}`,
          $select: 'BusinessPartner,AddressID',
          $format: 'json',
        },
      });
      for (const { BusinessPartner } of addresses.d.results) {
        const id = String(BusinessPartner);
        if (found.has(id)) continue;
        const bp = await http.request<{ d: Row }>({
          path: `/A_BusinessPartner(${quote(id)})`,
          query: { $select: 'BusinessPartner,IsMarkedForArchiving', $format: 'json' },
          accept: [404],
        });
        if (bp.status === 404 || bp.body.d.IsMarkedForArchiving) continue;
        found.set(id, { ...bp.body.d, etag: bp.headers.get('etag') ?? bp.body.d.__metadata?.etag, AddressID });
      }
    }
    return [...found.values()];
  }

  async function partner(id: string): Promise<{ etag?: string } | undefined> {
    const response = await http.request<{ d: Row }>({
      path: `/A_BusinessPartner(${quote(id)})`,
      query: { $select: 'BusinessPartner', $format: 'json' },
      accept: [404],
    });
    if (response.status === 404) return undefined;
    return { etag: response.headers.get('etag') ?? response.body.d.__metadata?.etag };
  }

  const ifMatch = (etag: string | undefined): Record<string, string> => (etag ? { 'if-match': etag } : {});

  return {
    test: () =>
      checkConnection(async () => {
        await http.request({
          path: '/A_BusinessPartner',
          query: { $top: 1, $select: 'BusinessPartner', $format: 'json' },
        });
        return `Business Partner API at ${config.baseUrl} readable`;
      }),

    async pull(object, cursorText) {
      const filter = [`BusinessPartnerCategory eq '${category(object)}'`];
      const cursor = readCursor(cursorText);
      if (cursor) filter.push(pageStart(cursor));
      const body = await http.json<{ d: { results: Row[]; __next?: string } }>({
        path: '/A_BusinessPartner',
        query: {
          $filter: filter.join(' and '),
          $orderby: 'LastChangeDate,LastChangeTime,BusinessPartner',
          $top: config.pageSize,
          $expand: EXPAND,
          $format: 'json',
        },
      });
      const rows = body.d.results;
      const last = rows[rows.length - 1];
      const read = last ? positionOf(last) : undefined;
      const newest = cursor ? later(cursor, read) : read;
      // The window re-read skips the versions emitted already (archivals included); a change exposed late shows a new one.
      const emitted = unseen(rows, cursor?.recent, versionOf);
      const recent = newest ? remember(cursor?.recent, emitted, versionOf, positionMs(newest)) : undefined;
      // A short page ends the run; a server that pages below `$top` says so with __next.
      const done = rows.length < config.pageSize && !body.d.__next;
      const next: Cursor | undefined =
        newest && (done ? { ...newest, recent } : { ...newest, recent, scan: read ?? cursor?.scan });
      // Archived partners are SAP's deletes; every other row is a change.
      const records = emitted.filter((r) => !r.IsMarkedForArchiving).map(normalize);
      const deletedIds = emitted.filter((r) => r.IsMarkedForArchiving).map((r) => String(r.BusinessPartner));
      return { records, deletedIds, cursor: next ? JSON.stringify(next) : '', done };
    },

    async push(object, records) {
      const kind = category(object);
      const failed: { key: string; reason: string }[] = [];
      const writes: { key: string; request: BatchRequest }[] = [];
      for (const record of records) {
        const email = sapEmail(record);
        if (!email) {
          failed.push({
            key: '',
            reason:
              'missing email address (to_BusinessPartnerAddress.results.0.to_EmailAddress.results.0.EmailAddress)',
          });
          continue;
        }
        let existing: Row | undefined;
        try {
          [existing] = await findByEmail(email);
        } catch (error) {
          if (!(error instanceof IntegrationError && error.kind === 'vendor_error')) throw error;
          failed.push({ key: email, reason: error.message });
          continue;
        }
        if (existing) {
          const fields = Object.fromEntries(
            Object.entries(record).filter(([k, v]) => !NOT_UPDATED.has(k) && !k.startsWith('to_') && v !== undefined),
          );
          writes.push({
            key: email,
            request: {
              method: 'PATCH',
              path: `A_BusinessPartner(${quote(String(existing.BusinessPartner))})`,
              json: fields,
              headers: ifMatch(existing.etag as string | undefined),
            },
          });
        } else {
          const addresses = results(record.to_BusinessPartnerAddress).map((a) => ({
            Country: config.defaultCountry,
            ...a,
          }));
          writes.push({
            key: email,
            request: {
              method: 'POST',
              path: 'A_BusinessPartner',
              json: { BusinessPartnerCategory: kind, ...record, to_BusinessPartnerAddress: { results: addresses } },
            },
          });
        }
      }
      let upserted = 0;
      for (let i = 0; i < writes.length; i += config.batchSize) {
        const chunk = writes.slice(i, i + config.batchSize);
        const batch = buildBatch(chunk.map((w) => [w.request]));
        const response = await modify({
          method: 'POST',
          path: '/$batch',
          body: batch.body,
          headers: { 'content-type': batch.contentType, accept: 'multipart/mixed' },
          // A deep insert is not idempotent: a batch holding one is not resent blindly.
          retry: chunk.every((w) => w.request.method !== 'POST'),
        });
        const answers = parseBatchResponse(response.headers.get('content-type') ?? '', String(response.body ?? ''));
        if (answers.length !== chunk.length)
          throw new IntegrationError(
            'sap',
            'vendor_error',
            `$batch answered ${answers.length} change sets for ${chunk.length} sent`,
          );
        answers.forEach(([answer], index) => {
          if (answer && answer.status < 300) upserted++;
          else if (answer?.status === 401 || answer?.status === 403)
            throw new IntegrationError('sap', 'auth', `$batch change set -> ${answer.status}`, answer.status);
          else
            failed.push({
              key: chunk[index].key,
              reason: `${chunk[index].request.method} ${chunk[index].request.path} -> ${answer?.status ?? '?'}: ${sapMessage(answer?.body) ?? 'refused'}`,
            });
        });
      }
      return { upserted, failed };
    },

    async delete(object, ids) {
      category(object);
      for (const id of ids) {
        const found = await partner(id);
        // Gone already: the state asked for.
        if (!found) continue;
        await modify({
          method: 'PATCH',
          path: `/A_BusinessPartner(${quote(id)})`,
          json: { IsMarkedForArchiving: true },
          headers: ifMatch(found.etag),
        });
      }
    },

    async erase(email) {
      if (!/^[^\s@]+@[^\s@]+$/.test(email))
        throw new IntegrationError('sap', 'invalid_config', `erase needs an email address, got "${email}"`);
      const ids: string[] = [];
      for (const bp of await findByEmail(email.toLowerCase())) {
        const id = String(bp.BusinessPartner);
        // The email record itself can be deleted; the partner keeps no name and is flagged for archiving.
        const emails = await http.json<{ d: { results: Row[] } }>({
          path: '/A_AddressEmailAddress',
          query: { $filter: `AddressID eq ${quote(String(bp.AddressID))}`, $format: 'json' },
        });
        for (const row of emails.d.results) {
          const key = `AddressID=${quote(String(row.AddressID))},Person=${quote(String(row.Person))},OrdinalNumber=${quote(String(row.OrdinalNumber))}`;
          await modify({ method: 'DELETE', path: `/A_AddressEmailAddress(${key})`, accept: [404] });
        }
        await modify({
          method: 'PATCH',
          path: `/A_BusinessPartner(${quote(id)})`,
          json: { FirstName: '', LastName: '', IsMarkedForArchiving: true },
          headers: ifMatch((await partner(id))?.etag),
        });
        ids.push(id);
      }
      return {
        permanent: false,
        ids,
        reason:
          'S/4HANA business partners cannot be deleted through the API: the email was deleted and the names blanked, and the partner is marked for archiving, which the archiving run (SAP ILM, object CA_BUPA) destroys after its residence period',
      };
    },
  };
}

function header(request: WebhookRequest, name: string): string | undefined {
  for (const [key, value] of Object.entries(request.headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/**
 * An SAP Event Mesh push delivery: a CloudEvent (structured JSON) of a business partner event, with the
 * Basic credentials of the webhook subscription; the event id is the dedupe key (Event Mesh redelivers).
 */
export function verifySapWebhook(config: SapConfig, request: WebhookRequest): WebhookEvents {
  if (!config.webhook) throw new WebhookRejected('no SAP Event Mesh webhook is configured for this integration', 404);
  if (request.method.toUpperCase() !== 'POST')
    throw new WebhookRejected(`webhooks are POSTed, got ${request.method}`, 405);
  const expected = Buffer.from(
    `Basic ${Buffer.from(`${config.webhook.username}:${config.webhook.password}`).toString('base64')}`,
  );
  const given = Buffer.from(header(request, 'authorization') ?? '');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new WebhookRejected('missing or wrong Basic credentials');
  let event: { id?: unknown; type?: unknown; source?: unknown; data?: { BusinessPartner?: unknown } };
  try {
    event = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected('body is not JSON', 400);
  }
  if (!event || typeof event.id !== 'string' || typeof event.type !== 'string')
    throw new WebhookRejected('not a CloudEvent (id and type are required)', 400);
  if (event.source !== config.webhook.source)
    throw new WebhookRejected(`event from source ${String(event.source)}`, 403);
  const recordId = event.data?.BusinessPartner === undefined ? undefined : String(event.data.BusinessPartner);
  return { events: [{ id: `sap:${event.source}:${event.id}`, type: event.type, recordId, payload: event }] };
}

export const sap: ConnectorModule<SapConfig> = {
  system: 'sap',
  family: 'erp',
  configSchema: sapConfigSchema,
  create: createSap,
  verifyWebhook: verifySapWebhook,
};
