/**
 * A local Zoho CRM (API v6) with its accounts server: OAuth2 refresh-token grant (errors as HTTP 200
 * with `error`, as Zoho answers), `Zoho-oauthtoken` auth, module records sorted by Modified_Time
 * with `If-Modified-Since`, `page`/`per_page` and `info.more_records`, 204 when nothing matches,
 * `page_token` (required past 2,000 records, as Zoho's discrete paging stops there), upsert with
 * duplicate_check_fields answering per record (200 all saved, 207 mixed, 400 none: MANDATORY_NOT_FOUND,
 * INVALID_DATA, DUPLICATE_DATA on a unique field), delete by ids into the recycle bin, the v8 recycle
 * bin's permanent delete, deleted-records list, search by email, and Zoho's
 * `{ code, details, message, status }` error bodies.
 */
import { randomBytes } from 'crypto';
import {
  FakeSwitches,
  fakeCompany,
  fakePerson,
  seededRandom,
  serveFake,
  type FakeRequest,
  type FakeResponse,
} from '@data-sync/integrations/contract/fake-kit';
import type { Fake, FakeOptions } from '@data-sync/integrations/contract/connector-contract';

export type ZohoRecord = Record<string, unknown> & { id: string; Modified_Time: string; Created_Time: string };

export interface FakeZohoOptions extends FakeOptions {
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly refreshToken?: string;
  readonly port?: number;
  /** Seeded records all share one Modified_Time second (a bulk import), instead of three per second. */
  readonly sameSecond?: boolean;
}

export interface FakeZohoState {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  readonly modules: Map<string, Map<string, ZohoRecord>>;
  readonly deleted: Map<string, { id: string; deleted_time: string; module: string }[]>;
  /** Ids in the recycle bin (deleted, restorable) and ids purged from it for good. */
  readonly recycleBin: Set<string>;
  readonly purged: Set<string>;
  /** Access tokens issued by the refresh grant. */
  readonly issuedTokens: string[];
  save(module: string, fields: Record<string, unknown>, id?: string): ZohoRecord;
  remove(module: string, id: string): boolean;
}

export interface FakeZoho extends Fake {
  readonly state: FakeZohoState;
  /** Makes every issued access token invalid (expiry), without revoking the refresh token. */
  expireAccessTokens(): void;
}

const FIELDS: Record<string, readonly string[]> = {
  Contacts: ['First_Name', 'Last_Name', 'Email', 'Phone', 'Account_Name'],
  Leads: ['First_Name', 'Last_Name', 'Email', 'Company', 'Lead_Status'],
  Accounts: ['Account_Name', 'Phone', 'Website', 'Industry'],
  Deals: ['Deal_Name', 'Amount', 'Stage', 'Closing_Date', 'Account_Name'],
};
/** Fields set unique in the fake's layouts: a second record with the same value is DUPLICATE_DATA. */
const UNIQUE_FIELDS: Record<string, readonly string[]> = {
  Contacts: ['Email'],
  Leads: ['Email'],
  Accounts: [],
  Deals: [],
};
const REQUIRED: Record<string, string> = {
  Contacts: 'Last_Name',
  Leads: 'Last_Name',
  Accounts: 'Account_Name',
  Deals: 'Deal_Name',
};

/** Zoho's datetime: ISO 8601 with seconds and an offset. */
const zohoTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');

function zohoError(status: number, code: string, message: string, details: Record<string, unknown> = {}): FakeResponse {
  return { status, body: { code, details, message, status: 'error' } };
}

export async function startFakeZoho(options: FakeZohoOptions = {}): Promise<FakeZoho> {
  const switches = new FakeSwitches();
  const random = seededRandom(23);
  const tokens = new Set<string>();
  /** page_token -> offset of the page it continues at. */
  const pageTokens = new Map<string, number>();
  let idCounter = 0;
  let lastLive = 0;
  const live = () => {
    lastLive = Math.max(Date.now(), lastLive + 1000);
    return zohoTime(lastLive);
  };
  const newId = () => String(5_725_767_000_000_000_000n + BigInt(++idCounter));

  const state: FakeZohoState = {
    clientId: options.clientId ?? '1000.FAKECLIENT',
    clientSecret: options.clientSecret ?? 'fake-zoho-secret',
    refreshToken: options.refreshToken ?? '1000.fake-refresh-token',
    modules: new Map(Object.keys(FIELDS).map((m) => [m, new Map()])),
    deleted: new Map(Object.keys(FIELDS).map((m) => [m, []])),
    recycleBin: new Set(),
    purged: new Set(),
    issuedTokens: [],
    save(module, fields, id) {
      const table = state.modules.get(module)!;
      const now = live();
      const existing = id ? table.get(id) : undefined;
      if (existing) {
        Object.assign(existing, fields, { Modified_Time: now });
        return existing;
      }
      const record: ZohoRecord = {
        id: newId(),
        ...Object.fromEntries(FIELDS[module].map((f) => [f, null])),
        ...fields,
        Created_Time: now,
        Modified_Time: now,
      };
      table.set(record.id, record);
      return record;
    },
    remove(module, id) {
      const table = state.modules.get(module)!;
      if (!table.delete(id)) return false;
      state.deleted.get(module)!.push({ id, deleted_time: live(), module });
      state.recycleBin.add(id);
      return true;
    },
  };

  const dayAgo = Date.now() - 86_400_000;
  let seeded = 0;
  for (const [module, count] of Object.entries(options.seed ?? { Contacts: 50 })) {
    if (!FIELDS[module]) throw new Error(`fake Zoho has no module ${module}`);
    for (let i = 0; i < count; i++) {
      const person = fakePerson(idCounter + 1, random);
      const company = fakeCompany(random);
      const at = zohoTime(dayAgo + (options.sameSecond ? 0 : Math.floor(seeded++ / 3) * 1000));
      const fields: Record<string, Record<string, unknown>> = {
        Contacts: {
          First_Name: person.firstName,
          Last_Name: person.lastName,
          Email: person.email,
          Phone: person.phone,
          Account_Name: { name: company, id: '5725767000000000001' },
        },
        Leads: {
          First_Name: person.firstName,
          Last_Name: person.lastName,
          Email: person.email,
          Company: company,
          Lead_Status: 'Not Contacted',
        },
        Accounts: { Account_Name: `${company} ${idCounter + 1}`, Phone: person.phone, Industry: 'Technology' },
        Deals: {
          Deal_Name: `${company} deal ${idCounter + 1}`,
          Amount: Math.round(random() * 10000),
          Stage: 'Qualification',
          Closing_Date: '2026-06-30',
        },
      };
      const record: ZohoRecord = {
        id: newId(),
        ...Object.fromEntries(FIELDS[module].map((f) => [f, null])),
        ...fields[module],
        Created_Time: at,
        Modified_Time: at,
      };
      state.modules.get(module)!.set(record.id, record);
    }
  }

  function token(url: URL): FakeResponse {
    const params = url.searchParams;
    if (params.get('grant_type') !== 'refresh_token') return { status: 200, body: { error: 'unsupported_grant_type' } };
    if (params.get('client_id') !== state.clientId || params.get('client_secret') !== state.clientSecret)
      return { status: 200, body: { error: 'invalid_client' } };
    if (switches.authRevoked || params.get('refresh_token') !== state.refreshToken)
      return { status: 200, body: { error: 'invalid_code' } };
    const accessToken = `1000.${randomBytes(16).toString('hex')}`;
    tokens.add(accessToken);
    state.issuedTokens.push(accessToken);
    return {
      status: 200,
      body: { access_token: accessToken, api_domain: server.url, token_type: 'Bearer', expires_in: 3600 },
    };
  }

  function list(module: string, request: FakeRequest): FakeResponse {
    const url = request.url;
    const fields = url.searchParams.get('fields');
    if (!fields)
      return zohoError(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'fields' });
    const perPage = Number(url.searchParams.get('per_page') ?? 200);
    if (!Number.isInteger(perPage) || perPage < 1 || perPage > 200)
      return zohoError(400, 'INVALID_DATA', 'invalid data', { param: 'per_page' });
    const size = options.pageSize ? Math.min(options.pageSize, perPage) : perPage;
    const pageToken = url.searchParams.get('page_token');
    if (pageToken && url.searchParams.has('page'))
      return zohoError(400, 'AMBIGUITY_DURING_PROCESSING', 'page and page_token cannot be given together', {
        ambiguity_due_to: ['page', 'page_token'],
      });
    let offset: number;
    if (pageToken) {
      const at = pageTokens.get(pageToken);
      if (at === undefined) return zohoError(400, 'INVALID_DATA', 'invalid page_token', { param_name: 'page_token' });
      offset = at;
    } else {
      const page = Number(url.searchParams.get('page') ?? 1);
      if (page * perPage > 2000)
        return zohoError(
          400,
          'DISCRETE_PAGINATION_LIMIT_EXCEEDED',
          'cannot fetch more than 2000 records using page param. Use page_token',
          { param: 'page' },
        );
      offset = (page - 1) * size;
    }
    const page = Math.floor(offset / size) + 1;
    const sinceHeader = request.headers['if-modified-since'];
    const since = typeof sinceHeader === 'string' ? Date.parse(sinceHeader) : undefined;
    if (since !== undefined && Number.isNaN(since)) return zohoError(400, 'INVALID_DATA', 'invalid If-Modified-Since');
    const sortBy = url.searchParams.get('sort_by') ?? 'id';
    const desc = url.searchParams.get('sort_order') === 'desc';
    const key = (r: ZohoRecord) =>
      sortBy === 'Modified_Time' || sortBy === 'Created_Time' ? Date.parse(String(r[sortBy])) : BigInt(r.id);
    // If-Modified-Since: records modified at or after the given time (seconds precision).
    const rows = [...state.modules.get(module)!.values()]
      .filter((r) => since === undefined || Date.parse(r.Modified_Time) >= since)
      .sort((a, b) => {
        const x = key(a);
        const y = key(b);
        if (x !== y) return (x < y ? -1 : 1) * (desc ? -1 : 1);
        return BigInt(a.id) < BigInt(b.id) ? -1 : 1;
      });
    const slice = rows.slice(offset, offset + size);
    if (slice.length === 0) return { status: since === undefined ? 204 : 304 };
    const wanted = fields.split(',');
    const data = slice.map((r) =>
      Object.fromEntries(Object.entries(r).filter(([k]) => k === 'id' || k === 'Modified_Time' || wanted.includes(k))),
    );
    const more = offset + size < rows.length;
    let nextToken: string | null = null;
    if (more) {
      nextToken = randomBytes(12).toString('hex');
      pageTokens.set(nextToken, offset + size);
    }
    return {
      status: 200,
      body: {
        data,
        info: {
          per_page: size,
          count: data.length,
          page,
          sort_by: sortBy,
          sort_order: desc ? 'desc' : 'asc',
          more_records: more,
          next_page_token: nextToken,
          previous_page_token: null,
          page_token_expiry: more ? zohoTime(Date.now() + 86_400_000) : null,
        },
      },
    };
  }

  function upsert(module: string, body: any): FakeResponse {
    const data: Record<string, unknown>[] = body?.data;
    if (!Array.isArray(data)) return zohoError(400, 'INVALID_DATA', 'data is required');
    if (data.length > 100) return zohoError(400, 'LIMIT_EXCEEDED', 'the number of records exceeds 100');
    const checks: string[] = body.duplicate_check_fields ?? [];
    const results = data.map((input, index) => {
      const unknown = Object.keys(input).filter((k) => k !== 'id' && !FIELDS[module].includes(k));
      if (unknown.length)
        return {
          code: 'INVALID_DATA',
          details: { api_name: unknown[0], json_path: `$.data[${index}].${unknown[0]}` },
          message: 'invalid data',
          status: 'error',
        };
      const table = state.modules.get(module)!;
      const match = checks
        .map((field) =>
          [...table.values()].find(
            (r) => input[field] !== undefined && String(r[field]).toLowerCase() === String(input[field]).toLowerCase(),
          ),
        )
        .find(Boolean);
      if (!match && !input[REQUIRED[module]]) {
        return {
          code: 'MANDATORY_NOT_FOUND',
          details: { api_name: REQUIRED[module], json_path: `$.data[${index}].${REQUIRED[module]}` },
          message: 'required field not found',
          status: 'error',
        };
      }
      for (const field of UNIQUE_FIELDS[module]) {
        const clash = input[field]
          ? [...table.values()].find(
              (r) => r.id !== match?.id && String(r[field] ?? '').toLowerCase() === String(input[field]).toLowerCase(),
            )
          : undefined;
        if (clash)
          return {
            code: 'DUPLICATE_DATA',
            details: {
              api_name: field,
              json_path: `$.data[${index}].${field}`,
              duplicate_record: { id: clash.id, module: { api_name: module } },
            },
            message: 'duplicate data',
            status: 'error',
          };
      }
      const saved = state.save(module, input, match?.id);
      return {
        code: 'SUCCESS',
        duplicate_field: match ? checks.find((f) => input[f] !== undefined) : null,
        action: match ? 'update' : 'insert',
        details: { Modified_Time: saved.Modified_Time, id: saved.id, Created_Time: saved.Created_Time },
        message: match ? 'record updated' : 'record added',
        status: 'success',
      };
    });
    const failed = results.filter((r) => r.status === 'error').length;
    // Zoho: 200 when every record is saved, 207 when some are, 400 when none is; the body lists each.
    return { status: failed === 0 ? 200 : failed === results.length ? 400 : 207, body: { data: results } };
  }

  /** v8 recycle bin: DELETE /crm/v8/settings/recycle_bin/{id} removes a deleted record for good. */
  function recycleBin(request: FakeRequest, parts: string[]): FakeResponse {
    const id = parts[4];
    if (request.method !== 'DELETE' || !id || parts.length !== 5)
      return zohoError(404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one');
    if (!state.recycleBin.delete(id)) return zohoError(400, 'INVALID_DATA', 'the id given seems to be invalid', { id });
    state.purged.add(id);
    return {
      status: 200,
      body: { recycle_bin: [{ code: 'SUCCESS', details: { id }, message: 'record deleted', status: 'success' }] },
    };
  }

  function route(request: FakeRequest): FakeResponse {
    const parts = request.url.pathname.split('/').filter(Boolean);
    if (parts[0] === 'crm' && parts[1] === 'v8' && parts[2] === 'settings' && parts[3] === 'recycle_bin')
      return recycleBin(request, parts);
    if (parts[0] !== 'crm' || parts[1] !== 'v6')
      return zohoError(404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one');
    const module = parts[2];
    if (!state.modules.has(module))
      return zohoError(400, 'INVALID_MODULE', 'the module name given seems to be invalid');
    const rest = parts.slice(3);
    if (rest.length === 0 && request.method === 'GET') return list(module, request);
    if (rest[0] === 'upsert' && request.method === 'POST')
      return upsert(module, JSON.parse(request.body.toString('utf8') || '{}'));
    if (rest.length === 0 && request.method === 'DELETE') {
      const ids = (request.url.searchParams.get('ids') ?? '').split(',').filter(Boolean);
      if (ids.length === 0)
        return zohoError(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', { param: 'ids' });
      if (ids.length > 100) return zohoError(400, 'LIMIT_EXCEEDED', 'the number of ids exceeds 100');
      return {
        status: 200,
        body: {
          data: ids.map((id) =>
            state.remove(module, id)
              ? { code: 'SUCCESS', details: { id }, message: 'record deleted', status: 'success' }
              : { code: 'INVALID_DATA', details: { id }, message: 'record not deleted', status: 'error' },
          ),
        },
      };
    }
    if (rest[0] === 'deleted' && request.method === 'GET') {
      const sinceHeader = request.headers['if-modified-since'];
      const since = typeof sinceHeader === 'string' ? Date.parse(sinceHeader) : undefined;
      const perPage = Number(request.url.searchParams.get('per_page') ?? 200);
      const page = Number(request.url.searchParams.get('page') ?? 1);
      const rows = state.deleted.get(module)!.filter((d) => since === undefined || Date.parse(d.deleted_time) >= since);
      const slice = rows.slice((page - 1) * perPage, page * perPage);
      if (slice.length === 0) return { status: 204 };
      return {
        status: 200,
        body: {
          data: slice.map((d) => ({
            id: d.id,
            type: 'recycle',
            display_name: d.id,
            deleted_time: d.deleted_time,
            deleted_by: { name: 'Admin', id: '1' },
          })),
          info: { per_page: perPage, count: slice.length, page, more_records: page * perPage < rows.length },
        },
      };
    }
    if (rest[0] === 'search' && request.method === 'GET') {
      const email = request.url.searchParams.get('email');
      if (!email)
        return zohoError(400, 'REQUIRED_PARAM_MISSING', 'One of the expected parameter is missing', {
          param: 'criteria',
        });
      const data = [...state.modules.get(module)!.values()].filter(
        (r) => String(r.Email ?? '').toLowerCase() === email.toLowerCase(),
      );
      return data.length
        ? { status: 200, body: { data, info: { per_page: 200, count: data.length, page: 1, more_records: false } } }
        : { status: 204 };
    }
    return zohoError(404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one');
  }

  const server = await serveFake(
    (request) => {
      const failure = switches.admit();
      if (failure) {
        const response =
          failure.status === 429
            ? zohoError(429, 'TOO_MANY_REQUESTS', 'too many requests continuously')
            : zohoError(failure.status, 'INTERNAL_ERROR', 'Internal Server Error');
        return { ...response, headers: failure.headers };
      }
      if (request.url.pathname === '/oauth/v2/token' && request.method === 'POST') return token(request.url);
      const auth = request.headers.authorization ?? '';
      if (switches.authRevoked || !auth.startsWith('Zoho-oauthtoken ') || !tokens.has(auth.slice(16)))
        return zohoError(401, 'INVALID_TOKEN', 'invalid oauth token');
      return route(request);
    },
    { port: options.port },
  );

  return {
    url: server.url,
    state,
    close: server.close,
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: () => {
      switches.revokeAuth();
      tokens.clear();
    },
    restoreAuth: () => switches.restoreAuth(),
    expireAccessTokens: () => tokens.clear(),
    requestCount: () => switches.requestCount(),
    ids: (module) => [...(state.modules.get(module)?.keys() ?? [])],
    remove: (module, id) => void state.remove(module, id),
    touch: (module, id) => void state.save(module, {}, id),
    snapshot: (module) =>
      [...(state.modules.get(module)?.values() ?? [])]
        .map(({ Modified_Time: _modified, ...data }) => data)
        .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1)),
  };
}
