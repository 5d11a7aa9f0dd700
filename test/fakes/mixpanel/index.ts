/**
 * A local Mixpanel for tests and the demo, on one port for all of its hosts: the Raw Export API
 * (`GET /api/2.0/export`, JSON lines by UTC day, `time_in_ms`, service-account Basic auth with
 * project_id), the Ingestion API (`POST /import?strict=1`: per-event validation with
 * `failed_records`, the 2 MB limit, dedupe on (event, time, distinct_id, $insert_id) where the latest
 * ingested wins; `POST /engage` with `$token` and `$set`), the service-account check `GET /api/app/me`,
 * the Engage query (`POST /api/query/engage` with `where=properties["$email"] == "…"`) and the GDPR API
 * (`POST /api/app/data-deletions/v3.0?token=` with a Bearer OAuth token), which removes the subject's
 * events and profile. Every stored event has `mp_processing_time_ms`; touch() re-processes one (a late event).
 * Every request is checked against the operations of Mixpanel's OpenAPI descriptions (operations.json,
 * derived by extract-operations.py); what breaks them is answered 400 and listed by violations().
 */
import { randomUUID } from 'crypto';
import type { Fake } from '@data-sync/integrations/contract/connector-contract';
import {
  FakeSwitches,
  MARKETING_FRAMING,
  fakePerson,
  jsonBody,
  seededRandom,
  serveFake,
  type FakeRequest,
  type FakeResponse,
} from '@data-sync/integrations/contract/fake-kit';
import { checkRequest, type Description } from '../described/operations';
import operations from './operations.json';

export interface MixpanelEvent {
  event: string;
  properties: Record<string, unknown> & {
    time: number;
    distinct_id: string;
    $insert_id: string;
    mp_processing_time_ms: number;
  };
}

export interface MixpanelFakeOptions {
  readonly seed?: Readonly<Record<string, number>>;
  readonly username?: string;
  readonly secret?: string;
  readonly projectId?: number;
  readonly projectToken?: string;
  readonly gdprToken?: string;
  /** Seeded events fall within this many days before now. */
  readonly days?: number;
  readonly now?: () => number;
}

export interface MixpanelFake extends Fake {
  readonly credentials: {
    username: string;
    secret: string;
    projectId: number;
    projectToken: string;
    gdprToken: string;
  };
  readonly events: Map<string, MixpanelEvent>;
  readonly profiles: Map<string, Record<string, unknown>>;
  readonly deletions: { distinct_ids: string[]; compliance_type: string; task_id: string }[];
}

// JSON imports are typed by their values, too narrowly for the rule types.
const DESCRIPTION = operations as unknown as Description;
/** Documented on Mixpanel's service-account page, not in its OpenAPI descriptions: exempt from the check. */
const UNDESCRIBED = new Set(['GET /api/app/me']);

const EVENT_NAMES = ['Signed up', 'Viewed page', 'Added to cart', 'Purchased'];
const MAX_IMPORT_BYTES = 2 * 1024 * 1024;

const keyOf = (e: { event: string; properties: { time: number; distinct_id: string; $insert_id: string } }) =>
  JSON.stringify([
    e.event,
    Math.floor(e.properties.time > 1e11 ? e.properties.time / 1000 : e.properties.time),
    e.properties.distinct_id,
    e.properties.$insert_id,
  ]);

function errorBody(status: number): unknown {
  if (status === 429)
    return {
      code: 429,
      error: 'Project exceeded rate limits. Please retry the request with exponential backoff.',
      status: 'Too Many Requests',
    };
  if (status === 401) return { code: 401, error: 'Invalid credentials', status: 'Unauthorized' };
  return { code: status, error: 'Internal server error', status: 'error' };
}

export async function startFakeMixpanel(options: MixpanelFakeOptions = {}): Promise<MixpanelFake> {
  const now = options.now ?? Date.now;
  const credentials = {
    username: options.username ?? 'sync.1a2b3c.mp-service-account',
    secret: options.secret ?? 'mixpanel-service-account-secret',
    projectId: options.projectId ?? 2_195_193,
    projectToken: options.projectToken ?? 'f3a9c0ffee0000000000000000000000',
    gdprToken: options.gdprToken ?? 'mixpanel-gdpr-oauth-token',
  };
  const switches = new FakeSwitches();
  const events = new Map<string, MixpanelEvent>();
  const profiles = new Map<string, Record<string, unknown>>();
  const deletions: MixpanelFake['deletions'] = [];
  const random = seededRandom(73);
  const days = options.days ?? 3;
  let processed = now() - days * 86_400_000;

  const count = options.seed?.events ?? 0;
  for (let i = 0; i < count; i++) {
    const person = fakePerson(i, random);
    // Spread over the last `days` days, oldest first, at whole seconds as the export prints them.
    const time = Math.floor((now() - days * 86_400_000 + ((i + 1) * days * 86_400_000) / (count + 1)) / 1000);
    processed = Math.max(processed + 1, time * 1000 + 60_000);
    const distinctId = i % 3 === 2 ? `$device:${randomUUID()}` : person.email;
    const event: MixpanelEvent = {
      event: EVENT_NAMES[i % EVENT_NAMES.length],
      properties: {
        time,
        distinct_id: distinctId,
        $insert_id: `seed-${String(i).padStart(4, '0')}`,
        mp_processing_time_ms: Math.min(processed, now() - 1000),
        $email: i % 3 === 2 ? undefined : person.email,
        plan: random() < 0.5 ? 'free' : 'pro',
      },
    };
    events.set(keyOf(event), event);
    if (i % 3 !== 2)
      profiles.set(distinctId, { $email: person.email, $first_name: person.firstName, $last_name: person.lastName });
  }

  const basic = `Basic ${Buffer.from(`${credentials.username}:${credentials.secret}`).toString('base64')}`;
  const serviceAccount = (request: FakeRequest): FakeResponse | undefined => {
    if (switches.authRevoked || request.headers.authorization !== basic) return { status: 401, body: errorBody(401) };
    if (request.url.searchParams.get('project_id') !== String(credentials.projectId))
      return {
        status: 400,
        body: { error: 'project_id is required and must be a project of this service account', status: 'error' },
      };
    return undefined;
  };

  const violations: string[] = [];
  const handler = (request: FakeRequest): FakeResponse => {
    const path = request.url.pathname;
    if (!UNDESCRIBED.has(`${request.method} ${path}`)) {
      // Strict /import answers each refused event in failed_records, which the handler does below.
      const problems = checkRequest(DESCRIPTION, request, { body: path !== '/import' });
      if (problems.length) {
        violations.push(...problems);
        return { status: 400, body: { error: problems.join('; '), status: 'error' } };
      }
    }
    if (request.method === 'GET' && path === '/api/app/me') {
      if (switches.authRevoked || request.headers.authorization !== basic) return { status: 401, body: errorBody(401) };
      return {
        status: 200,
        body: {
          status: 'ok',
          results: {
            id: 1,
            name: credentials.username,
            projects: { [credentials.projectId]: { name: 'Data Sync', role: { name: 'Admin' } } },
          },
        },
      };
    }
    if (request.method === 'GET' && path === '/api/2.0/export') {
      const denied = serviceAccount(request);
      if (denied) return denied;
      const from = request.url.searchParams.get('from_date');
      const to = request.url.searchParams.get('to_date');
      if (!from || !to || !/^\d{4}-\d{2}-\d{2}$/.test(from) || !/^\d{4}-\d{2}-\d{2}$/.test(to))
        return { status: 400, body: 'parameter from_date and to_date are required, formatted yyyy-mm-dd' };
      const inMs = request.url.searchParams.get('time_in_ms') === 'true';
      const lines = [...events.values()]
        .filter((e) => {
          const day = new Date(e.properties.time * 1000).toISOString().slice(0, 10);
          return day >= from && day <= to;
        })
        .sort((a, b) => a.properties.time - b.properties.time)
        .map((e) =>
          JSON.stringify({
            event: e.event,
            properties: { ...e.properties, time: inMs ? e.properties.time * 1000 : e.properties.time },
          }),
        );
      return {
        status: 200,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: lines.map((l) => `${l}\n`).join(''),
      };
    }
    if (request.method === 'POST' && path === '/import') {
      const denied = serviceAccount(request);
      if (denied) return denied;
      if (request.body.length > MAX_IMPORT_BYTES)
        return {
          status: 413,
          body: {
            code: 413,
            error: `request exceeds max limit of ${MAX_IMPORT_BYTES} bytes`,
            status: 'Request Entity Too Large',
          },
        };
      const batch = jsonBody(request);
      if (!Array.isArray(batch) || batch.length === 0)
        return {
          status: 400,
          body: { code: 400, error: 'body must be a non-empty JSON array of events', status: 'Bad Request' },
        };
      const failed: { index: number; insert_id: string; field: string; message: string }[] = [];
      batch.forEach((item: any, index) => {
        const p = item?.properties ?? {};
        const fail = (field: string, message: string) =>
          void failed.push({ index, insert_id: typeof p.$insert_id === 'string' ? p.$insert_id : '', field, message });
        if (typeof item?.event !== 'string' || !item.event) return fail('event', "'event' must be a non-empty string");
        if (!Number.isInteger(p.time))
          return fail('properties.time', "'properties.time' is invalid: must be specified as seconds since epoch");
        if (typeof p.distinct_id !== 'string')
          return fail('properties.distinct_id', "'properties.distinct_id' must be a string");
        if (typeof p.$insert_id !== 'string' || !/^[A-Za-z0-9_-]{1,36}$/.test(p.$insert_id))
          return fail('properties.$insert_id', "'properties.$insert_id' must be 1-36 alphanumeric, - or _ characters");
        // Future times are moved to now at ingestion.
        const seconds = Math.min(p.time > 1e11 ? Math.floor(p.time / 1000) : p.time, Math.floor(now() / 1000));
        const event: MixpanelEvent = {
          event: item.event,
          properties: { ...p, time: seconds, mp_processing_time_ms: now() },
        };
        events.set(keyOf(event), event);
        return undefined;
      });
      const imported = batch.length - failed.length;
      if (failed.length)
        return {
          status: 400,
          body: {
            code: 400,
            error: 'some data points in the request failed validation',
            status: 'Bad Request',
            num_records_imported: imported,
            failed_records: failed,
          },
        };
      return { status: 200, body: { code: 200, num_records_imported: imported, status: 'OK' } };
    }
    if (request.method === 'POST' && path === '/engage') {
      const updates = jsonBody(request);
      if (!Array.isArray(updates)) return { status: 200, body: { status: 0, error: 'data must be a JSON array' } };
      if (switches.authRevoked || updates.some((u: any) => u?.$token !== credentials.projectToken))
        return { status: 200, body: { status: 0, error: 'token, missing or empty' } };
      for (const u of updates as { $distinct_id: string; $set: Record<string, unknown> }[])
        profiles.set(u.$distinct_id, { ...profiles.get(u.$distinct_id), ...u.$set });
      return { status: 200, body: { status: 1, error: null } };
    }
    if (request.method === 'POST' && path === '/api/query/engage') {
      const denied = serviceAccount(request);
      if (denied) return denied;
      const where = new URLSearchParams(request.body.toString('utf8')).get('where') ?? '';
      const match = /^properties\["\$email"\] == "(.*)"$/.exec(where);
      const results = [...profiles.entries()]
        .filter(([, p]) => !match || p.$email === match[1])
        .map(([id, p]) => ({ $distinct_id: id, $properties: p }));
      return {
        status: 200,
        body: { page: 0, page_size: 1000, session_id: randomUUID(), status: 'ok', total: results.length, results },
      };
    }
    if (request.method === 'POST' && path === '/api/app/data-deletions/v3.0') {
      if (switches.authRevoked || request.headers.authorization !== `Bearer ${credentials.gdprToken}`)
        return { status: 401, body: { error: 'Invalid OAuth token', status: 'error' } };
      if (request.url.searchParams.get('token') !== credentials.projectToken)
        return { status: 403, body: { error: 'token does not belong to a project you own', status: 'error' } };
      const body = jsonBody(request) as { distinct_ids?: string[]; compliance_type?: string };
      if (
        !Array.isArray(body?.distinct_ids) ||
        body.distinct_ids.length === 0 ||
        !['GDPR', 'CCPA'].includes(body.compliance_type ?? '')
      )
        return {
          status: 400,
          body: { error: 'distinct_ids and compliance_type (GDPR or CCPA) are required', status: 'error' },
        };
      const task_id = randomUUID();
      deletions.push({ distinct_ids: body.distinct_ids, compliance_type: body.compliance_type!, task_id });
      for (const [key, e] of events) if (body.distinct_ids.includes(e.properties.distinct_id)) events.delete(key);
      for (const id of body.distinct_ids) profiles.delete(id);
      return { status: 201, body: { status: 'ok', results: { task_id } } };
    }
    return { status: 404, body: { error: `no route ${request.method} ${path}`, status: 'error' } };
  };

  const server = await serveFake(handler, { framing: MARKETING_FRAMING, faults: { switches, body: errorBody } });
  const byInsertId = (id: string) => [...events.values()].find((e) => e.properties.$insert_id === id);
  return {
    url: server.url,
    credentials,
    events,
    profiles,
    deletions,
    close: () => server.close(),
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: () => switches.revokeAuth(),
    restoreAuth: () => switches.restoreAuth(),
    requestCount: () => switches.requestCount(),
    violations: () => [...violations],
    ids: (object) =>
      object === 'events' ? [...events.values()].map((e) => e.properties.$insert_id) : [...profiles.keys()],
    touch(_object, id) {
      const event = byInsertId(id);
      if (!event) throw new Error(`no event ${id}`);
      event.properties.mp_processing_time_ms = now();
    },
    snapshot: (object) =>
      object === 'events'
        ? [...events.values()]
            .map(({ event, properties: { mp_processing_time_ms, ...rest } }) => ({ event, properties: rest }))
            .sort((a, b) => a.properties.$insert_id.localeCompare(b.properties.$insert_id))
        : Object.fromEntries([...profiles.entries()].sort()),
  };
}
