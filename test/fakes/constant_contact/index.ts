/**
 * A local Constant Contact v3 API and its OAuth2 token endpoint, for tests and the demo: refresh-token
 * grants (optionally rotating), bearer access tokens that expire, contacts with `limit` and an opaque
 * `cursor` in `_links.next.href`, `updated_after` and `status=all` (deleted contacts carry
 * `deleted_at`), POST /contacts/sign_up_form upserts by email, bulk JSON import activities, contact
 * lists, 4 requests per second and a daily quota (429 with error_key `throttled` or
 * `quota_exceeded`), and Constant Contact's `[{ error_key, error_message }]` errors. JSON imports read
 * the import shape (`phone`, flat `street`/`city`/`zip` fields with home_/work_ variants, `cf:<name>`
 * custom fields), drop every other field silently and import only the contacts within the first 4 MB
 * of the body, as Constant Contact documents.
 */
import { createHash, randomUUID } from 'crypto';
import type { Fake } from '@data-sync/integrations/contract/connector-contract';
import {
  FakeSwitches,
  MARKETING_FRAMING,
  fakePerson,
  isoSeconds,
  jsonBody,
  seededRandom,
  serveFake,
  type FakeRequest,
  type FakeResponse,
} from '@data-sync/integrations/contract/fake-kit';

export interface CtctContact {
  contact_id: string;
  email_address: {
    address: string;
    permission_to_send: string;
    created_at: string;
    updated_at: string;
    opt_in_source: string;
    confirm_status: string;
  };
  first_name?: string;
  last_name?: string;
  job_title?: string;
  company_name?: string;
  create_source: string;
  created_at: string;
  updated_at: string;
  deleted_at?: string;
  list_memberships: string[];
  phone_numbers?: { phone_number: string; kind: string }[];
  street_addresses?: {
    kind: string;
    street?: string;
    city?: string;
    state?: string;
    postal_code?: string;
    country?: string;
  }[];
  custom_fields?: { custom_field_id: string; value: string }[];
  updatedMs: number;
}

/** The fields of a JSON import row (JsonImportContact in Constant Contact's OpenAPI description), besides `cf:<name>`. */
const IMPORT_FIELDS = new Set([
  'email',
  'first_name',
  'last_name',
  'job_title',
  'company_name',
  'birthday_month',
  'birthday_day',
  'anniversary',
  'phone',
  'home_phone',
  'work_phone',
  'mobile_phone',
  'other_phone',
  ...['', 'home_', 'work_'].flatMap((p) =>
    ['street', 'street2', 'city', 'state', 'zip', 'country'].map((f) => `${p}${f}`),
  ),
  'sms_number',
  'sms_consent_date',
]);
/** Constant Contact imports the first 4 MB of a JSON import body and drops the rest. */
export const IMPORT_BYTES = 4 * 1024 * 1024;

interface Activity {
  activity_id: string;
  state: 'initialized' | 'processing' | 'completed';
  rows: Record<string, unknown>[];
  list_ids: string[];
  errors: { message: string }[];
  created_at: string;
}

export interface ConstantContactFakeOptions {
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly refreshToken?: string;
  /** Refresh tokens are single use: each grant returns a new one (Constant Contact's rotating tokens). */
  readonly rotateRefreshTokens?: boolean;
  readonly accessTokenTtlSeconds?: number;
  /** Contacts seeded (object `contacts`). */
  readonly seed?: Readonly<Record<string, number>>;
  /** Default `limit` when the client sends none (Constant Contact: 50). */
  readonly pageSize?: number;
  /** Requests allowed per second before 429 (Constant Contact: 4). */
  readonly perSecond?: number;
  /** Requests allowed per day before 429 quota_exceeded (Constant Contact: 10,000). */
  readonly perDay?: number;
  readonly now?: () => number;
}

export interface ConstantContactFakeState {
  readonly contacts: Map<string, CtctContact>;
  readonly lists: { list_id: string; name: string }[];
  readonly activities: Map<string, Activity>;
  /** Refresh tokens currently valid. */
  readonly refreshTokens: Set<string>;
  readonly accessTokens: Map<string, number>;
  tokenGrants: number;
  throttled: number;
  /** The account's custom fields, which imports name as `cf:<name>`. */
  readonly customFields: { custom_field_id: string; name: string; label: string }[];
  /** Import row fields Constant Contact ignored (unknown names), and rows dropped past 4 MB. */
  readonly droppedImportFields: Set<string>;
  droppedImportRows: number;
  requestsToday: number;
}

export interface ConstantContactFake extends Fake {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly refreshToken: string;
  readonly state: ConstantContactFakeState;
  listId(name: string): string;
  /** Makes every issued access token expire now, as the 24-hour lifetime would. */
  expireAccessTokens(): void;
}

function ctctError(status: number, message?: string): FakeResponse {
  const key: Record<number, string> = {
    400: 'contacts.api.bad.request',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not_found',
    409: 'conflict',
    415: 'unsupported_media_type',
    429: 'too_many_requests',
    500: 'server_error',
    503: 'service_unavailable',
  };
  const defaults: Record<number, string> = {
    401: 'Unauthorized',
    403: 'This user is not authorized to perform this action.',
    404: 'The requested resource was not found.',
    429: 'Too many requests',
    500: 'There was a problem with our internal service.',
    503: 'Our internal service is temporarily unavailable.',
  };
  return {
    status,
    body: [{ error_key: key[status] ?? 'error', error_message: message ?? defaults[status] ?? 'Bad request.' }],
  };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const uuid = (seed: string): string => {
  const h = createHash('sha256').update(seed).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

export async function startFakeConstantContact(opts: ConstantContactFakeOptions = {}): Promise<ConstantContactFake> {
  const clientId = opts.clientId ?? 'fake-client-id';
  const clientSecret = opts.clientSecret ?? 'fake-client-secret';
  const refreshToken = opts.refreshToken ?? 'fake-refresh-token-0';
  const now = opts.now ?? Date.now;
  const ttl = opts.accessTokenTtlSeconds ?? 86_400;
  const perSecond = opts.perSecond ?? 4;
  const perDay = opts.perDay ?? 10_000;
  const defaultLimit = opts.pageSize ?? 50;
  const switches = new FakeSwitches();
  const state: ConstantContactFakeState = {
    contacts: new Map(),
    lists: [
      { list_id: uuid('list:General Interest'), name: 'General Interest' },
      { list_id: uuid('list:Newsletter'), name: 'Newsletter' },
    ],
    activities: new Map(),
    refreshTokens: new Set([refreshToken]),
    accessTokens: new Map(),
    tokenGrants: 0,
    throttled: 0,
    customFields: [
      { custom_field_id: uuid('custom:favourite_colour'), name: 'favourite_colour', label: 'Favourite colour' },
    ],
    droppedImportFields: new Set(),
    droppedImportRows: 0,
    requestsToday: 0,
  };
  const window = { start: 0, count: 0 };
  /** Lower-cased email -> contact id (contacts keep their email; deleted ones stay in the index to be revived). */
  const emailIndex = new Map<string, string>();
  let counter = 0;

  const next = seededRandom(23);
  const base = now() - 10 * 86_400_000;
  for (let i = 0; i < (opts.seed?.contacts ?? 25); i++) {
    const p = fakePerson(i, next);
    // Pairs share an update second, so cursors must handle ties.
    const ms = Math.floor((base + Math.floor(i / 2) * 20_000) / 1000) * 1000;
    const id = uuid(`contact:${i}`);
    const stamp = isoSeconds(ms).replace('+00:00', 'Z');
    state.contacts.set(id, {
      contact_id: id,
      email_address: {
        address: p.email,
        permission_to_send: 'implicit',
        created_at: stamp,
        updated_at: stamp,
        opt_in_source: 'Account',
        confirm_status: 'off',
      },
      first_name: p.firstName,
      last_name: p.lastName,
      create_source: 'Account',
      created_at: stamp,
      updated_at: stamp,
      list_memberships: [state.lists[i % 2].list_id],
      updatedMs: ms,
    });
    emailIndex.set(p.email.toLowerCase(), id);
  }

  const setUpdated = (c: CtctContact): void => {
    c.updatedMs = Math.floor(now() / 1000) * 1000;
    c.updated_at = isoSeconds(c.updatedMs).replace('+00:00', 'Z');
  };

  const view = (c: CtctContact, include: string[]) => {
    const { updatedMs: _ms, list_memberships, ...rest } = c;
    return include.includes('list_memberships') ? { ...rest, list_memberships } : rest;
  };

  /** Creates or updates by email, as sign_up_form does (a deleted contact is revived). */
  const signUp = (
    fields: Record<string, unknown>,
    lists: string[],
  ): { status: number; contact?: CtctContact; error?: string } => {
    const email =
      typeof fields.email_address === 'string'
        ? fields.email_address.trim()
        : typeof fields.email === 'string'
          ? fields.email.trim()
          : '';
    if (!EMAIL.test(email)) return { status: 400, error: `Email address ${email || '(missing)'} is invalid.` };
    if (lists.length === 0 || lists.some((id) => !state.lists.some((l) => l.list_id === id)))
      return { status: 400, error: 'list_memberships must name 1 to 50 existing lists.' };
    const existing = state.contacts.get(emailIndex.get(email.toLowerCase()) ?? '');
    const updates: Record<string, unknown> = {};
    for (const field of ['first_name', 'last_name', 'job_title', 'company_name'])
      if (typeof fields[field] === 'string') updates[field] = fields[field];
    if (typeof fields.phone_number === 'string')
      updates.phone_numbers = [{ phone_number: fields.phone_number, kind: 'other' }];
    const address = fields.street_address as Record<string, string> | undefined;
    if (address && typeof address === 'object')
      updates.street_addresses = [
        {
          kind: address.kind ?? 'home',
          street: address.street,
          city: address.city,
          state: address.state,
          postal_code: address.postal_code,
          country: address.country,
        },
      ];
    if (Array.isArray(fields.custom_fields))
      updates.custom_fields = (fields.custom_fields as { custom_field_id: string; value: string }[]).filter((f) =>
        state.customFields.some((c) => c.custom_field_id === f.custom_field_id),
      );
    if (existing) {
      const before = JSON.stringify([existing, existing.deleted_at]);
      Object.assign(existing, updates);
      delete existing.deleted_at;
      existing.list_memberships = [...new Set([...existing.list_memberships, ...lists])];
      if (JSON.stringify([existing, existing.deleted_at]) !== before) setUpdated(existing);
      return { status: 200, contact: existing };
    }
    const stamp = isoSeconds(now()).replace('+00:00', 'Z');
    const contact: CtctContact = {
      contact_id: uuid(`contact:new:${counter++}:${email}`),
      email_address: {
        address: email,
        permission_to_send: 'explicit',
        created_at: stamp,
        updated_at: stamp,
        opt_in_source: 'Contact',
        confirm_status: 'off',
      },
      ...updates,
      create_source: 'Contact',
      created_at: stamp,
      updated_at: stamp,
      list_memberships: lists,
      updatedMs: 0,
    };
    setUpdated(contact);
    state.contacts.set(contact.contact_id, contact);
    emailIndex.set(email.toLowerCase(), contact.contact_id);
    return { status: 201, contact };
  };

  /** A JSON import row in the sign_up_form shape signUp reads; unknown fields are dropped as Constant Contact drops them. */
  const fromImportRow = (row: Record<string, unknown>): Record<string, unknown> => {
    const fields: Record<string, unknown> = {};
    const custom: { custom_field_id: string; value: string }[] = [];
    for (const [name, value] of Object.entries(row)) {
      if (name.startsWith('cf:')) {
        const field = state.customFields.find((c) => c.name === name.slice(3));
        if (field) custom.push({ custom_field_id: field.custom_field_id, value: String(value) });
        else state.droppedImportFields.add(name);
      } else if (!IMPORT_FIELDS.has(name)) state.droppedImportFields.add(name);
    }
    for (const name of ['email', 'first_name', 'last_name', 'job_title', 'company_name'])
      if (row[name] !== undefined) fields[name] = row[name];
    const phone = ['phone', 'other_phone', 'mobile_phone', 'home_phone', 'work_phone']
      .map((n) => row[n])
      .find((v) => typeof v === 'string');
    if (phone) fields.phone_number = phone;
    for (const [prefix, kind] of [
      ['', 'home'],
      ['home_', 'home'],
      ['work_', 'work'],
    ] as const) {
      if (typeof row[`${prefix}street`] === 'string' || typeof row[`${prefix}city`] === 'string') {
        fields.street_address = {
          kind,
          street: row[`${prefix}street`],
          city: row[`${prefix}city`],
          state: row[`${prefix}state`],
          postal_code: row[`${prefix}zip`],
          country: row[`${prefix}country`],
        };
        break;
      }
    }
    if (custom.length) fields.custom_fields = custom;
    return fields;
  };

  const handleToken = (req: FakeRequest): FakeResponse => {
    const form = new URLSearchParams(req.body.toString('utf8'));
    let id = form.get('client_id');
    const basic = req.headers.authorization;
    if (basic?.startsWith('Basic ')) {
      const [user, pass] = Buffer.from(basic.slice(6), 'base64').toString('utf8').split(':');
      if (user !== clientId || pass !== clientSecret)
        return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed.' } };
      id = user;
    }
    if (id !== clientId)
      return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed.' } };
    if (form.get('grant_type') !== 'refresh_token')
      return {
        status: 400,
        body: { error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported.' },
      };
    const presented = form.get('refresh_token') ?? '';
    if (!state.refreshTokens.has(presented))
      return {
        status: 400,
        body: { error: 'invalid_grant', error_description: 'The refresh token is invalid or expired.' },
      };
    state.tokenGrants++;
    let refresh = presented;
    if (opts.rotateRefreshTokens) {
      state.refreshTokens.delete(presented);
      refresh = `fake-refresh-token-${randomUUID()}`;
      state.refreshTokens.add(refresh);
    }
    const access = `fake-access-${randomUUID()}`;
    state.accessTokens.set(access, now() + ttl * 1000);
    return {
      status: 200,
      body: {
        token_type: 'Bearer',
        expires_in: ttl,
        access_token: access,
        scope: 'contact_data offline_access',
        refresh_token: refresh,
      },
    };
  };

  const handle = (req: FakeRequest): FakeResponse => {
    const path = req.url.pathname.replace(/\/+$/, '');
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const expires = state.accessTokens.get(token);
    if (expires === undefined || expires <= now()) return ctctError(401);
    let body: any;
    try {
      body = jsonBody(req);
    } catch {
      return ctctError(400, 'Request body is not valid JSON.');
    }
    const q = req.url.searchParams;
    const method = req.method;

    if (method === 'GET' && path === '/v3/account/summary')
      return {
        status: 200,
        body: {
          encoded_account_id: 'fake-account',
          organization_name: 'Fake Constant Contact',
          contact_email: 'owner@example.com',
          country_code: 'US',
          time_zone_id: 'UTC',
        },
      };
    if (method === 'GET' && path === '/v3/contact_custom_fields')
      return {
        status: 200,
        body: {
          custom_fields: state.customFields.map((f) => ({
            ...f,
            type: 'string',
            created_at: isoSeconds(base),
            updated_at: isoSeconds(base),
          })),
          _links: {},
        },
      };
    if (method === 'GET' && path === '/v3/contact_lists')
      return {
        status: 200,
        body: {
          lists: state.lists.map((l) => ({
            ...l,
            favorite: false,
            created_at: isoSeconds(base),
            updated_at: isoSeconds(base),
          })),
          lists_count: state.lists.length,
          _links: {},
        },
      };
    if (method === 'GET' && path === '/v3/contacts') {
      const limit = Number(q.get('limit') ?? defaultLimit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        return ctctError(400, 'limit must be between 1 and 500.');
      let rows = [...state.contacts.values()];
      const status = q.get('status') ?? 'active';
      if (status !== 'all') rows = rows.filter((c) => (status === 'deleted' ? c.deleted_at : !c.deleted_at));
      const email = q.get('email');
      if (email) rows = rows.filter((c) => c.email_address.address.toLowerCase() === email.toLowerCase());
      const after = q.get('updated_after');
      if (after) {
        const at = Date.parse(after);
        if (Number.isNaN(at)) return ctctError(400, `updated_after ${after} is not an ISO-8601 date-time.`);
        rows = rows.filter((c) => c.updatedMs > at);
      }
      rows.sort((a, b) => a.updatedMs - b.updatedMs || a.contact_id.localeCompare(b.contact_id));
      let start = 0;
      const cursor = q.get('cursor');
      if (cursor) {
        let position: [number, string];
        try {
          position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
        } catch {
          return ctctError(400, 'The cursor is invalid.');
        }
        start = rows.findIndex(
          (c) => c.updatedMs > position[0] || (c.updatedMs === position[0] && c.contact_id > position[1]),
        );
        if (start < 0) start = rows.length;
      }
      const slice = rows.slice(start, start + limit);
      const links: Record<string, unknown> = {};
      if (start + limit < rows.length) {
        const last = slice[slice.length - 1];
        const nextQuery = new URLSearchParams(q);
        nextQuery.set('cursor', Buffer.from(JSON.stringify([last.updatedMs, last.contact_id])).toString('base64url'));
        links.next = { href: `/v3/contacts?${nextQuery.toString()}` };
      }
      const include = (q.get('include') ?? '').split(',');
      return {
        status: 200,
        body: {
          contacts: slice.map((c) => view(c, include)),
          ...(q.get('include_count') === 'true' ? { contacts_count: rows.length } : {}),
          _links: links,
        },
      };
    }
    if (method === 'POST' && path === '/v3/contacts/sign_up_form') {
      if (typeof body !== 'object' || body === null) return ctctError(400, 'Request body is required.');
      const result = signUp(body, Array.isArray(body.list_memberships) ? body.list_memberships : []);
      if (!result.contact) return ctctError(result.status, result.error);
      return {
        status: result.status,
        body: { contact_id: result.contact.contact_id, action: result.status === 201 ? 'created' : 'updated' },
      };
    }
    const contactMatch = /^\/v3\/contacts\/([0-9a-f-]{36})$/.exec(path);
    if (contactMatch) {
      const contact = state.contacts.get(contactMatch[1]);
      if (!contact || (method === 'DELETE' && contact.deleted_at)) return ctctError(404);
      if (method === 'GET') return { status: 200, body: view(contact, ['list_memberships']) };
      if (method === 'DELETE') {
        setUpdated(contact);
        contact.deleted_at = contact.updated_at;
        return { status: 204 };
      }
      return ctctError(405, 'Method not allowed.');
    }
    if (method === 'POST' && path === '/v3/activities/contacts_json_import') {
      const rows = body?.import_data;
      const lists = body?.list_ids;
      if (!Array.isArray(rows) || rows.length === 0) return ctctError(400, 'import_data must be a non-empty array.');
      if (rows.length > 40_000) return ctctError(400, 'import_data accepts at most 40,000 contacts.');
      if (!Array.isArray(lists) || lists.length === 0) return ctctError(400, 'list_ids must name at least one list.');
      // Only contacts wholly within the first 4 MB of the body are imported; the rest is dropped without an error.
      let kept = rows.length;
      if (req.body.length > IMPORT_BYTES) {
        let end = '{"import_data":['.length;
        kept = 0;
        for (const row of rows) {
          end += Buffer.byteLength(JSON.stringify(row)) + 1;
          if (end > IMPORT_BYTES) break;
          kept++;
        }
        state.droppedImportRows += rows.length - kept;
      }
      const activity: Activity = {
        activity_id: uuid(`activity:${counter++}`),
        state: 'initialized',
        rows: rows.slice(0, kept),
        list_ids: lists,
        errors: [],
        created_at: isoSeconds(now()),
      };
      state.activities.set(activity.activity_id, activity);
      return { status: 201, body: activityView(activity) };
    }
    const activityMatch = /^\/v3\/activities\/([^/]+)$/.exec(path);
    if (method === 'GET' && activityMatch) {
      const activity = state.activities.get(activityMatch[1]);
      if (!activity) return ctctError(404);
      if (activity.state === 'initialized') activity.state = 'processing';
      else if (activity.state === 'processing') {
        activity.rows.forEach((row, index) => {
          const result = signUp(fromImportRow(row), activity.list_ids);
          if (!result.contact) activity.errors.push({ message: `Line ${index + 1}: ${result.error}` });
        });
        activity.state = 'completed';
      }
      return { status: 200, body: activityView(activity) };
    }
    return ctctError(404);
  };

  const activityView = (a: Activity) => ({
    activity_id: a.activity_id,
    state: a.state,
    created_at: a.created_at,
    updated_at: isoSeconds(now()),
    percent_done: a.state === 'completed' ? 100 : 0,
    activity_errors: a.errors,
    status: {
      items_total_count: a.rows.length,
      items_completed_count: a.state === 'completed' ? a.rows.length - a.errors.length : 0,
    },
    _links: { self: { href: `/v3/activities/${a.activity_id}` } },
  });

  const server = await serveFake(
    (req) => {
      // The token endpoint lives on Constant Contact's authorization server, outside the API's limit.
      if (req.url.pathname === '/oauth2/default/v1/token' && req.method === 'POST') return handleToken(req);
      const t = now();
      if (t - window.start >= 1000) {
        window.start = t;
        window.count = 0;
      }
      if (++state.requestsToday > perDay)
        return {
          status: 429,
          body: [
            { error_key: 'quota_exceeded', error_message: 'The daily request quota for this API key is exhausted.' },
          ],
        };
      if (++window.count > perSecond) {
        state.throttled++;
        return { status: 429, body: [{ error_key: 'throttled', error_message: 'Too many requests per second.' }] };
      }
      return handle(req);
    },
    { framing: MARKETING_FRAMING, faults: { switches, body: (status) => ctctError(status, 'Injected failure').body } },
  );

  const revoke = (): void => {
    state.refreshTokens.clear();
    state.accessTokens.clear();
  };

  return {
    url: server.url,
    clientId,
    clientSecret,
    refreshToken,
    state,
    listId: (name) => {
      const list = state.lists.find((l) => l.name === name);
      if (!list) throw new Error(`fake Constant Contact has no list ${name}`);
      return list.list_id;
    },
    expireAccessTokens: () => {
      for (const token of state.accessTokens.keys()) state.accessTokens.set(token, now() - 1);
    },
    ids: () => [...state.contacts.values()].filter((c) => !c.deleted_at).map((c) => c.contact_id),
    snapshot: () =>
      [...state.contacts.values()].map((c) => ({ ...c })).sort((a, b) => a.contact_id.localeCompare(b.contact_id)),
    remove: (_object, id) => {
      const contact = state.contacts.get(id);
      if (!contact) throw new Error(`fake Constant Contact: no contact ${id}`);
      setUpdated(contact);
      contact.deleted_at = contact.updated_at;
    },
    touch: (_object, id) => {
      const contact = state.contacts.get(id);
      if (!contact) throw new Error(`fake Constant Contact: no contact ${id}`);
      contact.job_title = `Touched ${counter++}`;
      setUpdated(contact);
    },
    requestCount: () => switches.requestCount(),
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: revoke,
    restoreAuth: () => {
      state.refreshTokens.add(refreshToken);
    },
    close: () => server.close(),
  };
}
