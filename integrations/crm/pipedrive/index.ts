/**
 * Pipedrive connector over API v2 (fetch through VendorHttp; the official SDK adds nothing we use).
 * Pulls list items sorted by update_time from an inclusive `updated_since` watermark with
 * Pipedrive's `cursor`; the ids already read at the watermark second are skipped next time, so the
 * boundary is neither lost nor repeated. v2 has no batch upsert, so push finds each item by its key
 * (exact search) and updates or creates it. Webhooks carry HTTP Basic credentials, not signatures.
 */
import { LOOK_BACK_MS, remember, type Versions } from '../../look-back';
import { timingSafeEqual } from 'crypto';
import { z } from 'zod';
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
import { TokenBucket } from '../../http/token-bucket';
import { VendorHttp } from '../../http/vendor-http';

export const pipedriveConfigSchema = z
  .object({
    baseUrl: z.string().url().default('https://api.pipedrive.com'),
    /** Personal API token (the catalog's PIPEDRIVE_API_TOKEN). */
    apiToken: z.string().min(1),
    pageSize: z.number().int().min(1).max(500).default(500),
    /** The company whose webhooks are accepted. */
    companyId: z.number().int().positive(),
    /** HTTP Basic credentials configured on the webhook subscription. */
    webhookUser: z.string().min(1),
    webhookPassword: z.string().min(12, 'must be at least 12 characters'),
  })
  .strict();

export type PipedriveConfig = z.infer<typeof pipedriveConfigSchema>;

const TYPES = ['persons', 'organizations', 'deals'];
const READ_ONLY = new Set([
  'id',
  'add_time',
  'update_time',
  'is_deleted',
  'creator_user_id',
  'next_activity_id',
  'last_activity_id',
  'custom_fields',
]);

interface Item extends VendorRecord {
  id: number;
  update_time: string;
}

interface Cursor {
  /** Inclusive watermark (RFC 3339, whole seconds). */
  readonly since?: string;
  /** Ids already read whose update_time equals `since`. */
  readonly boundary: readonly number[];
  /** Pipedrive's cursor of the query in progress, and the newest change it has shown so far. */
  readonly next?: string;
  readonly max?: string;
  readonly maxIds?: readonly number[];
  /** The `updated_since` the query in progress was started with (its later pages must repeat it). */
  readonly from?: string;
  /** Versions emitted inside the look-back window behind `since` (absent in cursors written before it). */
  readonly recent?: Versions;
}

const versionOf = (item: Item) => ({ id: String(item.id), ms: Date.parse(item.update_time) });

/** Where a run's query starts: the look-back window behind `since`, for cursors that remember versions. */
function runStart(cursor: Cursor): string | undefined {
  if (!cursor.since || !cursor.recent) return cursor.since;
  return new Date(Date.parse(cursor.since) - LOOK_BACK_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function readCursor(text: string | null): Cursor {
  if (text === null) return { boundary: [] };
  try {
    const cursor = JSON.parse(text) as Cursor;
    if (Array.isArray(cursor.boundary)) return cursor;
  } catch {
    // Falls through to the error below.
  }
  throw new IntegrationError('pipedrive', 'invalid_config', `unreadable pull cursor: ${text.slice(0, 80)}`);
}

function typeName(type: string): string {
  if (!TYPES.includes(type))
    throw new IntegrationError(
      'pipedrive',
      'invalid_config',
      `unknown Pipedrive object "${type}" (known: ${TYPES.join(', ')})`,
    );
  return type;
}

/** The field an item is matched on when pushed: a person's primary email, an organization's name, a deal's title. */
export function pipedriveKey(type: string, record: VendorRecord): string | undefined {
  if (type === 'persons') {
    const emails = record.emails as { value?: string; primary?: boolean }[] | undefined;
    const email =
      (Array.isArray(emails) ? (emails.find((e) => e.primary) ?? emails[0])?.value : undefined) ?? record.email;
    return typeof email === 'string' && email ? email.toLowerCase() : undefined;
  }
  const value = type === 'deals' ? record.title : record.name;
  return typeof value === 'string' && value ? value : undefined;
}

function writable(type: string, record: VendorRecord): Record<string, unknown> {
  const out = Object.fromEntries(
    Object.entries(record).filter(([k, v]) => !READ_ONLY.has(k) && k !== 'email' && v !== undefined),
  );
  if (type === 'persons' && !out.emails && typeof record.email === 'string')
    out.emails = [{ value: record.email, primary: true, label: 'work' }];
  return out;
}

export function createPipedrive(config: PipedriveConfig, context: ConnectorContext = {}): Connector {
  // Pipedrive's token budget allows roughly 80 requests per 2 s window on lower plans.
  const bucket = new TokenBucket({ capacity: 40, refillPerSecond: 20, sleep: context.sleep });
  const http = new VendorHttp({
    integration: 'pipedrive',
    baseUrl: config.baseUrl,
    context,
    bucket,
    auth: () => ({ 'x-api-token': config.apiToken }),
  });

  async function find(type: string, key: string): Promise<Item[]> {
    const field = type === 'persons' ? 'email' : type === 'deals' ? 'title' : 'name';
    const body = await http.json<{ data: { items: { item: Item }[] } }>({
      path: `/api/v2/${type}/search`,
      query: { term: key, fields: field, exact_match: 'true', limit: 10 },
    });
    return body.data.items.map((i) => i.item);
  }

  return {
    test: () =>
      checkConnection(async () => {
        await http.request({ path: '/api/v2/persons', query: { limit: 1 } });
        return 'connected';
      }),

    async pull(object, cursorText) {
      const type = typeName(object);
      const cursor = readCursor(cursorText);
      const from = cursor.next ? cursor.from : runStart(cursor);
      const body = await http.json<{ data: Item[]; additional_data?: { next_cursor?: string | null } }>({
        path: `/api/v2/${type}`,
        query: {
          limit: config.pageSize,
          sort_by: 'update_time',
          sort_direction: 'asc',
          updated_since: from,
          cursor: cursor.next,
        },
      });
      const sinceMs = cursor.since ? Date.parse(cursor.since) : undefined;
      const records = body.data.filter((item) => {
        const ms = Date.parse(item.update_time);
        if (sinceMs === undefined || ms > sinceMs) return cursor.recent?.[String(item.id)] !== ms;
        if (ms === sinceMs) return !cursor.boundary.includes(item.id);
        // Older than the watermark: a change exposed late, new unless this version was emitted already.
        return cursor.recent !== undefined && ms >= sinceMs - LOOK_BACK_MS && cursor.recent[String(item.id)] !== ms;
      });
      let max = cursor.max ?? cursor.since;
      let maxIds = [...(cursor.maxIds ?? cursor.boundary)];
      for (const item of body.data) {
        if (max === undefined || Date.parse(item.update_time) > Date.parse(max)) {
          max = item.update_time;
          maxIds = [item.id];
        } else if (Date.parse(item.update_time) === Date.parse(max) && !maxIds.includes(item.id)) maxIds.push(item.id);
      }
      const next = body.additional_data?.next_cursor ?? undefined;
      const recent = max === undefined ? cursor.recent : remember(cursor.recent, records, versionOf, Date.parse(max));
      const nextCursor: Cursor = next
        ? { since: cursor.since, boundary: cursor.boundary, next, max, maxIds, from, recent }
        : { since: max, boundary: maxIds, recent: recent ?? {} };
      // API v2 lists no deleted items; deletes reach us through webhooks (`meta.action: delete`).
      return { records, deletedIds: [], cursor: JSON.stringify(nextCursor), done: !next };
    },

    async *listIds(object) {
      const type = typeName(object);
      let next: string | undefined;
      do {
        const body = await http.json<{ data: Item[]; additional_data?: { next_cursor?: string | null } }>({
          path: `/api/v2/${type}`,
          query: { limit: 500, cursor: next },
        });
        for (const item of body.data) yield String(item.id);
        next = body.additional_data?.next_cursor ?? undefined;
      } while (next);
    },

    async push(object, records) {
      const type = typeName(object);
      let upserted = 0;
      const failed: { key: string; reason: string }[] = [];
      for (const record of records) {
        const key = pipedriveKey(type, record);
        if (!key) {
          failed.push({
            key: '',
            reason: `missing ${type === 'persons' ? 'email' : type === 'deals' ? 'title' : 'name'}`,
          });
          continue;
        }
        try {
          const [existing] = await find(type, key);
          if (existing)
            await http.request({
              method: 'PATCH',
              path: `/api/v2/${type}/${existing.id}`,
              json: writable(type, record),
            });
          else
            await http.request({ method: 'POST', path: `/api/v2/${type}`, json: writable(type, record), retry: false });
          upserted++;
        } catch (error) {
          if (error instanceof IntegrationError && error.kind === 'vendor_error')
            failed.push({ key, reason: error.message });
          else throw error;
        }
      }
      return { upserted, failed };
    },

    async delete(object, ids) {
      const type = typeName(object);
      // 404: already deleted, the state asked for.
      for (const id of ids)
        await http.request({ method: 'DELETE', path: `/api/v2/${type}/${encodeURIComponent(id)}`, accept: [404] });
    },

    async erase(email) {
      if (!/^[^\s@]+@[^\s@]+$/.test(email))
        throw new IntegrationError('pipedrive', 'invalid_config', `erase needs an email address, got "${email}"`);
      const ids: string[] = [];
      for (const person of await find('persons', email.toLowerCase())) {
        await http.request({ method: 'DELETE', path: `/api/v2/persons/${person.id}`, accept: [404] });
        ids.push(String(person.id));
      }
      // Pipedrive's API has no permanent delete: it purges deleted persons itself 30 days later.
      return {
        permanent: false,
        ids,
        reason:
          'Pipedrive marks deleted persons as deleted and purges them 30 days later; its API offers no immediate permanent delete',
      };
    },
  };
}

function header(request: WebhookRequest, name: string): string | undefined {
  for (const [key, value] of Object.entries(request.headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

export function verifyPipedriveWebhook(config: PipedriveConfig, request: WebhookRequest): WebhookEvents {
  if (request.method.toUpperCase() !== 'POST')
    throw new WebhookRejected(`webhooks are POSTed, got ${request.method}`, 405);
  const authorization = header(request, 'authorization') ?? '';
  const expected = Buffer.from(
    `Basic ${Buffer.from(`${config.webhookUser}:${config.webhookPassword}`).toString('base64')}`,
  );
  const given = Buffer.from(authorization);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new WebhookRejected('missing or wrong Basic credentials');
  let body: { meta?: Record<string, unknown>; data?: unknown; previous?: unknown };
  try {
    body = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected('body is not JSON', 400);
  }
  const meta = body?.meta;
  if (!meta || (typeof meta.id !== 'string' && typeof meta.id !== 'number'))
    throw new WebhookRejected('webhook without meta.id', 400);
  if (Number(meta.company_id) !== config.companyId)
    throw new WebhookRejected(`webhook for company ${meta.company_id}`, 403);
  const entity = String(meta.entity ?? 'unknown');
  return {
    events: [
      {
        id: `pipedrive:${config.companyId}:${meta.id}`,
        type: `${entity}.${meta.action ?? 'unknown'}`,
        object:
          entity === 'person'
            ? 'persons'
            : entity === 'organization'
              ? 'organizations'
              : entity === 'deal'
                ? 'deals'
                : entity,
        recordId: meta.entity_id === undefined ? undefined : String(meta.entity_id),
        payload: body,
      },
    ],
  };
}

export const pipedrive: ConnectorModule<PipedriveConfig> = {
  system: 'pipedrive',
  family: 'crm',
  configSchema: pipedriveConfigSchema,
  create: createPipedrive,
  // API v2 lists no deleted items.
  sweepObjects: TYPES,
  verifyWebhook: verifyPipedriveWebhook,
};
