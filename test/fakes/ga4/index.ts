/**
 * A local Google Analytics 4 for tests and the demo, on one port for all of its hosts: the OAuth2
 * token endpoint (`POST /token`, JWT bearer grant: the RS256 assertion is verified against the
 * service account's public key, `aud` and `exp` checked), the Data API
 * (`POST /v1beta/properties/{id}:runReport`: date ranges with `today`/`NdaysAgo`, dimensions and
 * metrics aggregated from generated daily rows, `orderBys`, `limit`/`offset`, `rowCount`,
 * `propertyQuota`, Google's `{ error: { code, message, status } }` errors), the Measurement Protocol
 * (`/mp/collect` answers 204 to anything and keeps valid events; `/debug/mp/collect` answers
 * `validationMessages`) and the User Deletion API (`userDeletionRequests:upsert`). Days are UTC.
 * Data API requests are checked against the methods and schemas of its discovery document
 * (operations.json, derived by extract-operations.py); what breaks them is answered 400 and listed by
 * violations(). The token endpoint, the Measurement Protocol and the User Deletion API are other APIs.
 */
import { createVerify, generateKeyPairSync, randomUUID } from 'crypto';
import type { Fake } from '@data-sync/integrations/contract/connector-contract';
import {
  FakeSwitches,
  MARKETING_FRAMING,
  jsonBody,
  seededRandom,
  serveFake,
  type FakeRequest,
  type FakeResponse,
} from '@data-sync/integrations/contract/fake-kit';
import { checkRequest, type Description } from '../described/operations';
import operations from './operations.json';

// JSON imports are typed by their values, too narrowly for the rule types.
const DATA_API = operations as unknown as Description;

/** One generated row at the finest grain: a day, an event name and a country. */
interface BaseRow {
  date: string;
  eventName: string;
  country: string;
  eventCount: number;
  activeUsers: number;
  sessions: number;
}

export interface Ga4FakeOptions {
  readonly seed?: Readonly<Record<string, number>>;
  readonly propertyId?: string;
  readonly now?: () => number;
}

export interface Ga4Fake extends Fake {
  readonly credentials: {
    propertyId: string;
    clientEmail: string;
    privateKey: string;
    privateKeyId: string;
    measurementId: string;
    apiSecret: string;
  };
  readonly collected: { client_id: string; user_id?: string; name: string; params: Record<string, unknown> }[];
  readonly userDeletions: { type: string; userId: string; propertyId: string }[];
  /** runReport requests received. */
  readonly reports: Record<string, unknown>[];
}

const EVENT_NAMES = ['page_view', 'session_start', 'sign_up', 'purchase'];
const COUNTRIES = ['Germany', 'France'];
const DIMENSIONS = new Set(['date', 'eventName', 'country']);
const METRICS = new Set(['eventCount', 'activeUsers', 'sessions']);
const RESERVED_EVENTS = new Set([
  'ad_activeview',
  'ad_click',
  'ad_exposure',
  'ad_query',
  'ad_reward',
  'adunit_exposure',
  'app_clear_data',
  'app_exception',
  'app_install',
  'app_remove',
  'app_store_refund',
  'app_update',
  'app_upgrade',
  'dynamic_link_app_open',
  'dynamic_link_app_update',
  'dynamic_link_first_open',
  'error',
  'firebase_campaign',
  'first_open',
  'first_visit',
  'in_app_purchase',
  'notification_dismiss',
  'notification_foreground',
  'notification_open',
  'notification_receive',
  'os_update',
  'session_start',
  'user_engagement',
]);

const googleError = (code: number, status: string, message: string) => ({ error: { code, message, status } });

function errorBody(status: number): unknown {
  if (status === 429) return googleError(429, 'RESOURCE_EXHAUSTED', 'Exhausted concurrent requests quota.');
  if (status === 503) return googleError(503, 'UNAVAILABLE', 'The service is currently unavailable.');
  return googleError(status, 'INTERNAL', 'Internal error encountered.');
}

const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** GA4's date forms: YYYY-MM-DD, today, yesterday, NdaysAgo (UTC here). */
function resolveDate(value: unknown, now: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  if (value === 'today') return ymd(now);
  if (value === 'yesterday') return ymd(now - 86_400_000);
  const ago = /^(\d+)daysAgo$/.exec(value);
  return ago ? ymd(now - Number(ago[1]) * 86_400_000) : undefined;
}

export async function startFakeGa4(options: Ga4FakeOptions = {}): Promise<Ga4Fake> {
  const now = options.now ?? Date.now;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const credentials = {
    propertyId: options.propertyId ?? '412345678',
    clientEmail: 'data-sync@analytics-project.iam.gserviceaccount.com',
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    privateKeyId: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    measurementId: 'G-FAKE12345',
    apiSecret: 'mp-api-secret-0123456789',
  };
  const switches = new FakeSwitches();
  const tokens = new Map<string, number>();
  const rows: BaseRow[] = [];
  const collected: Ga4Fake['collected'] = [];
  const userDeletions: Ga4Fake['userDeletions'] = [];
  const reports: Record<string, unknown>[] = [];
  const random = seededRandom(57);
  let server: { url: string; close(): Promise<void> } | undefined;

  // `seed.metrics` rows of (date, eventName), newest day first, each split over the countries.
  const count = options.seed?.metrics ?? 0;
  for (let i = 0; i < count; i++) {
    const date = ymd(now() - Math.floor(i / EVENT_NAMES.length) * 86_400_000);
    for (const country of COUNTRIES) {
      const users = 1 + Math.floor(random() * 40);
      rows.push({
        date,
        eventName: EVENT_NAMES[i % EVENT_NAMES.length],
        country,
        activeUsers: users,
        sessions: users + Math.floor(random() * 10),
        eventCount: users * (1 + Math.floor(random() * 5)),
      });
    }
  }

  function verifyAssertion(assertion: string): string | undefined {
    const [header, claims, signature] = assertion.split('.');
    if (!header || !claims || !signature) return 'Invalid JWT: malformed';
    if (!createVerify('RSA-SHA256').update(`${header}.${claims}`).verify(publicKey, signature, 'base64url'))
      return 'Invalid JWT Signature.';
    const c = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')) as {
      iss?: string;
      aud?: string;
      exp?: number;
      iat?: number;
      scope?: string;
    };
    if (c.iss !== credentials.clientEmail) return 'Invalid JWT: unknown issuer';
    if (c.aud !== `${server!.url}/token`) return 'Invalid JWT: Failed audience check.';
    if (typeof c.exp !== 'number' || c.exp * 1000 < now() || (c.iat ?? 0) * 1000 > now() + 300_000)
      return 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.';
    if (!String(c.scope ?? '').includes('analytics')) return 'Invalid JWT: no analytics scope';
    return undefined;
  }

  const authorized = (request: FakeRequest): FakeResponse | undefined => {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (switches.authRevoked || !token || !tokens.has(token) || tokens.get(token)! < now()) {
      return {
        status: 401,
        body: googleError(
          401,
          'UNAUTHENTICATED',
          'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
        ),
      };
    }
    return undefined;
  };

  function aggregate(dimensions: string[], metrics: string[], start: string, end: string) {
    const groups = new Map<string, { dims: string[]; values: number[] }>();
    for (const row of rows) {
      if (row.date < start || row.date > end) continue;
      const dims = dimensions.map((d) => (d === 'date' ? row.date.replace(/-/g, '') : String(row[d as keyof BaseRow])));
      const key = JSON.stringify(dims);
      const group = groups.get(key) ?? { dims, values: metrics.map(() => 0) };
      metrics.forEach((m, i) => (group.values[i] += row[m as keyof BaseRow] as number));
      groups.set(key, group);
    }
    return [...groups.values()];
  }

  function runReport(request: FakeRequest, propertyId: string): FakeResponse {
    const denied = authorized(request);
    if (denied) return denied;
    if (propertyId !== credentials.propertyId)
      return {
        status: 403,
        body: googleError(
          403,
          'PERMISSION_DENIED',
          `User does not have sufficient permissions for this property. To learn more about Property ID, see https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.`,
        ),
      };
    const body = (jsonBody(request) ?? {}) as {
      dateRanges?: { startDate?: string; endDate?: string }[];
      dimensions?: { name: string }[];
      metrics?: { name: string }[];
      orderBys?: { dimension?: { dimensionName: string }; desc?: boolean }[];
      limit?: string;
      offset?: string;
      returnPropertyQuota?: boolean;
    };
    reports.push(body as Record<string, unknown>);
    const range = body.dateRanges?.[0];
    const start = resolveDate(range?.startDate, now());
    const end = resolveDate(range?.endDate, now());
    if (!start || !end)
      return {
        status: 400,
        body: googleError(
          400,
          'INVALID_ARGUMENT',
          'A dateRange requires startDate and endDate (YYYY-MM-DD, today, yesterday or NdaysAgo).',
        ),
      };
    if (start > end)
      return {
        status: 400,
        body: googleError(400, 'INVALID_ARGUMENT', `The startDate ${start} is after the endDate ${end}.`),
      };
    const dimensions = (body.dimensions ?? []).map((d) => d.name);
    const metrics = (body.metrics ?? []).map((m) => m.name);
    const unknown = [...dimensions.filter((d) => !DIMENSIONS.has(d)), ...metrics.filter((m) => !METRICS.has(m))];
    if (metrics.length === 0 || unknown.length)
      return {
        status: 400,
        body: googleError(
          400,
          'INVALID_ARGUMENT',
          unknown.length
            ? `Field ${unknown[0]} is not a valid dimension or metric.`
            : 'At least one metric is required.',
        ),
      };
    const limit = Number(body.limit ?? 10_000);
    const offset = Number(body.offset ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 250_000 || !Number.isInteger(offset) || offset < 0)
      return {
        status: 400,
        body: googleError(400, 'INVALID_ARGUMENT', 'limit must be 1 to 250000 and offset non-negative.'),
      };
    const groups = aggregate(dimensions, metrics, start, end);
    const orders = (body.orderBys ?? []).filter((o) => o.dimension && dimensions.includes(o.dimension.dimensionName));
    groups.sort((a, b) => {
      for (const o of orders) {
        const i = dimensions.indexOf(o.dimension!.dimensionName);
        const c = a.dims[i].localeCompare(b.dims[i]);
        if (c !== 0) return o.desc ? -c : c;
      }
      return 0;
    });
    const page = groups.slice(offset, offset + limit);
    const answer: Record<string, unknown> = {
      dimensionHeaders: dimensions.map((name) => ({ name })),
      metricHeaders: metrics.map((name) => ({ name, type: 'TYPE_INTEGER' })),
      metadata: { currencyCode: 'USD', timeZone: 'Etc/UTC' },
      kind: 'analyticsData#runReport',
    };
    // proto3 JSON leaves out empty lists and zero counts.
    if (page.length)
      answer.rows = page.map((g) => ({
        dimensionValues: g.dims.map((value) => ({ value })),
        metricValues: g.values.map((v) => ({ value: String(v) })),
      }));
    if (groups.length) answer.rowCount = groups.length;
    if (body.returnPropertyQuota)
      answer.propertyQuota = {
        tokensPerDay: { consumed: 12, remaining: 199_988 },
        tokensPerHour: { consumed: 12, remaining: 39_988 },
        concurrentRequests: { remaining: 10 },
        serverErrorsPerProjectPerHour: { remaining: 10 },
        potentiallyThresholdedRequestsPerHour: { remaining: 120 },
        tokensPerProjectPerHour: { consumed: 12, remaining: 13_988 },
      };
    return { status: 200, body: answer };
  }

  function validateMp(body: unknown): { fieldPath: string; description: string; validationCode: string }[] {
    const b = body as { client_id?: unknown; events?: { name?: unknown; params?: unknown }[] } | undefined;
    const messages: { fieldPath: string; description: string; validationCode: string }[] = [];
    if (typeof b?.client_id !== 'string' || !b.client_id)
      messages.push({
        fieldPath: 'client_id',
        description: 'Measurement requires a client_id.',
        validationCode: 'VALUE_REQUIRED',
      });
    if (!Array.isArray(b?.events) || b.events.length === 0 || b.events.length > 25)
      messages.push({
        fieldPath: 'events',
        description: 'A request carries 1 to 25 events.',
        validationCode: 'VALUE_INVALID',
      });
    (Array.isArray(b?.events) ? b.events : []).forEach((e, i) => {
      if (typeof e?.name !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(e.name))
        messages.push({
          fieldPath: `events[${i}].name`,
          description: `Event name ${JSON.stringify(e?.name)} is invalid: letters, digits and underscores, starting with a letter, at most 40.`,
          validationCode: 'NAME_INVALID',
        });
      else if (RESERVED_EVENTS.has(e.name) || /^(_|firebase_|ga_|google_|gtag\.)/.test(e.name))
        messages.push({
          fieldPath: `events[${i}].name`,
          description: `Event name ${e.name} is reserved.`,
          validationCode: 'NAME_RESERVED',
        });
      if (e?.params !== undefined && (typeof e.params !== 'object' || Object.keys(e.params as object).length > 25))
        messages.push({
          fieldPath: `events[${i}].params`,
          description: 'An event has at most 25 parameters.',
          validationCode: 'VALUE_INVALID',
        });
    });
    return messages;
  }

  const violations: string[] = [];
  const handler = (request: FakeRequest): FakeResponse => {
    const path = request.url.pathname;
    if (request.method === 'POST' && path === '/token') {
      const form = new URLSearchParams(request.body.toString('utf8'));
      if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
        return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type.' } };
      const problem = switches.authRevoked ? 'Invalid JWT Signature.' : verifyAssertion(form.get('assertion') ?? '');
      if (problem) return { status: 400, body: { error: 'invalid_grant', error_description: problem } };
      const token = `ya29.${randomUUID()}`;
      tokens.set(token, now() + 3599_000);
      return { status: 200, body: { access_token: token, expires_in: 3599, token_type: 'Bearer' } };
    }
    if (path.startsWith('/v1beta/')) {
      const problems = checkRequest(DATA_API, request);
      if (problems.length) {
        violations.push(...problems);
        return {
          status: 400,
          body: { error: { code: 400, message: problems.join('; '), status: 'INVALID_ARGUMENT' } },
        };
      }
    }
    const report = /^\/v1beta\/properties\/([^/:]+):runReport$/.exec(path);
    if (request.method === 'POST' && report) return runReport(request, report[1]);
    if (request.method === 'POST' && (path === '/mp/collect' || path === '/debug/mp/collect')) {
      const known =
        request.url.searchParams.get('measurement_id') === credentials.measurementId &&
        request.url.searchParams.get('api_secret') === credentials.apiSecret &&
        !switches.authRevoked;
      let body: unknown;
      try {
        body = jsonBody(request);
      } catch {
        body = undefined;
      }
      const messages = validateMp(body);
      if (path === '/debug/mp/collect') return { status: 200, body: { validationMessages: messages } };
      // Collect answers 2xx whatever it got; only valid hits with a known secret are kept.
      if (known && messages.length === 0) {
        const b = body as {
          client_id: string;
          user_id?: string;
          events: { name: string; params?: Record<string, unknown> }[];
        };
        for (const e of b.events)
          collected.push({
            client_id: b.client_id,
            ...(b.user_id ? { user_id: b.user_id } : {}),
            name: e.name,
            params: e.params ?? {},
          });
      }
      return { status: 204 };
    }
    if (request.method === 'POST' && path === '/analytics/v3/userDeletion/userDeletionRequests:upsert') {
      const denied = authorized(request);
      if (denied) return denied;
      const body = jsonBody(request) as { id?: { type?: string; userId?: string }; propertyId?: string };
      if (
        !body?.id?.userId ||
        !['CLIENT_ID', 'USER_ID', 'APP_INSTANCE_ID'].includes(body.id.type ?? '') ||
        body.propertyId !== credentials.propertyId
      )
        return {
          status: 400,
          body: googleError(400, 'INVALID_ARGUMENT', 'id.type, id.userId and a propertyId you manage are required.'),
        };
      userDeletions.push({ type: body.id.type!, userId: body.id.userId, propertyId: body.propertyId });
      return {
        status: 200,
        body: {
          kind: 'analytics#userDeletionRequest',
          id: body.id,
          propertyId: body.propertyId,
          deletionRequestTime: new Date(now()).toISOString(),
        },
      };
    }
    return { status: 404, body: googleError(404, 'NOT_FOUND', `no route ${request.method} ${path}`) };
  };

  server = await serveFake(handler, { framing: MARKETING_FRAMING, faults: { switches, body: errorBody } });
  // Rows at the grain of the default report (date, eventName), newest day first.
  const reportIds = () =>
    [...new Set(rows.map((r) => `${r.date.replace(/-/g, '')}|${r.eventName}`))].sort((a, b) => b.localeCompare(a));
  return {
    url: server.url,
    credentials,
    collected,
    userDeletions,
    reports,
    close: () => server!.close(),
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: () => {
      switches.revokeAuth();
      tokens.clear();
    },
    restoreAuth: () => switches.restoreAuth(),
    requestCount: () => switches.requestCount(),
    violations: () => [...violations],
    ids: (object) => (object === 'events' ? collected.map((_, i) => String(i)) : reportIds()),
    touch(_object, id) {
      const [date, eventName] = id.split('|');
      const touched = rows.filter((r) => r.date.replace(/-/g, '') === date && r.eventName === eventName);
      if (touched.length === 0) throw new Error(`no report row ${id}`);
      // GA4 processed more of that day: its counts grow.
      for (const r of touched) r.eventCount += 7;
    },
    snapshot: (object) => (object === 'events' ? collected.map((e) => ({ ...e })) : rows.map((r) => ({ ...r }))),
  };
}
