/**
 * Zoho CRM connector over API v6 (fetch through VendorHttp; Zoho's SDK keeps tokens in its own
 * store). OAuth2 refresh-token grant against the accounts server through an OAuthSession: access
 * tokens shared by every worker through the context's token store, refreshed ahead of expiry and
 * once on 401. Pulls ask for records modified since a watermark
 * (If-Modified-Since, whole seconds) sorted by Modified_Time, one fresh query per page: offset pages
 * of a changing list would shift under edits. Ids already read at the watermark second are skipped.
 * Deleted records come from the module's deleted list. Notifications carry the channel token.
 */
import { createHash, timingSafeEqual } from 'crypto';
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
import { GrantRevoked, OAuthSession } from '../../http/oauth-session';
import { TokenBucket } from '../../http/token-bucket';
import { VendorHttp } from '../../http/vendor-http';

const moduleName = z.string().regex(/^[A-Z][A-Za-z0-9_]*$/, 'must be a Zoho module API name such as Contacts');

export const zohoConfigSchema = z
  .object({
    /** API host; replaced by the `api_domain` of the token response (the account's data centre). */
    baseUrl: z.string().url().default('https://www.zohoapis.com'),
    /** Accounts server of the data centre (accounts.zoho.com, .eu, .in, ...). */
    accountsUrl: z.string().url().default('https://accounts.zoho.com'),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    refreshToken: z.string().min(1),
    pageSize: z.number().int().min(1).max(200).default(200),
    /** Fields read per module (v6 requires the list). */
    fields: z.record(moduleName, z.array(z.string().min(1)).min(1)).default({}),
    /** Fields an upsert matches existing records on, per module. */
    duplicateCheckFields: z.record(moduleName, z.array(z.string().min(1)).min(1)).default({}),
    /** Token set on the notification channel; Zoho sends it back in every notification. */
    webhookToken: z.string().min(16, 'must be at least 16 characters'),
    /** Channel ids we registered; notifications of others are rejected (any when empty). */
    channelIds: z.array(z.string().regex(/^\d+$/)).default([]),
  })
  .strict();

export type ZohoConfig = z.infer<typeof zohoConfigSchema>;

export const DEFAULT_FIELDS: Record<string, readonly string[]> = {
  Contacts: ['First_Name', 'Last_Name', 'Email', 'Phone', 'Account_Name', 'Created_Time', 'Modified_Time'],
  Leads: ['First_Name', 'Last_Name', 'Email', 'Company', 'Lead_Status', 'Created_Time', 'Modified_Time'],
  Accounts: ['Account_Name', 'Phone', 'Website', 'Industry', 'Created_Time', 'Modified_Time'],
  Deals: ['Deal_Name', 'Amount', 'Stage', 'Closing_Date', 'Account_Name', 'Created_Time', 'Modified_Time'],
};
const DEFAULT_DUPLICATE_CHECK: Record<string, readonly string[]> = {
  Contacts: ['Email'],
  Leads: ['Email'],
  Accounts: ['Account_Name'],
  Deals: ['Deal_Name'],
};
const BATCH_LIMIT = 100;

interface ZohoItem extends VendorRecord {
  id: string;
  Modified_Time: string;
}
interface ZohoList<T> {
  data?: T[];
  info?: { more_records?: boolean; next_page_token?: string | null };
}

/** Zoho's `page` reaches 2,000 records at most; past that only `page_token` continues a query. */
const DISCRETE_PAGING_LIMIT = 2000;

interface ZohoResult {
  code: string;
  status: string;
  message: string;
  details?: { api_name?: string; errors?: ZohoResult[] } & Record<string, unknown>;
}

/** A per-record failure as `CODE: message (field)`, every error of a MULTIPLE_OR_MULTI_ERRORS. */
function reasonOf(result: ZohoResult): string {
  const nested = result.details?.errors;
  if (Array.isArray(nested) && nested.length) return nested.map(reasonOf).join('; ');
  return `${result.code}: ${result.message}${result.details?.api_name ? ` (${result.details.api_name})` : ''}`;
}

interface Cursor {
  /** Records modified before this second are read; at it, those in `boundary` are. */
  readonly since?: string;
  readonly boundary: readonly string[];
  /** Page of the query at `since`, beyond 1 only while one second holds more than a page. */
  readonly page: number;
  /** Zoho's token for the next page of that query, used instead of `page` past 2,000 records. */
  readonly pageToken?: string;
  readonly deletesSince?: string;
  /** Deleted ids already reported at the `deletesSince` second. */
  readonly deletesSeen?: readonly string[];
}

function readCursor(text: string | null): Cursor {
  if (text === null) return { boundary: [], page: 1 };
  try {
    const cursor = JSON.parse(text) as Cursor;
    if (Array.isArray(cursor.boundary) && Number.isInteger(cursor.page)) return cursor;
  } catch {
    // Falls through to the error below.
  }
  throw new IntegrationError('zoho', 'invalid_config', `unreadable pull cursor: ${text.slice(0, 80)}`);
}

function module(object: string): string {
  if (!/^[A-Z][A-Za-z0-9_]*$/.test(object))
    throw new IntegrationError('zoho', 'invalid_config', `"${object}" is not a Zoho module API name`);
  return object;
}

/** If-Modified-Since value a second before `iso`, so the watermark second itself is included whichever way Zoho compares. */
function secondBefore(iso: string): string {
  return new Date(Date.parse(iso) - 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** Zoho answers token errors with HTTP 200 and an `error` field. */
function classifyZohoError(status: number, body: unknown): IntegrationError['kind'] | undefined {
  const code = (body as { code?: string } | undefined)?.code;
  if (code === 'INVALID_TOKEN' || code === 'AUTHENTICATION_FAILURE' || code === 'OAUTH_SCOPE_MISMATCH') return 'auth';
  if (status === 400 && code === 'INVALID_MODULE') return 'invalid_config';
  return undefined;
}

export function createZoho(config: ZohoConfig, context: ConnectorContext = {}): Connector {
  const accounts = new VendorHttp({ integration: 'zoho', baseUrl: config.accountsUrl, context });
  // Zoho limits concurrent calls per org (10–25 by edition) and API credits per day.
  const bucket = new TokenBucket({ capacity: 10, refillPerSecond: 10, sleep: context.sleep });
  // Zoho caps the access tokens a refresh token may mint (10 per 10 minutes): every worker shares
  // the one in the token store instead of minting its own.
  const session = new OAuthSession({
    integration: 'zoho',
    key: `zoho:${createHash('sha256').update(`${config.accountsUrl}\n${config.clientId}\n${config.refreshToken}`).digest('hex')}`,
    initialRefreshToken: config.refreshToken,
    store: context.tokenStore,
    refresh: async (refreshToken) => {
      const body = await accounts.json<{
        access_token?: string;
        api_domain?: string;
        expires_in?: number;
        error?: string;
      }>({
        method: 'POST',
        path: '/oauth/v2/token',
        query: {
          refresh_token: refreshToken,
          client_id: config.clientId,
          client_secret: config.clientSecret,
          grant_type: 'refresh_token',
        },
      });
      // Zoho answers a revoked or unknown refresh token with HTTP 200 and error invalid_code.
      if (body?.error === 'invalid_code') throw new GrantRevoked('invalid_code');
      if (!body?.access_token)
        throw new IntegrationError(
          'zoho',
          'auth',
          `token refresh failed: ${body?.error ?? 'no access_token in response'}`,
        );
      return {
        accessToken: body.access_token,
        apiDomain: (body.api_domain ?? config.baseUrl).replace(/\/+$/, ''),
        expiresInMs: (body.expires_in ?? 3600) * 1000,
      };
    },
  });
  const accessToken = async () => {
    const tokens = await session.tokens();
    return { value: tokens.accessToken, apiDomain: tokens.apiDomain ?? config.baseUrl.replace(/\/+$/, '') };
  };
  let used: string | undefined;
  const http = new VendorHttp({
    integration: 'zoho',
    baseUrl: config.baseUrl,
    context,
    bucket,
    classifyError: classifyZohoError,
    auth: async () => ({ authorization: `Zoho-oauthtoken ${(used = (await accessToken()).value)}` }),
    onUnauthorized: async () => {
      if (used) await session.rejected(used);
      return true;
    },
  });
  const api = async <T>(request: Parameters<VendorHttp['request']>[0]) => {
    const { apiDomain } = await accessToken();
    return http.request<T>({ ...request, path: `${apiDomain}/crm/v6${request.path}` });
  };
  const fieldsOf = (name: string) => [
    ...new Set([...(config.fields[name] ?? DEFAULT_FIELDS[name] ?? ['Modified_Time']), 'Modified_Time']),
  ];

  /** Deleted records at or after `since` (whole seconds) except those already reported at that second. */
  async function deletedSince(
    name: string,
    since: string | undefined,
    seen: readonly string[],
  ): Promise<{ ids: string[]; latest?: string; latestIds: string[] }> {
    const ids: string[] = [];
    let latest = since;
    let latestIds = [...seen];
    const sinceMs = since ? Date.parse(since) : undefined;
    for (let page = 1; ; page++) {
      const response = await api<ZohoList<{ id: string; deleted_time: string }>>({
        path: `/${name}/deleted`,
        query: { type: 'all', per_page: 200, page },
        headers: since ? { 'If-Modified-Since': secondBefore(since) } : undefined,
        accept: [204, 304],
      });
      for (const item of response.body?.data ?? []) {
        const at = Date.parse(item.deleted_time);
        if (sinceMs !== undefined && (at < sinceMs || (at === sinceMs && seen.includes(item.id)))) continue;
        ids.push(item.id);
        if (!latest || at > Date.parse(latest)) {
          latest = item.deleted_time;
          latestIds = [item.id];
        } else if (at === Date.parse(latest)) latestIds.push(item.id);
      }
      if (!response.body?.info?.more_records) return { ids, latest, latestIds };
    }
  }

  const connector: Connector = {
    test: () =>
      checkConnection(async () => {
        await api({ path: '/Contacts', query: { fields: 'Last_Name', per_page: 1 }, accept: [204] });
        return 'connected';
      }),

    async pull(object, cursorText) {
      const name = module(object);
      // A full sync reports deletions from its start on; older ones concern records it never read.
      const cursor =
        cursorText === null
          ? { ...readCursor(null), deletesSince: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString() }
          : readCursor(cursorText);
      const response = await api<ZohoList<ZohoItem>>({
        path: `/${name}`,
        query: {
          fields: fieldsOf(name).join(','),
          per_page: config.pageSize,
          ...(cursor.pageToken ? { page_token: cursor.pageToken } : { page: cursor.page }),
          sort_by: 'Modified_Time',
          sort_order: 'asc',
        },
        headers: cursor.since ? { 'If-Modified-Since': secondBefore(cursor.since) } : undefined,
        accept: [204, 304],
      });
      const items = response.body?.data ?? [];
      const sinceMs = cursor.since ? Date.parse(cursor.since) : undefined;
      const records = items.filter(
        (r) =>
          sinceMs === undefined ||
          Date.parse(r.Modified_Time) > sinceMs ||
          (Date.parse(r.Modified_Time) === sinceMs && !cursor.boundary.includes(r.id)),
      );
      const more = Boolean(response.body?.info?.more_records);
      let next: Cursor;
      const last = items[items.length - 1];
      if (last && Date.parse(last.Modified_Time) === sinceMs) {
        // The whole page is at the watermark second: read the next page of the same query.
        const page = more ? cursor.page + 1 : 1;
        const pageToken =
          more && page * config.pageSize > DISCRETE_PAGING_LIMIT
            ? (response.body?.info?.next_page_token ?? undefined)
            : undefined;
        if (more && page * config.pageSize > DISCRETE_PAGING_LIMIT && !pageToken)
          throw new IntegrationError(
            'zoho',
            'vendor_error',
            `more than ${DISCRETE_PAGING_LIMIT} ${name} share the modification time ${cursor.since} and Zoho sent no next_page_token`,
          );
        next = { ...cursor, boundary: [...new Set([...cursor.boundary, ...items.map((r) => r.id)])], page, pageToken };
      } else if (last) {
        const since = last.Modified_Time;
        next = {
          since,
          boundary: items.filter((r) => Date.parse(r.Modified_Time) === Date.parse(since)).map((r) => r.id),
          page: 1,
          deletesSince: cursor.deletesSince,
          deletesSeen: cursor.deletesSeen,
        };
      } else next = { ...cursor, page: 1 };
      if (more) return { records, deletedIds: [], cursor: JSON.stringify(next), done: false };
      // Changes are read; deleted records since the last delete watermark follow.
      const deletes = await deletedSince(name, cursor.deletesSince, cursor.deletesSeen ?? []);
      return {
        records,
        deletedIds: deletes.ids,
        cursor: JSON.stringify({ ...next, deletesSince: deletes.latest, deletesSeen: deletes.latestIds }),
        done: true,
      };
    },

    async push(object, records) {
      const name = module(object);
      const checks = config.duplicateCheckFields[name] ?? DEFAULT_DUPLICATE_CHECK[name] ?? ['id'];
      let upserted = 0;
      const failed: { key: string; reason: string }[] = [];
      const keyOf = (record: VendorRecord) =>
        String(checks.map((f) => record[f]).find((v) => v !== undefined && v !== null && v !== '') ?? '');
      const writable = records.map((r) =>
        Object.fromEntries(
          Object.entries(r).filter(
            ([k, v]) =>
              !['Created_Time', 'Modified_Time', 'Created_By', 'Modified_By', '$approval', '$state'].includes(k) &&
              v !== undefined,
          ),
        ),
      );
      for (let i = 0; i < writable.length; i += BATCH_LIMIT) {
        const chunk = writable.slice(i, i + BATCH_LIMIT);
        // 207 when some records fail, 400 when all do: either way `data` holds one result per record.
        const response = await api<{ data?: ZohoResult[] } & Partial<ZohoResult>>({
          method: 'POST',
          path: `/${name}/upsert`,
          json: { data: chunk, duplicate_check_fields: checks },
          accept: [202, 207, 400],
        });
        const results = response.body?.data;
        if (!Array.isArray(results) || results.length !== chunk.length) {
          throw new IntegrationError(
            'zoho',
            'vendor_error',
            `POST /${name}/upsert -> ${response.status}: ${response.body?.code ?? 'no per-record results'}: ${response.body?.message ?? ''}`,
            response.status,
          );
        }
        results.forEach((result, index) => {
          if (result.status === 'success') upserted++;
          else failed.push({ key: keyOf(chunk[index]), reason: reasonOf(result) });
        });
      }
      return { upserted, failed };
    },

    async delete(object, ids) {
      const name = module(object);
      for (let i = 0; i < ids.length; i += BATCH_LIMIT) {
        const response = await api<{ data: { status: string; code: string; details?: { id?: string } }[] }>({
          method: 'DELETE',
          path: `/${name}`,
          query: { ids: ids.slice(i, i + BATCH_LIMIT).join(',') },
          accept: [202],
        });
        const failures = response.body.data.filter((r) => r.status !== 'success');
        // INVALID_DATA on delete: the id no longer exists, the state asked for.
        const real = failures.filter((r) => r.code !== 'INVALID_DATA');
        if (real.length)
          throw new IntegrationError(
            'zoho',
            'vendor_error',
            `delete failed: ${real.map((r) => `${r.details?.id}: ${r.code}`).join(', ')}`,
          );
      }
    },

    async erase(email) {
      if (!/^[^\s@]+@[^\s@]+$/.test(email))
        throw new IntegrationError('zoho', 'invalid_config', `erase needs an email address, got "${email}"`);
      for (const name of ['Contacts', 'Leads']) {
        const found = await api<ZohoList<{ id: string }>>({ path: `/${name}/search`, query: { email }, accept: [204] });
        const ids = (found.body?.data ?? []).map((r) => r.id);
        if (ids.length === 0) continue;
        await connector.delete(name, ids);
        // A delete only moves records to the recycle bin (kept 60 days); the v8 recycle bin API removes
        // them for good (scope ZohoCRM.settings.recycle_bin.DELETE, admin profile).
        const { apiDomain } = await accessToken();
        for (const id of ids)
          await http.request({
            method: 'DELETE',
            path: `${apiDomain}/crm/v8/settings/recycle_bin/${encodeURIComponent(id)}`,
          });
      }
    },
  };
  return connector;
}

export function verifyZohoNotification(config: ZohoConfig, request: WebhookRequest): WebhookEvents {
  if (request.method.toUpperCase() !== 'POST')
    throw new WebhookRejected(`notifications are POSTed, got ${request.method}`, 405);
  let body: {
    token?: unknown;
    channel_id?: unknown;
    server_time?: unknown;
    module?: unknown;
    operation?: unknown;
    ids?: unknown;
  };
  try {
    body = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected('body is not JSON', 400);
  }
  const given = Buffer.from(typeof body?.token === 'string' ? body.token : '');
  const expected = Buffer.from(config.webhookToken);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new WebhookRejected('missing or wrong channel token');
  const channel = String(body.channel_id ?? '');
  if (config.channelIds.length && !config.channelIds.includes(channel))
    throw new WebhookRejected(`notification of unknown channel ${channel}`, 403);
  if (!Array.isArray(body.ids) || typeof body.module !== 'string' || typeof body.server_time !== 'number')
    throw new WebhookRejected('notification without module, ids or server_time', 400);
  return {
    events: body.ids.map((id) => ({
      id: `zoho:${channel}:${body.server_time}:${body.operation}:${id}`,
      type: `${body.module}.${body.operation}`,
      object: String(body.module),
      recordId: String(id),
      payload: body,
    })),
  };
}

export const zoho: ConnectorModule<ZohoConfig> = {
  system: 'zoho',
  family: 'crm',
  configSchema: zohoConfigSchema,
  create: createZoho,
  verifyWebhook: verifyZohoNotification,
};
