/**
 * A local Klaviyo API (JSON:API, revisioned) for tests and the demo: `Authorization: Klaviyo-API-Key`,
 * a required `revision` header, profiles and events with `filter=` expressions, `sort`, `page[size]`
 * and `page[cursor]` with `links.next`, POST /api/profile-import upserts, bulk profile import jobs
 * (10,000 profiles at most) with import errors, data-privacy deletion jobs, the burst (1 s) and
 * steady (1 min) fixed windows with RateLimit-* headers and 429 + Retry-After, and Klaviyo's
 * `{ errors: [...] }` bodies. Every request is checked against Klaviyo's OpenAPI description
 * (operations.json, derived by extract-operations.py): an undocumented operation or query
 * parameter, a value out of bounds or a body of another type is answered 400 and recorded in
 * `violations()`. Revisions more than two years old answer 410, as Klaviyo retires them; each
 * endpoint has its own documented burst and steady windows, declared in `RateLimit-Limit`.
 */
import { createHash, randomUUID } from 'crypto';
import type { Fake } from '@data-sync/integrations/contract/connector-contract';
import operationsSpec from './operations.json';
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

export interface KlaviyoProfile {
  id: string;
  attributes: Record<string, unknown> & {
    email?: string | null;
    phone_number?: string | null;
    external_id?: string | null;
    properties: Record<string, unknown>;
    created: string;
    updated: string;
  };
  updatedMs: number;
}

export interface KlaviyoEvent {
  id: string;
  metricId: string;
  profileId: string;
  datetimeMs: number;
  properties: Record<string, unknown>;
}

interface BulkJob {
  id: string;
  status: 'queued' | 'processing' | 'complete';
  profiles: Record<string, unknown>[];
  listIds: string[];
  created_at: string;
  completed_at: string | null;
  errors: { index: number; detail: string; payload: unknown }[];
}

export interface KlaviyoFakeOptions {
  readonly apiKey?: string;
  /** Records per object: `profiles` and the metric objects `email_open`, `email_click`, `purchase`. */
  readonly seed?: Readonly<Record<string, number>>;
  /** Default page[size] when the client sends none (Klaviyo: 20 for profiles). */
  readonly pageSize?: number;
  /** Requests allowed per 1 s burst window and per 1 min steady window on every endpoint; default: each endpoint's documented limits. */
  readonly burst?: number;
  readonly steady?: number;
  readonly now?: () => number;
}

export interface KlaviyoFakeState {
  apiKey: string;
  revoked: boolean;
  readonly profiles: Map<string, KlaviyoProfile>;
  readonly metrics: { id: string; name: string }[];
  readonly events: KlaviyoEvent[];
  readonly bulkJobs: Map<string, BulkJob>;
  readonly deletionRequests: Record<string, unknown>[];
  /** Revision headers received. */
  readonly revisions: Set<string>;
  /** Requests answered 429 by the rate windows (injected faults not counted). */
  throttled: number;
  /** Requests that broke the OpenAPI description, as `METHOD path: what`. */
  readonly violations: string[];
}

interface Operation {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, { type?: string; minimum?: number; maximum?: number; enum?: string[] }>;
  readonly bodyType: string | null;
  readonly rateLimit: { burst: number; steady: number } | null;
}

const OPERATIONS: readonly (Operation & { pattern: RegExp })[] = (operationsSpec.operations as Operation[]).map(
  (op) => ({
    ...op,
    pattern: new RegExp(`^${op.path.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }),
);
/** The revision the description is of: the newest this fake knows. */
export const LATEST_REVISION: string = operationsSpec.revision;

/** A request's operation, or what about it the description does not allow. */
function checkRequest(
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
): { op?: Operation; violation?: string } {
  const candidates = OPERATIONS.filter((o) => o.pattern.test(path));
  // A literal path wins over a template that also matches it (/api/profile-import vs /api/profiles/{id}).
  const op =
    candidates.find((o) => o.method === method && !o.path.includes('{')) ?? candidates.find((o) => o.method === method);
  if (!op) return { violation: `${method} ${path} is not an operation of the API` };
  for (const [name, value] of query) {
    const param = op.query[name];
    if (!param) return { op, violation: `query parameter ${name} is not accepted by ${method} ${op.path}` };
    if (param.type === 'integer') {
      const n = Number(value);
      if (
        !Number.isInteger(n) ||
        (param.minimum !== undefined && n < param.minimum) ||
        (param.maximum !== undefined && n > param.maximum)
      ) {
        return { op, violation: `${name}=${value} is outside ${param.minimum ?? '-inf'}..${param.maximum ?? 'inf'}` };
      }
    }
    if (param.enum && !param.enum.includes(value))
      return { op, violation: `${name}=${value} is not one of ${param.enum.slice(0, 6).join(', ')}…` };
  }
  if (op.bodyType) {
    const type = (body as { data?: { type?: unknown } } | undefined)?.data?.type;
    if (type !== op.bodyType)
      return { op, violation: `body data.type must be ${op.bodyType}, got ${JSON.stringify(type)}` };
  }
  return { op };
}

/** Klaviyo retires a revision two years after its release date. */
function retired(revision: string, now: number): boolean {
  const released = Date.parse(`${revision.slice(0, 10)}T00:00:00Z`);
  const retiredAt = new Date(released);
  retiredAt.setUTCFullYear(retiredAt.getUTCFullYear() + 2);
  return retiredAt.getTime() <= now;
}

export interface KlaviyoFake extends Fake {
  readonly apiKey: string;
  readonly state: KlaviyoFakeState;
  metricId(object: string): string;
}

export const METRIC_NAMES: Readonly<Record<string, string>> = {
  email_open: 'Opened Email',
  email_click: 'Clicked Email',
  purchase: 'Placed Order',
};

const STATUS_TITLES: Record<number, [string, string]> = {
  400: ['invalid', 'Invalid input.'],
  401: ['not_authenticated', 'Authentication credentials were not provided.'],
  403: ['permission_denied', 'You do not have permission to perform this action.'],
  404: ['not_found', 'Not found.'],
  405: ['method_not_allowed', 'Method not allowed.'],
  409: ['duplicate_profile', 'Conflict.'],
  410: ['gone', 'Gone.'],
  429: ['throttled', 'Request was throttled.'],
  500: ['error', 'A server error occurred.'],
  503: ['service_unavailable', 'Service unavailable.'],
};

function errors(status: number, detail: string, pointer?: string, headers?: Record<string, string>): FakeResponse {
  const [code, title] = STATUS_TITLES[status] ?? ['error', 'Error.'];
  return {
    status,
    headers: { ...headers, 'content-type': 'application/vnd.api+json' },
    body: {
      errors: [
        { id: randomUUID(), status, code, title, detail, source: pointer ? { pointer } : {}, links: {}, meta: {} },
      ],
    },
  };
}

function ulid(seed: string): string {
  return createHash('sha256')
    .update(seed)
    .digest('hex')
    .toUpperCase()
    .replace(/[^0-9A-Z]/g, '')
    .slice(0, 26)
    .replace(/^./, '0');
}

/** Splits `a(b,c),d(e)` at top-level commas, leaving commas inside parentheses or quotes alone. */
function topLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && c === ',') {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter(Boolean);
}

interface Condition {
  readonly op: string;
  readonly field: string;
  readonly value: string;
}

function parseFilter(filter: string | null): Condition[] | string {
  if (!filter) return [];
  const conditions: Condition[] = [];
  for (const part of topLevel(filter)) {
    const match = /^([a-z-]+)\(([a-z_.]+),(.+)\)$/.exec(part);
    if (!match) return `Invalid filter expression: ${part}`;
    conditions.push({ op: match[1], field: match[2], value: match[3].replace(/^"(.*)"$/, '$1') });
  }
  return conditions;
}

function compare(op: string, left: number | string | undefined, right: number | string): boolean {
  if (left === undefined) return false;
  switch (op) {
    case 'equals':
      return left === right;
    case 'greater-than':
      return left > right;
    case 'greater-or-equal':
      return left >= right;
    case 'less-than':
      return left < right;
    case 'less-or-equal':
      return left <= right;
    default:
      return false;
  }
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PROFILE_FIELDS = [
  'email',
  'phone_number',
  'external_id',
  'first_name',
  'last_name',
  'organization',
  'title',
  'image',
  'location',
];

export async function startFakeKlaviyo(opts: KlaviyoFakeOptions = {}): Promise<KlaviyoFake> {
  const apiKey = opts.apiKey ?? 'pk_fake_0123456789abcdef0123456789abcdef';
  const now = opts.now ?? Date.now;
  const defaultPageSize = opts.pageSize ?? 20;
  const switches = new FakeSwitches();
  const state: KlaviyoFakeState = {
    apiKey,
    revoked: false,
    profiles: new Map(),
    metrics: [],
    events: [],
    bulkJobs: new Map(),
    deletionRequests: [],
    revisions: new Set(),
    throttled: 0,
    violations: [],
  };
  /** Fixed windows per account and endpoint, as Klaviyo counts them. */
  const windowsByEndpoint = new Map<
    string,
    { burstStart: number; burstCount: number; steadyStart: number; steadyCount: number }
  >();
  /** Lower-cased email -> profile id, so imports of many profiles stay linear. */
  const emailIndex = new Map<string, string>();
  let counter = 0;

  const seed = opts.seed ?? { profiles: 25, email_open: 30, email_click: 10, purchase: 5 };
  const next = seededRandom(11);
  const base = now() - 20 * 86_400_000;
  for (let i = 0; i < (seed.profiles ?? 0); i++) {
    const p = fakePerson(i, next);
    // Pairs of profiles share an update second, so cursors must handle ties.
    const ms = base + Math.floor(i / 2) * 30_000;
    const id = ulid(`profile:${i}`);
    state.profiles.set(id, {
      id,
      attributes: {
        email: p.email,
        phone_number: null,
        external_id: null,
        first_name: p.firstName,
        last_name: p.lastName,
        organization: null,
        title: null,
        image: null,
        location: null,
        properties: {},
        created: isoSeconds(ms),
        updated: isoSeconds(ms),
      },
      updatedMs: Math.floor(ms / 1000) * 1000,
    });
    emailIndex.set(p.email.toLowerCase(), id);
  }
  for (const [object, name] of Object.entries(METRIC_NAMES))
    state.metrics.push({ id: ulid(`metric:${object}`).slice(0, 6), name });
  const profileIds = [...state.profiles.keys()];
  for (const [object, name] of Object.entries(METRIC_NAMES)) {
    const metric = state.metrics.find((m) => m.name === name)!;
    for (let i = 0; i < (seed[object] ?? 0); i++) {
      const ms = Math.floor((base + i * 45_000) / 1000) * 1000;
      state.events.push({
        id: ulid(`event:${object}:${i}`).slice(0, 20),
        metricId: metric.id,
        profileId: profileIds[i % Math.max(1, profileIds.length)] ?? '',
        datetimeMs: ms,
        properties: { $message: `msg-${i % 4}`, Subject: 'Hello' },
      });
    }
  }

  const profileView = (p: KlaviyoProfile, url: string) => ({
    type: 'profile',
    id: p.id,
    attributes: { ...p.attributes },
    relationships: {
      lists: { links: { self: `${url}/api/profiles/${p.id}/relationships/lists/` } },
      segments: { links: { self: `${url}/api/profiles/${p.id}/relationships/segments/` } },
    },
    links: { self: `${url}/api/profiles/${p.id}/` },
  });
  const eventView = (e: KlaviyoEvent, url: string) => ({
    type: 'event',
    id: e.id,
    attributes: {
      timestamp: Math.floor(e.datetimeMs / 1000),
      event_properties: e.properties,
      datetime: isoSeconds(e.datetimeMs),
      uuid: createHash('md5').update(e.id).digest('hex'),
    },
    relationships: {
      profile: { data: { type: 'profile', id: e.profileId } },
      metric: { data: { type: 'metric', id: e.metricId } },
    },
    links: { self: `${url}/api/events/${e.id}/` },
  });

  /** Sorted keyset paging: the cursor is the (sort value, id) of the last row served. */
  function page<T extends { id: string }>(
    rows: T[],
    key: (row: T) => number | string,
    req: FakeRequest,
    maxSize: number,
    render: (row: T) => unknown,
    url: string,
  ): FakeResponse {
    const sort = req.url.searchParams.get('sort');
    const desc = sort?.startsWith('-') ?? false;
    const size = Number(req.url.searchParams.get('page[size]') ?? defaultPageSize);
    if (!Number.isInteger(size) || size < 1 || size > maxSize)
      return errors(400, `page[size] must be an integer between 1 and ${maxSize}.`, undefined);
    const ordered = [...rows].sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      const c = ka < kb ? -1 : ka > kb ? 1 : a.id.localeCompare(b.id);
      return desc ? -c : c;
    });
    let start = 0;
    const cursor = req.url.searchParams.get('page[cursor]');
    if (cursor) {
      let after: [number | string, string];
      try {
        after = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      } catch {
        return errors(400, 'Invalid page cursor.', undefined);
      }
      start = ordered.findIndex((row) => {
        const k = key(row);
        const c = k < after[0] ? -1 : k > after[0] ? 1 : row.id.localeCompare(after[1]);
        return desc ? c < 0 : c > 0;
      });
      if (start < 0) start = ordered.length;
    }
    const slice = ordered.slice(start, start + size);
    const self = `${url}${req.url.pathname}${req.url.search}`;
    let nextLink: string | null = null;
    if (start + size < ordered.length) {
      const last = slice[slice.length - 1];
      const nextUrl = new URL(self);
      nextUrl.searchParams.set('page[cursor]', Buffer.from(JSON.stringify([key(last), last.id])).toString('base64url'));
      nextLink = nextUrl.toString();
    }
    return {
      status: 200,
      headers: { 'content-type': 'application/vnd.api+json' },
      body: { data: slice.map(render), links: { self, next: nextLink, prev: null } },
    };
  }

  const setUpdated = (p: KlaviyoProfile): void => {
    const ms = Math.floor(now() / 1000) * 1000;
    p.updatedMs = ms;
    p.attributes.updated = isoSeconds(ms);
  };

  /** Creates or updates by id, email, phone_number or external_id, as /api/profile-import does. */
  const importProfile = (
    attributes: Record<string, unknown>,
    id?: string,
  ): { status: number; profile?: KlaviyoProfile; error?: string; pointer?: string } => {
    const email = typeof attributes.email === 'string' ? attributes.email.trim() : undefined;
    if (email !== undefined && !EMAIL.test(email))
      return { status: 400, error: `Invalid email address: ${email}`, pointer: '/data/attributes/email' };
    if (!id && !email && !attributes.phone_number && !attributes.external_id)
      return {
        status: 400,
        error: 'One of email, phone_number, external_id or id is required.',
        pointer: '/data/attributes',
      };
    const byEmail = email ? state.profiles.get(emailIndex.get(email.toLowerCase()) ?? '') : undefined;
    const existing =
      (id ? state.profiles.get(id) : undefined) ??
      byEmail ??
      (attributes.phone_number || attributes.external_id
        ? [...state.profiles.values()].find(
            (p) =>
              (attributes.phone_number && p.attributes.phone_number === attributes.phone_number) ||
              (attributes.external_id && p.attributes.external_id === attributes.external_id),
          )
        : undefined);
    if (id && !existing) return { status: 404, error: `Profile ${id} not found.` };
    const updates: Record<string, unknown> = {};
    for (const field of PROFILE_FIELDS)
      if (attributes[field] !== undefined && attributes[field] !== null)
        updates[field] = field === 'email' ? email : attributes[field];
    const properties = (attributes.properties ?? {}) as Record<string, unknown>;
    if (existing) {
      const before = JSON.stringify(existing.attributes);
      if (existing.attributes.email) emailIndex.delete(existing.attributes.email.toLowerCase());
      Object.assign(existing.attributes, updates);
      if (existing.attributes.email) emailIndex.set(existing.attributes.email.toLowerCase(), existing.id);
      existing.attributes.properties = { ...existing.attributes.properties, ...properties };
      if (JSON.stringify(existing.attributes) !== before) setUpdated(existing);
      return { status: 200, profile: existing };
    }
    const newId = ulid(`profile:new:${counter++}:${email ?? attributes.phone_number ?? attributes.external_id}`);
    const stamp = isoSeconds(now());
    const profile: KlaviyoProfile = {
      id: newId,
      attributes: {
        email: undefined,
        phone_number: undefined,
        external_id: undefined,
        first_name: null,
        last_name: null,
        organization: null,
        title: null,
        image: null,
        location: null,
        ...updates,
        properties,
        created: stamp,
        updated: stamp,
      } as KlaviyoProfile['attributes'],
      updatedMs: 0,
    };
    setUpdated(profile);
    state.profiles.set(newId, profile);
    if (email) emailIndex.set(email.toLowerCase(), newId);
    return { status: 201, profile };
  };

  const rateLimit = (op: Operation, method: string): { limited?: FakeResponse; headers: Record<string, string> } => {
    const limits = {
      burst: opts.burst ?? op.rateLimit?.burst ?? 75,
      steady: opts.steady ?? op.rateLimit?.steady ?? 700,
    };
    const key = `${method} ${op.path}`;
    let windows = windowsByEndpoint.get(key);
    if (!windows)
      windowsByEndpoint.set(key, (windows = { burstStart: 0, burstCount: 0, steadyStart: 0, steadyCount: 0 }));
    const t = now();
    if (t - windows.burstStart >= 1000) {
      windows.burstStart = t;
      windows.burstCount = 0;
    }
    if (t - windows.steadyStart >= 60_000) {
      windows.steadyStart = t;
      windows.steadyCount = 0;
    }
    const policy = `${limits.burst}, ${limits.burst};w=1, ${limits.steady};w=60`;
    if (windows.burstCount >= limits.burst || windows.steadyCount >= limits.steady) {
      const wait =
        windows.steadyCount >= limits.steady ? windows.steadyStart + 60_000 - t : windows.burstStart + 1000 - t;
      const seconds = Math.max(1, Math.ceil(wait / 1000));
      state.throttled++;
      return {
        headers: {},
        limited: errors(
          429,
          `Request was throttled. Expected available in ${seconds} second${seconds === 1 ? '' : 's'}.`,
          undefined,
          { 'Retry-After': String(seconds) },
        ),
      };
    }
    windows.burstCount++;
    windows.steadyCount++;
    // Remaining and Reset describe the steady window (Klaviyo's rate limit guide).
    return {
      headers: {
        'RateLimit-Limit': policy,
        'RateLimit-Remaining': String(limits.steady - windows.steadyCount),
        'RateLimit-Reset': String(Math.max(0, Math.ceil((windows.steadyStart + 60_000 - t) / 1000))),
      },
    };
  };

  let baseUrl = '';
  const handle = (req: FakeRequest): FakeResponse => {
    const path = req.url.pathname.replace(/\/+$/, '');
    const auth = req.headers.authorization ?? '';
    if (!auth) return errors(401, 'Authentication credentials were not provided.');
    if (state.revoked || auth !== `Klaviyo-API-Key ${state.apiKey}`)
      return {
        ...errors(401, 'Incorrect authentication credentials.'),
        body: {
          errors: [
            {
              id: randomUUID(),
              status: 401,
              code: 'not_authenticated',
              title: 'Incorrect authentication credentials.',
              detail: 'Incorrect authentication credentials.',
              source: {},
              links: {},
              meta: {},
            },
          ],
        },
      };
    const revision = req.headers.revision;
    if (typeof revision !== 'string' || !/^\d{4}-\d{2}-\d{2}(\.pre)?$/.test(revision))
      return errors(400, 'A valid revision header (YYYY-MM-DD) is required.', undefined);
    state.revisions.add(revision);
    if (revision.slice(0, 10) > LATEST_REVISION)
      return errors(400, `Invalid revision ${revision}: no such revision.`, undefined);
    if (retired(revision, now()))
      return errors(
        410,
        `Revision ${revision} has been retired. Use a current revision such as ${LATEST_REVISION}.`,
        undefined,
      );
    let body: any;
    try {
      body = jsonBody(req);
    } catch {
      return errors(400, 'JSON parse error.', undefined);
    }
    const method = req.method;
    const checked = checkRequest(method, path, req.url.searchParams, body);
    if (checked.violation) {
      state.violations.push(`${method} ${path}: ${checked.violation}`);
      return errors(400, checked.violation, undefined);
    }
    const limit = rateLimit(checked.op!, method);
    if (limit.limited) return limit.limited;
    const response = route(req, path, method, body);
    return { ...response, headers: { ...limit.headers, ...(response.headers ?? {}) } };
  };

  const route = (req: FakeRequest, path: string, method: string, body: any): FakeResponse => {
    if (method === 'GET' && path === '/api/accounts') {
      return {
        status: 200,
        body: {
          data: [
            {
              type: 'account',
              id: 'FakeAcct',
              attributes: {
                test_account: true,
                contact_information: { organization_name: 'Fake Klaviyo' },
                timezone: 'UTC',
              },
            },
          ],
          links: { self: `${baseUrl}/api/accounts/`, next: null, prev: null },
        },
      };
    }
    if (method === 'GET' && path === '/api/metrics') {
      return {
        status: 200,
        body: {
          data: state.metrics.map((m) => ({
            type: 'metric',
            id: m.id,
            attributes: {
              name: m.name,
              created: isoSeconds(0),
              updated: isoSeconds(0),
              integration: { name: 'Klaviyo', category: 'Internal' },
            },
          })),
          links: { self: `${baseUrl}/api/metrics/`, next: null, prev: null },
        },
      };
    }
    if (method === 'GET' && path === '/api/profiles') {
      const conditions = parseFilter(req.url.searchParams.get('filter'));
      if (typeof conditions === 'string') return errors(400, conditions, undefined);
      let rows = [...state.profiles.values()];
      for (const c of conditions) {
        if (['updated', 'created'].includes(c.field)) {
          const at = Date.parse(c.value);
          if (Number.isNaN(at)) return errors(400, `Invalid datetime ${c.value}`, undefined);
          rows = rows.filter((p) =>
            compare(c.op, c.field === 'updated' ? p.updatedMs : Date.parse(p.attributes.created), at),
          );
        } else if (['email', 'phone_number', 'external_id', 'id'].includes(c.field) && c.op === 'equals') {
          rows = rows.filter((p) => (c.field === 'id' ? p.id : p.attributes[c.field]) === c.value);
        } else return errors(400, `Unsupported filter ${c.op}(${c.field})`, undefined);
      }
      const sort = (req.url.searchParams.get('sort') ?? 'id').replace(/^-/, '');
      if (!['id', 'created', 'updated', 'email'].includes(sort))
        return errors(400, `Invalid sort field ${sort}`, undefined);
      const key = (p: KlaviyoProfile): number | string =>
        sort === 'updated'
          ? p.updatedMs
          : sort === 'created'
            ? Date.parse(p.attributes.created)
            : sort === 'email'
              ? (p.attributes.email ?? '')
              : p.id;
      return page(rows, key, req, 100, (p) => profileView(p, baseUrl), baseUrl);
    }
    if (method === 'GET' && path === '/api/events') {
      const conditions = parseFilter(req.url.searchParams.get('filter'));
      if (typeof conditions === 'string') return errors(400, conditions, undefined);
      let rows = [...state.events];
      for (const c of conditions) {
        if (c.field === 'metric_id' && c.op === 'equals') rows = rows.filter((e) => e.metricId === c.value);
        else if (c.field === 'profile_id' && c.op === 'equals') rows = rows.filter((e) => e.profileId === c.value);
        else if (c.field === 'datetime') {
          const at = Date.parse(c.value);
          if (Number.isNaN(at)) return errors(400, `Invalid datetime ${c.value}`, undefined);
          rows = rows.filter((e) => compare(c.op, e.datetimeMs, at));
        } else return errors(400, `Unsupported filter ${c.op}(${c.field})`, undefined);
      }
      const sort = (req.url.searchParams.get('sort') ?? 'datetime').replace(/^-/, '');
      if (!['datetime', 'timestamp'].includes(sort)) return errors(400, `Invalid sort field ${sort}`, undefined);
      return page(
        rows,
        (e) => e.datetimeMs,
        req,
        200,
        (e) => eventView(e, baseUrl),
        baseUrl,
      );
    }
    if (method === 'POST' && path === '/api/profile-import') {
      const data = body?.data;
      if (data?.type !== 'profile' || typeof data.attributes !== 'object')
        return errors(400, 'data must be a profile resource object.', '/data');
      const result = importProfile(data.attributes, data.id);
      if (!result.profile) return errors(result.status, result.error ?? 'invalid', result.pointer);
      return {
        status: result.status,
        headers: { 'content-type': 'application/vnd.api+json' },
        body: { data: profileView(result.profile, baseUrl) },
      };
    }
    if (method === 'POST' && path === '/api/profile-bulk-import-jobs') {
      const data = body?.data;
      const profiles = data?.attributes?.profiles?.data;
      if (data?.type !== 'profile-bulk-import-job' || !Array.isArray(profiles))
        return errors(400, 'data.attributes.profiles.data must be an array of profiles.', '/data/attributes/profiles');
      if (profiles.length > 10_000)
        return errors(400, 'A bulk import job accepts at most 10,000 profiles.', '/data/attributes/profiles/data');
      if (req.body.length > 5 * 1024 * 1024) return errors(400, 'Payload exceeds 5 MB.', '/data');
      const job: BulkJob = {
        id: randomUUID().replace(/-/g, ''),
        status: 'queued',
        profiles: profiles.map((p: { attributes?: Record<string, unknown> }) => p?.attributes ?? {}),
        listIds: (data.relationships?.lists?.data ?? []).map((l: { id: string }) => l.id),
        created_at: isoSeconds(now()),
        completed_at: null,
        errors: [],
      };
      state.bulkJobs.set(job.id, job);
      return { status: 202, headers: { 'content-type': 'application/vnd.api+json' }, body: { data: bulkView(job) } };
    }
    const jobMatch = /^\/api\/profile-bulk-import-jobs\/([^/]+)(\/import-errors)?$/.exec(path);
    if (method === 'GET' && jobMatch) {
      const job = state.bulkJobs.get(jobMatch[1]);
      if (!job) return errors(404, `Bulk import job ${jobMatch[1]} not found.`);
      if (jobMatch[2]) {
        return page(
          job.errors.map((e) => ({ ...e, id: `${job.id}-${e.index}` })),
          (e) => e.index,
          req,
          100,
          (e) => ({
            type: 'import-error',
            id: e.id,
            attributes: {
              code: 'invalid',
              title: 'Invalid input.',
              detail: e.detail,
              source: { pointer: `/data/attributes/profiles/data/${e.index}/attributes/email` },
              original_payload: e.payload,
            },
          }),
          baseUrl,
        );
      }
      // Jobs run asynchronously: queued, then processing, then complete on later polls.
      if (job.status === 'queued') job.status = 'processing';
      else if (job.status === 'processing') {
        job.profiles.forEach((attributes, index) => {
          const result = importProfile(attributes);
          if (!result.profile) job.errors.push({ index, detail: result.error ?? 'invalid', payload: attributes });
        });
        job.status = 'complete';
        job.completed_at = isoSeconds(now());
      }
      return { status: 200, headers: { 'content-type': 'application/vnd.api+json' }, body: { data: bulkView(job) } };
    }
    if (method === 'POST' && path === '/api/data-privacy-deletion-jobs') {
      const profile = body?.data?.attributes?.profile?.data;
      if (body?.data?.type !== 'data-privacy-deletion-job' || typeof profile !== 'object' || profile === null)
        return errors(400, 'data.attributes.profile.data is required.', '/data/attributes/profile');
      const identifiers = [profile.id, profile.attributes?.email, profile.attributes?.phone_number].filter(
        (v) => v !== undefined,
      );
      if (identifiers.length !== 1)
        return errors(400, 'Exactly one of id, email or phone_number must be given.', '/data/attributes/profile/data');
      state.deletionRequests.push(profile);
      for (const p of [...state.profiles.values()]) {
        if (
          p.id === profile.id ||
          (profile.attributes?.email &&
            p.attributes.email?.toLowerCase() === String(profile.attributes.email).toLowerCase()) ||
          (profile.attributes?.phone_number && p.attributes.phone_number === profile.attributes.phone_number)
        ) {
          state.profiles.delete(p.id);
          if (p.attributes.email) emailIndex.delete(p.attributes.email.toLowerCase());
          for (let i = state.events.length - 1; i >= 0; i--)
            if (state.events[i].profileId === p.id) state.events.splice(i, 1);
        }
      }
      return { status: 202 };
    }
    return errors(404, `No route for ${method} ${path}.`);
  };

  const bulkView = (job: BulkJob) => ({
    type: 'profile-bulk-import-job',
    id: job.id,
    attributes: {
      status: job.status,
      created_at: job.created_at,
      total_count: job.profiles.length,
      completed_count: job.status === 'complete' ? job.profiles.length - job.errors.length : 0,
      failed_count: job.errors.length,
      completed_at: job.completed_at,
      expires_at: isoSeconds(now() + 7 * 86_400_000),
      started_at: job.status === 'queued' ? null : job.created_at,
    },
    links: { self: `${baseUrl}/api/profile-bulk-import-jobs/${job.id}/` },
  });

  const server = await serveFake((req) => handle(req), {
    framing: MARKETING_FRAMING,
    faults: { switches, body: (status) => errors(status, 'Injected failure').body },
  });
  baseUrl = server.url;

  const metricOf = (object: string): string => {
    const name = METRIC_NAMES[object];
    const metric = state.metrics.find((m) => m.name === name);
    if (!metric) throw new Error(`fake Klaviyo: unknown object ${object}`);
    return metric.id;
  };
  const isProfiles = (object: string) => object === 'profiles';

  return {
    url: server.url,
    apiKey,
    state,
    metricId: metricOf,
    ids: (object) =>
      isProfiles(object)
        ? [...state.profiles.keys()]
        : state.events.filter((e) => e.metricId === metricOf(object)).map((e) => e.id),
    snapshot: (object) =>
      isProfiles(object)
        ? [...state.profiles.values()]
            .map((p) => ({ id: p.id, ...p.attributes }))
            .sort((a, b) => a.id.localeCompare(b.id))
        : state.events.filter((e) => e.metricId === metricOf(object)).map((e) => ({ ...e })),
    remove: (object, id) => {
      if (!isProfiles(object) || !state.profiles.delete(id)) throw new Error(`fake Klaviyo: no profile ${id}`);
    },
    touch: (object, id) => {
      if (isProfiles(object)) {
        const p = state.profiles.get(id);
        if (!p) throw new Error(`fake Klaviyo: no profile ${id}`);
        p.attributes.properties = { ...p.attributes.properties, touched: now() };
        setUpdated(p);
      } else {
        const original = state.events.find((e) => e.id === id);
        if (!original) throw new Error(`fake Klaviyo: no event ${id}`);
        // Events are immutable: a "change" is a new event of the same metric.
        state.events.push({
          ...original,
          id: `${original.id}-t${counter++}`,
          datetimeMs: Math.floor(now() / 1000) * 1000,
        });
      }
    },
    requestCount: () => switches.requestCount(),
    violations: () => [...state.violations],
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: () => {
      state.revoked = true;
    },
    restoreAuth: () => {
      state.revoked = false;
    },
    close: () => server.close(),
  };
}
