/**
 * HubSpot CRM v3 connector (fetch through VendorHttp; @hubspot/api-client is not installed and its
 * retry layer would double ours). A full sync lists objects with the `after` cursor; incremental
 * pulls use search on the last-modified property. Search sorts by one property only and gives no
 * order among equal values, so a page that ends inside a run of equal timestamps is finished by a
 * second search over that exact timestamp ordered by id. Archived (deleted) records are read from
 * the archived list after the changes.
 */
import { createHmac, timingSafeEqual } from 'crypto';
import { z } from 'zod';
import {
  IntegrationError,
  WebhookRejected,
  type Connector,
  type ConnectorContext,
  checkConnection,
  type ConnectorModule,
  type PullPage,
  type RateLimitObservation,
  type VendorRecord,
  type WebhookEvents,
  type WebhookRequest,
} from '../../connector';
import { TokenBucket } from '../../http/token-bucket';
import { VendorHttp, defaultRateLimit, strip } from '../../http/vendor-http';

const objectType = z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a HubSpot object type such as contacts');

export const hubspotConfigSchema = z
  .object({
    baseUrl: z.string().url().default('https://api.hubapi.com'),
    /** Private app access token (the catalog's HUBSPOT_API_KEY). */
    accessToken: z.string().min(1),
    /** The app's client secret, which signs webhooks (v3). */
    clientSecret: z.string().min(1),
    /** When set, webhook events from other portals are rejected. */
    portalId: z.number().int().positive().optional(),
    /** Records per list page (HubSpot allows 100) and per search page (200). */
    pageSize: z.number().int().min(1).max(100).default(100),
    searchPageSize: z.number().int().min(1).max(200).default(200),
    /** Properties pulled per object type (HubSpot returns a small default set otherwise). */
    properties: z.record(objectType, z.array(z.string().min(1)).min(1)).default({}),
    /**
     * Unique property each object type is upserted by: a property HubSpot enforces as unique (contacts'
     * email, or a custom property created with hasUniqueValue). Companies' domain is not unique.
     * @default email for contacts, external_id (a unique custom property) for every other type
     */
    idProperties: z.record(objectType, z.string().min(1)).default({}),
    /**
     * HubSpot's search index lags behind writes, so a change can become searchable after later ones
     * already were: every incremental pull also re-reads this window behind the watermark for ids it
     * has not emitted at that version (ids emitted inside the window are kept in the cursor).
     */
    searchLookbackMs: z
      .number()
      .int()
      .min(0)
      .default(10 * 60_000),
    /** Webhooks older than this are replays (HubSpot's guidance: 5 minutes). */
    maxWebhookAgeMs: z.number().int().positive().default(300_000),
  })
  .strict();

export type HubSpotConfig = z.infer<typeof hubspotConfigSchema>;

export const DEFAULT_PROPERTIES: Record<string, readonly string[]> = {
  contacts: ['email', 'firstname', 'lastname', 'phone', 'company', 'createdate', 'lastmodifieddate'],
  companies: ['name', 'domain', 'phone', 'industry', 'hs_createdate', 'hs_lastmodifieddate'],
  deals: ['dealname', 'amount', 'dealstage', 'pipeline', 'closedate', 'hs_createdate', 'hs_lastmodifieddate'],
  tickets: ['subject', 'content', 'hs_pipeline', 'hs_pipeline_stage', 'hs_createdate', 'hs_lastmodifieddate'],
};
const DEFAULT_ID_PROPERTY: Record<string, string> = { contacts: 'email' };
const BATCH_LIMIT = 100;

/** Contacts keep the legacy name of the last-modified property. */
export function lastModifiedProperty(type: string): string {
  return type === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
}

/** X-HubSpot-RateLimit-*: calls left in the rolling interval, and its length. */
export function hubspotRateLimit(headers: Headers, now: number): RateLimitObservation {
  const base = defaultRateLimit(headers, now);
  const num = (name: string) => {
    const value = headers.get(name);
    return value === null || value === '' || !Number.isFinite(Number(value)) ? undefined : Number(value);
  };
  const remaining = num('x-hubspot-ratelimit-remaining');
  const interval = num('x-hubspot-ratelimit-interval-milliseconds');
  return strip({
    ...base,
    remaining: remaining ?? base.remaining,
    limit: num('x-hubspot-ratelimit-max') ?? base.limit,
    resetMs: remaining === 0 && interval !== undefined ? interval : base.resetMs,
  });
}

/** HubSpot's 429 names the exhausted policy in the body instead of sending Retry-After. */
export function hubspotTooManyRequestsWait(body: unknown, rateLimit: RateLimitObservation): number | undefined {
  const policy = (body as { policyName?: string } | undefined)?.policyName;
  if (policy === 'DAILY') return Infinity;
  if (policy === 'SECONDLY') return 1000;
  if (policy === 'TEN_SECONDLY_ROLLING') return rateLimit.resetMs ?? 10_000;
  return undefined;
}

interface HsObject extends VendorRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived?: boolean;
  archivedAt?: string;
}
interface HsPage {
  results: HsObject[];
  paging?: { next?: { after: string } };
}

interface Cursor {
  readonly phase: 'list' | 'search' | 'late' | 'archived';
  /** Changes with a modification time after this (ms) remain to be read. */
  readonly since: number;
  /** A run of equal modification times being read by id. */
  readonly tie?: { readonly ts: number; readonly lastId: string };
  /** `after` of the list or archived list in progress. */
  readonly after?: string;
  /** Archived records after this time (ms) remain to be reported. */
  readonly deletesSince: number;
  readonly deletesMax?: number;
  /** Ids emitted with a modification time inside the look-back window, and that time (ms). */
  readonly recent?: Readonly<Record<string, number>>;
  /** The look-back read in progress: modification times in (lo, hi], by id after lastId. */
  readonly late?: { readonly lo: number; readonly hi: number; readonly lastId: string };
}

function readCursor(text: string): Cursor {
  try {
    const cursor = JSON.parse(text) as Cursor;
    if (['list', 'search', 'late', 'archived'].includes(cursor.phase) && typeof cursor.since === 'number')
      return cursor;
  } catch {
    // Falls through to the error below.
  }
  throw new IntegrationError('hubspot', 'invalid_config', `unreadable pull cursor: ${text.slice(0, 80)}`);
}

function toMs(value: string | undefined | null): number {
  const ms = value ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new IntegrationError('hubspot', 'vendor_error', `unreadable timestamp ${value}`);
  return ms;
}

function typeName(type: string): string {
  if (!/^[a-z][a-z0-9_]*$/.test(type))
    throw new IntegrationError('hubspot', 'invalid_config', `"${type}" is not a HubSpot object type`);
  return type;
}

export function createHubSpot(config: HubSpotConfig, context: ConnectorContext = {}): Connector {
  // Private apps get 100–190 calls per rolling 10 s depending on the tier; search has its own 5/s.
  const bucket = new TokenBucket({ capacity: 100, refillPerSecond: 10, sleep: context.sleep });
  const searchBucket = new TokenBucket({ capacity: 4, refillPerSecond: 4, sleep: context.sleep });
  const http = new VendorHttp({
    integration: 'hubspot',
    baseUrl: config.baseUrl,
    context,
    bucket,
    auth: () => ({ authorization: `Bearer ${config.accessToken}` }),
    parseRateLimit: hubspotRateLimit,
    tooManyRequestsWaitMs: hubspotTooManyRequestsWait,
  });
  const propertiesOf = (type: string) => [
    ...new Set([...(config.properties[type] ?? DEFAULT_PROPERTIES[type] ?? []), lastModifiedProperty(type)]),
  ];
  const idPropertyOf = (type: string) => config.idProperties[type] ?? DEFAULT_ID_PROPERTY[type] ?? 'external_id';

  /** `recent` with `records` added, keeping only what is inside the look-back window behind `since`. */
  function remember(
    recent: Readonly<Record<string, number>> | undefined,
    records: readonly HsObject[],
    since: number,
  ): Record<string, number> {
    const floor = since - config.searchLookbackMs;
    const next: Record<string, number> = {};
    for (const [id, ms] of Object.entries(recent ?? {})) if (ms > floor) next[id] = ms;
    for (const r of records) {
      const ms = toMs(r.updatedAt);
      if (ms > floor) next[r.id] = ms;
    }
    return next;
  }

  /**
   * One page of the look-back read: records modified in (lo, hi] that search shows only now (indexed
   * late), by id so the order is stable; those already emitted at that version are skipped. Goes on
   * to the archived list when it is the last page.
   */
  async function latePage(type: string, cursor: Cursor, emitted: HsObject[]): Promise<PullPage> {
    const late = cursor.late!;
    const lastModified = lastModifiedProperty(type);
    const page = await search(type, {
      filterGroups: [
        {
          filters: [
            { propertyName: lastModified, operator: 'GT', value: String(late.lo) },
            { propertyName: lastModified, operator: 'LTE', value: String(late.hi) },
            { propertyName: 'hs_object_id', operator: 'GT', value: late.lastId },
          ],
        },
      ],
      sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
    });
    const seen = { ...(cursor.recent ?? {}) };
    for (const r of emitted) seen[r.id] = toMs(r.updatedAt);
    const fresh = page.results.filter((r) => seen[r.id] !== toMs(r.updatedAt));
    const records = [...emitted, ...fresh];
    const recent = remember(cursor.recent, records, cursor.since);
    if (page.paging?.next && page.results.length) {
      const next: Cursor = { ...cursor, recent, late: { ...late, lastId: page.results[page.results.length - 1].id } };
      return { records, deletedIds: [], cursor: JSON.stringify(next), done: false };
    }
    return archivedPage(
      type,
      { phase: 'archived', since: cursor.since, deletesSince: cursor.deletesSince, recent },
      records,
    );
  }

  async function search(type: string, body: Record<string, unknown>): Promise<HsPage> {
    await searchBucket.acquire();
    return http.json<HsPage>({
      method: 'POST',
      path: `/crm/v3/objects/${type}/search`,
      json: { ...body, properties: propertiesOf(type), limit: config.searchPageSize },
    });
  }

  /** One page of archived records newer than the delete watermark; finishes the pull when it is the last. */
  async function archivedPage(type: string, cursor: Cursor, records: HsObject[]): Promise<PullPage> {
    const page = await http.json<HsPage>({
      path: `/crm/v3/objects/${type}`,
      query: { archived: 'true', limit: config.pageSize, after: cursor.after, properties: 'hs_object_id' },
    });
    const fresh = page.results.filter((r) => toMs(r.archivedAt ?? r.updatedAt) > cursor.deletesSince);
    const deletesMax = Math.max(
      cursor.deletesMax ?? cursor.deletesSince,
      ...fresh.map((r) => toMs(r.archivedAt ?? r.updatedAt)),
    );
    const next = page.paging?.next?.after;
    const nextCursor: Cursor = next
      ? {
          phase: 'archived',
          since: cursor.since,
          after: next,
          deletesSince: cursor.deletesSince,
          deletesMax,
          recent: cursor.recent,
        }
      : { phase: 'search', since: cursor.since, deletesSince: deletesMax, recent: cursor.recent };
    return { records, deletedIds: fresh.map((r) => r.id), cursor: JSON.stringify(nextCursor), done: !next };
  }

  return {
    test: () =>
      checkConnection(async () => {
        await http.request({ path: '/crm/v3/objects/contacts', query: { limit: 1 } });
        return 'connected';
      }),

    async pull(object, cursorText) {
      const type = typeName(object);
      const lastModified = lastModifiedProperty(type);
      if (cursorText === null || readCursor(cursorText).phase === 'list') {
        const previous = cursorText === null ? undefined : readCursor(cursorText);
        const response = await http.request<HsPage>({
          path: `/crm/v3/objects/${type}`,
          query: { limit: config.pageSize, after: previous?.after, properties: propertiesOf(type).join(',') },
        });
        // Changes made while the full list runs are caught by the first search: it starts from the
        // vendor's clock at the first page, a second early because the Date header has whole seconds.
        const startedAt = previous?.since ?? (Date.parse(response.headers.get('date') ?? '') || Date.now()) - 1000;
        const next = response.body.paging?.next?.after;
        // What the list emits inside the look-back window must not come back from the first look-back read.
        const recent = remember(previous?.recent, response.body.results, startedAt);
        if (next)
          return {
            records: response.body.results,
            deletedIds: [],
            cursor: JSON.stringify({ phase: 'list', since: startedAt, after: next, deletesSince: startedAt, recent }),
            done: false,
          };
        return archivedPage(
          type,
          { phase: 'archived', since: startedAt, deletesSince: previous?.deletesSince ?? startedAt, recent },
          response.body.results,
        );
      }
      const cursor = readCursor(cursorText);
      if (cursor.phase === 'archived') return archivedPage(type, cursor, []);
      if (cursor.phase === 'late') return latePage(type, cursor, []);

      if (cursor.tie) {
        const page = await search(type, {
          filterGroups: [
            {
              filters: [
                { propertyName: lastModified, operator: 'EQ', value: String(cursor.tie.ts) },
                { propertyName: 'hs_object_id', operator: 'GT', value: cursor.tie.lastId },
              ],
            },
          ],
          sorts: [{ propertyName: 'hs_object_id', direction: 'ASCENDING' }],
        });
        const recent = remember(cursor.recent, page.results, cursor.tie.ts);
        const next: Cursor = page.paging?.next
          ? { ...cursor, recent, tie: { ts: cursor.tie.ts, lastId: page.results[page.results.length - 1].id } }
          : { phase: 'search', since: cursor.tie.ts, deletesSince: cursor.deletesSince, recent };
        return { records: page.results, deletedIds: [], cursor: JSON.stringify(next), done: false };
      }

      const page = await search(type, {
        filterGroups: [{ filters: [{ propertyName: lastModified, operator: 'GT', value: String(cursor.since) }] }],
        sorts: [{ propertyName: lastModified, direction: 'ASCENDING' }],
      });
      if (page.paging?.next) {
        // More follow: the last timestamp of this page may continue on the next one in any order,
        // so records at that timestamp are read by id instead.
        const boundary = toMs(page.results[page.results.length - 1].updatedAt);
        const before = page.results.filter((r) => toMs(r.updatedAt) < boundary);
        return {
          records: before,
          deletedIds: [],
          cursor: JSON.stringify({
            ...cursor,
            recent: remember(cursor.recent, before, boundary),
            tie: { ts: boundary, lastId: '0' },
          }),
          done: false,
        };
      }
      const since = Math.max(cursor.since, ...page.results.map((r) => toMs(r.updatedAt)));
      // Already emitted at this version: read by the full list after its change.
      const unseen = page.results.filter((r) => cursor.recent?.[r.id] !== toMs(r.updatedAt));
      // Changes are read up to `since`; what search indexed late behind it follows.
      return latePage(
        type,
        {
          phase: 'late',
          since,
          deletesSince: cursor.deletesSince,
          recent: cursor.recent,
          late: { lo: since - config.searchLookbackMs, hi: since, lastId: '0' },
        },
        unseen,
      );
    },

    async push(object, records) {
      const type = typeName(object);
      const idProperty = idPropertyOf(type);
      let upserted = 0;
      const failed: { key: string; reason: string }[] = [];
      const inputs = records.flatMap((record) => {
        const properties = (
          record.properties && typeof record.properties === 'object' ? record.properties : record
        ) as Record<string, unknown>;
        const key = properties[idProperty];
        if (key === undefined || key === null || key === '') {
          failed.push({ key: '', reason: `missing id property ${idProperty}` });
          return [];
        }
        const writable = Object.fromEntries(
          Object.entries(properties).filter(
            ([name, value]) =>
              !['hs_object_id', 'createdate', 'lastmodifieddate', 'hs_createdate', 'hs_lastmodifieddate'].includes(
                name,
              ) && value !== undefined,
          ),
        );
        return [
          {
            idProperty,
            id: String(key),
            properties: Object.fromEntries(Object.entries(writable).map(([k, v]) => [k, v === null ? '' : String(v)])),
          },
        ];
      });
      for (let i = 0; i < inputs.length; i += BATCH_LIMIT) {
        const chunk = inputs.slice(i, i + BATCH_LIMIT);
        const response = await http.request<{
          results?: unknown[];
          errors?: { message: string; context?: Record<string, string[]> }[];
        }>({
          method: 'POST',
          path: `/crm/v3/objects/${type}/batch/upsert`,
          json: { inputs: chunk },
          accept: [207],
        });
        upserted += response.body.results?.length ?? 0;
        for (const error of response.body.errors ?? []) {
          const keys = error.context?.id ?? error.context?.ids ?? [''];
          for (const key of keys) failed.push({ key, reason: error.message });
        }
      }
      return { upserted, failed };
    },

    async delete(object, ids) {
      const type = typeName(object);
      for (let i = 0; i < ids.length; i += BATCH_LIMIT) {
        await http.request({
          method: 'POST',
          path: `/crm/v3/objects/${type}/batch/archive`,
          json: { inputs: ids.slice(i, i + BATCH_LIMIT).map((id) => ({ id })) },
        });
      }
    },

    async erase(email) {
      if (!/^[^\s@]+@[^\s@]+$/.test(email))
        throw new IntegrationError('hubspot', 'invalid_config', `erase needs an email address, got "${email}"`);
      // 404: no such contact, which is the state erasure asks for.
      await http.request({
        method: 'POST',
        path: '/crm/v3/objects/contacts/gdpr-delete',
        json: { objectId: email, idProperty: 'email' },
        accept: [404],
      });
    },
  };
}

function header(request: WebhookRequest, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(request.headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** HubSpot signs the URI with these characters decoded. */
const DECODED: Record<string, string> = {
  '%3A': ':',
  '%2F': '/',
  '%3F': '?',
  '%40': '@',
  '%21': '!',
  '%24': '$',
  '%27': "'",
  '%28': '(',
  '%29': ')',
  '%2A': '*',
  '%2C': ',',
  '%3B': ';',
};

export function signatureV3(
  clientSecret: string,
  method: string,
  url: string,
  body: string,
  timestamp: string,
): string {
  const uri = url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => DECODED[m.toUpperCase()]);
  return createHmac('sha256', clientSecret)
    .update(`${method.toUpperCase()}${uri}${body}${timestamp}`, 'utf8')
    .digest('base64');
}

export function verifyHubSpotWebhook(config: HubSpotConfig, request: WebhookRequest): WebhookEvents {
  const signature = header(request, 'x-hubspot-signature-v3');
  const timestamp = header(request, 'x-hubspot-request-timestamp');
  if (!signature || !timestamp)
    throw new WebhookRejected('missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp');
  const sentAt = Number(timestamp);
  if (!Number.isFinite(sentAt)) throw new WebhookRejected('X-HubSpot-Request-Timestamp is not a number');
  if (Math.abs(request.now - sentAt) > config.maxWebhookAgeMs)
    throw new WebhookRejected(
      `request timestamp outside the ${config.maxWebhookAgeMs / 1000} s window (replayed or clock skew)`,
    );
  const expected = Buffer.from(
    signatureV3(config.clientSecret, request.method, request.url, request.rawBody.toString('utf8'), timestamp),
  );
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    throw new WebhookRejected('signature mismatch');
  let events: unknown;
  try {
    events = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected('body is not JSON', 400);
  }
  if (!Array.isArray(events)) throw new WebhookRejected('body is not an array of events', 400);
  return {
    events: events.map((event: Record<string, unknown>) => {
      if (typeof event?.eventId !== 'number' && typeof event?.eventId !== 'string')
        throw new WebhookRejected('event without eventId', 400);
      if (config.portalId !== undefined && event.portalId !== config.portalId)
        throw new WebhookRejected(`event from portal ${event.portalId}`, 403);
      const type = String(event.subscriptionType ?? 'unknown');
      const objectName = type.split('.')[0];
      return {
        id: `hubspot:${event.portalId}:${event.eventId}`,
        type,
        object: objectName === 'company' ? 'companies' : `${objectName}s`,
        recordId: event.objectId === undefined ? undefined : String(event.objectId),
        payload: event,
      };
    }),
  };
}

export const hubspot: ConnectorModule<HubSpotConfig> = {
  system: 'hubspot',
  family: 'crm',
  configSchema: hubspotConfigSchema,
  create: createHubSpot,
  verifyWebhook: verifyHubSpotWebhook,
};
