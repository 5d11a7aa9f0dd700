/**
 * A local Mailchimp Marketing API (v3.0) for tests and the demo: list members with the real paths,
 * subscriber hashes, offset/count paging with since_last_changed and sort_field, upsert by PUT with
 * status_if_new, archive (DELETE) and permanent delete, asynchronous POST /batches with a gzipped tar of
 * results, the 10-simultaneous-connections limit per API key (429), and Mailchimp's problem-details errors.
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
import { tarGz } from './tar';

export interface MailchimpMember {
  id: string;
  email_address: string;
  unique_email_id: string;
  web_id: number;
  email_type: string;
  status: string;
  merge_fields: Record<string, unknown>;
  tags: { id: number; name: string }[];
  list_id: string;
  timestamp_signup: string;
  timestamp_opt: string;
  last_changed: string;
  /** Milliseconds of last_changed, for sorting. */
  changedMs: number;
}

export interface MailchimpList {
  id: string;
  name: string;
  members: Map<string, MailchimpMember>;
}

interface Batch {
  id: string;
  status: 'pending' | 'started' | 'finished';
  operations: { method: string; path: string; params?: Record<string, string>; body?: string; operation_id?: string }[];
  results: { status_code: number; operation_id?: string; response: string }[];
  submitted_at: string;
  completed_at: string;
  polls: number;
}

export interface MailchimpFakeOptions {
  /** API key the fake accepts; its `-usN` suffix is the data centre. Default `fake0000000000000000000000000000-us6`. */
  readonly apiKey?: string;
  /** Members seeded per list name (default 25 in `newsletter`, 10 in `product_updates`). */
  readonly seed?: Readonly<Record<string, number>>;
  /** Unused: Mailchimp lets the client choose `count`. Accepted for the contract's FakeOptions. */
  readonly pageSize?: number;
  /** Simultaneous connections allowed per key before 429 (Mailchimp: 10). */
  readonly maxConnections?: number;
  /** Delay per request in ms, so the connection limit can be exercised. */
  readonly latencyMs?: number;
  /** Clock for last_changed; injectable so tests can move time. */
  readonly now?: () => number;
  /**
   * Whether a member list without a `status` filter includes archived members. Mailchimp's
   * documentation does not say; the connector must work either way (default true).
   */
  readonly archivedInUnfiltered?: boolean;
}

export interface MailchimpFakeState {
  apiKey: string;
  revoked: boolean;
  readonly lists: Map<string, MailchimpList>;
  /** Emails permanently deleted: Mailchimp refuses to re-import them. */
  readonly forgotten: Set<string>;
  readonly batches: Map<string, Batch>;
  /** Most requests that were in flight at once. */
  peakConnections: number;
}

/** The contract's Fake (integrations/contract): objects are list names, ids are subscriber hashes. */
export interface MailchimpFake extends Fake {
  readonly apiKey: string;
  readonly state: MailchimpFakeState;
  listId(name: string): string;
  /** Members of a list by name, sorted by email (archived ones included). */
  members(listName: string): Omit<MailchimpMember, 'changedMs'>[];
  /** Changes a member's merge fields as if edited in Mailchimp (bumps last_changed). */
  edit(listName: string, email: string, mergeFields: Record<string, unknown>): void;
}

const TITLES: Record<number, string> = {
  400: 'Invalid Resource',
  401: 'API Key Invalid',
  403: 'Forbidden',
  404: 'Resource Not Found',
  405: 'Method Not Allowed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

const STATUSES = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional'];

export function subscriberHash(email: string): string {
  return createHash('md5').update(email.trim().toLowerCase()).digest('hex');
}

function problem(
  status: number,
  detail: string,
  title = TITLES[status] ?? 'Error',
  errors?: { field: string; message: string }[],
): FakeResponse {
  return {
    status,
    headers: { 'content-type': 'application/problem+json; charset=utf-8' },
    body: {
      type: 'https://mailchimp.com/developer/marketing/docs/errors/',
      title,
      status,
      detail,
      instance: randomUUID(),
      ...(errors ? { errors } : {}),
    },
  };
}

function publicMember(member: MailchimpMember): Omit<MailchimpMember, 'changedMs'> {
  const { changedMs: _ignored, ...rest } = member;
  return rest;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export async function startFakeMailchimp(opts: MailchimpFakeOptions = {}): Promise<MailchimpFake> {
  const apiKey = opts.apiKey ?? 'fake0000000000000000000000000000-us6';
  const now = opts.now ?? Date.now;
  const maxConnections = opts.maxConnections ?? 10;
  const switches = new FakeSwitches();
  const state: MailchimpFakeState = {
    apiKey,
    revoked: false,
    lists: new Map(),
    forgotten: new Set(),
    batches: new Map(),
    peakConnections: 0,
  };
  let webId = 1000;
  let inFlight = 0;
  const next = seededRandom(5);

  const makeList = (name: string): MailchimpList => {
    const id = createHash('md5').update(`list:${name}`).digest('hex').slice(0, 10);
    const list: MailchimpList = { id, name, members: new Map() };
    state.lists.set(id, list);
    return list;
  };

  const seed = opts.seed ?? { newsletter: 25, product_updates: 10 };
  const base = now() - 30 * 86_400_000;
  let personIndex = 0;
  Object.entries(seed).forEach(([name, count]) => {
    const list = makeList(name);
    for (let i = 0; i < count; i++) {
      const p = fakePerson(personIndex++, next);
      // Three members share each second, so cursors must handle ties on last_changed.
      const changed = base + Math.floor(i / 3) * 60_000;
      const stamp = isoSeconds(changed);
      list.members.set(subscriberHash(p.email), {
        id: subscriberHash(p.email),
        email_address: p.email,
        unique_email_id: createHash('md5').update(`u:${p.email}`).digest('hex').slice(0, 10),
        web_id: webId++,
        email_type: 'html',
        status: i % 7 === 6 ? 'unsubscribed' : 'subscribed',
        merge_fields: { FNAME: p.firstName, LNAME: p.lastName },
        tags: [],
        list_id: list.id,
        timestamp_signup: stamp,
        timestamp_opt: stamp,
        last_changed: stamp,
        changedMs: Math.floor(changed / 1000) * 1000,
      });
    }
  });
  for (const name of ['newsletter', 'product_updates'])
    if (![...state.lists.values()].some((l) => l.name === name)) makeList(name);

  const authorized = (req: FakeRequest): boolean => {
    const header = req.headers.authorization ?? '';
    let key = '';
    if (header.startsWith('Basic '))
      key = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':').slice(1).join(':');
    else if (header.toLowerCase().startsWith('apikey ')) key = header.slice(7);
    return !state.revoked && key === state.apiKey;
  };

  const setChanged = (member: MailchimpMember): void => {
    const ms = Math.floor(now() / 1000) * 1000;
    member.changedMs = ms;
    member.last_changed = isoSeconds(ms);
  };

  /** Creates or updates by subscriber hash, as PUT /lists/{id}/members/{hash} does. */
  const upsert = (
    list: MailchimpList,
    hash: string,
    body: Record<string, unknown>,
    mode: 'put' | 'patch' | 'post',
  ): FakeResponse => {
    const email = typeof body.email_address === 'string' ? body.email_address.trim() : undefined;
    const existing = list.members.get(hash);
    if (mode === 'post' && existing)
      return problem(
        400,
        `${email} is already a list member. Use PUT to insert or update list members.`,
        'Member Exists',
      );
    if (!existing && mode === 'patch') return problem(404, 'The requested resource could not be found.');
    if (email !== undefined && !EMAIL.test(email))
      return problem(
        400,
        "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
        'Invalid Resource',
        [{ field: 'email_address', message: 'Please provide a valid email address.' }],
      );
    for (const field of ['status', 'status_if_new'] as const) {
      if (body[field] !== undefined && !STATUSES.includes(String(body[field]))) {
        return problem(
          400,
          "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
          'Invalid Resource',
          [{ field, message: `Data did not match any of the allowed values: ${STATUSES.join(', ')}` }],
        );
      }
    }
    if (
      body.merge_fields !== undefined &&
      (typeof body.merge_fields !== 'object' || body.merge_fields === null || Array.isArray(body.merge_fields))
    ) {
      return problem(
        400,
        "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
        'Invalid Resource',
        [{ field: 'merge_fields', message: 'Schema describes object, other type found instead' }],
      );
    }
    if (!existing) {
      if (!email)
        return problem(
          400,
          "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
          'Invalid Resource',
          [{ field: 'email_address', message: 'This value should not be blank.' }],
        );
      if (subscriberHash(email) !== hash)
        return problem(
          400,
          'The subscriber hash in the URL does not match the email address in the body.',
          'Invalid Resource',
        );
      if (state.forgotten.has(email.toLowerCase())) {
        return problem(
          400,
          `${email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.`,
          'Forgotten Email Not Subscribed',
        );
      }
      const status = String(body.status ?? body.status_if_new ?? '');
      if (!status)
        return problem(
          400,
          "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
          'Invalid Resource',
          [{ field: 'status', message: 'Schema describes string, NULL found instead' }],
        );
      const stamp = isoSeconds(now());
      const member: MailchimpMember = {
        id: hash,
        email_address: email,
        unique_email_id: createHash('md5').update(`u:${email}`).digest('hex').slice(0, 10),
        web_id: webId++,
        email_type: 'html',
        status,
        merge_fields: { FNAME: '', LNAME: '', ...((body.merge_fields as Record<string, unknown>) ?? {}) },
        tags: Array.isArray(body.tags) ? body.tags.map((name, i) => ({ id: i + 1, name: String(name) })) : [],
        list_id: list.id,
        timestamp_signup: stamp,
        timestamp_opt: stamp,
        last_changed: stamp,
        changedMs: 0,
      };
      setChanged(member);
      list.members.set(hash, member);
      return { status: 200, body: publicMember(member) };
    }
    const before = JSON.stringify([existing.email_address, existing.status, existing.merge_fields]);
    if (email && email.toLowerCase() !== existing.email_address.toLowerCase()) {
      list.members.delete(hash);
      existing.email_address = email;
      existing.id = subscriberHash(email);
      list.members.set(existing.id, existing);
    }
    if (body.status !== undefined) existing.status = String(body.status);
    else if (existing.status === 'archived' && body.status_if_new !== undefined)
      existing.status = String(body.status_if_new);
    if (body.merge_fields)
      existing.merge_fields = { ...existing.merge_fields, ...(body.merge_fields as Record<string, unknown>) };
    if (JSON.stringify([existing.email_address, existing.status, existing.merge_fields]) !== before)
      setChanged(existing);
    return { status: 200, body: publicMember(existing) };
  };

  const listMembers = (list: MailchimpList, query: URLSearchParams): FakeResponse => {
    const count = Number(query.get('count') ?? 10);
    const offset = Number(query.get('offset') ?? 0);
    if (!Number.isInteger(count) || count < 1 || count > 1000)
      return problem(400, 'count must be between 1 and 1000.', 'Invalid Resource');
    if (!Number.isInteger(offset) || offset < 0)
      return problem(400, 'offset must be a non-negative integer.', 'Invalid Resource');
    let members = [...list.members.values()];
    const since = query.get('since_last_changed');
    if (since) {
      const sinceMs = Date.parse(since);
      if (Number.isNaN(sinceMs))
        return problem(400, `since_last_changed "${since}" is not a valid date.`, 'Invalid Resource');
      members = members.filter((m) => m.changedMs > sinceMs);
    }
    const before = query.get('before_last_changed');
    if (before) members = members.filter((m) => m.changedMs < Date.parse(before));
    const status = query.get('status');
    if (status) members = members.filter((m) => m.status === status);
    else if (opts.archivedInUnfiltered === false) members = members.filter((m) => m.status !== 'archived');
    const sortField = query.get('sort_field');
    if (sortField) {
      if (!['last_changed', 'timestamp_opt', 'timestamp_signup'].includes(sortField))
        return problem(400, `Invalid sort_field ${sortField}`, 'Invalid Resource');
      const dir = (query.get('sort_dir') ?? 'ASC').toUpperCase() === 'DESC' ? -1 : 1;
      const key = (m: MailchimpMember): number =>
        sortField === 'last_changed' ? m.changedMs : Date.parse(m[sortField as 'timestamp_opt']);
      members.sort((a, b) => dir * (key(a) - key(b)));
    }
    const page = members.slice(offset, offset + count);
    return {
      status: 200,
      body: {
        members: page.map(publicMember),
        list_id: list.id,
        total_items: members.length,
        _links: [{ rel: 'self', href: `/3.0/lists/${list.id}/members`, method: 'GET' }],
      },
    };
  };

  const route = (method: string, path: string, query: URLSearchParams, body: unknown): FakeResponse => {
    if (method === 'GET' && path === '/ping') return { status: 200, body: { health_status: "Everything's Chimpy!" } };
    if (method === 'GET' && path === '/lists') {
      const lists = [...state.lists.values()];
      const count = Number(query.get('count') ?? 10);
      const offset = Number(query.get('offset') ?? 0);
      return {
        status: 200,
        body: {
          lists: lists.slice(offset, offset + count).map((l) => ({
            id: l.id,
            web_id: 1,
            name: l.name,
            stats: { member_count: [...l.members.values()].filter((m) => m.status === 'subscribed').length },
          })),
          total_items: lists.length,
        },
      };
    }
    const listMatch = /^\/lists\/([^/]+)(\/members(?:\/([^/]+)(\/actions\/delete-permanent)?)?)?$/.exec(path);
    if (listMatch) {
      const list = state.lists.get(listMatch[1]);
      if (!list) return problem(404, 'The requested resource could not be found.');
      if (!listMatch[2])
        return method === 'GET'
          ? { status: 200, body: { id: list.id, name: list.name } }
          : problem(405, 'Method not allowed');
      const hash = listMatch[3];
      if (!hash) {
        if (method === 'GET') return listMembers(list, query);
        if (method === 'POST') {
          const fields = (body ?? {}) as Record<string, unknown>;
          return upsert(list, subscriberHash(String(fields.email_address ?? '')), fields, 'post');
        }
        return problem(405, 'Method not allowed');
      }
      if (!/^[0-9a-f]{32}$/.test(hash)) return problem(404, 'The requested resource could not be found.');
      if (listMatch[4]) {
        if (method !== 'POST') return problem(405, 'Method not allowed');
        const member = list.members.get(hash);
        if (!member) return problem(404, 'The requested resource could not be found.');
        list.members.delete(hash);
        state.forgotten.add(member.email_address.toLowerCase());
        return { status: 204 };
      }
      const member = list.members.get(hash);
      switch (method) {
        case 'GET':
          return member
            ? { status: 200, body: publicMember(member) }
            : problem(404, 'The requested resource could not be found.');
        case 'PUT':
        case 'PATCH':
          if (typeof body !== 'object' || body === null || Array.isArray(body))
            return problem(400, 'The request body must be a JSON object.', 'JSON Parse Exception');
          return upsert(list, hash, body as Record<string, unknown>, method === 'PUT' ? 'put' : 'patch');
        case 'DELETE':
          if (!member || member.status === 'archived')
            return problem(404, 'The requested resource could not be found.');
          member.status = 'archived';
          setChanged(member);
          return { status: 204 };
        default:
          return problem(405, 'Method not allowed');
      }
    }
    return problem(404, 'The requested resource could not be found.');
  };

  const batchView = (batch: Batch, url: string): Record<string, unknown> => ({
    id: batch.id,
    status: batch.status,
    total_operations: batch.operations.length,
    finished_operations: batch.status === 'finished' ? batch.operations.length : 0,
    errored_operations: batch.status === 'finished' ? batch.results.filter((r) => r.status_code >= 400).length : 0,
    submitted_at: batch.submitted_at,
    completed_at: batch.completed_at,
    response_body_url: batch.status === 'finished' ? `${url}/batch-results/${batch.id}.tar.gz` : '',
    _links: [],
  });

  const runBatch = (batch: Batch): void => {
    batch.results = batch.operations.map((op) => {
      const [path, search] = op.path.split('?');
      const query = new URLSearchParams(search ?? '');
      for (const [k, v] of Object.entries(op.params ?? {})) query.set(k, String(v));
      let body: unknown;
      try {
        body = op.body ? JSON.parse(op.body) : undefined;
      } catch {
        return {
          status_code: 400,
          operation_id: op.operation_id,
          response: JSON.stringify(
            problem(400, 'We encountered an unspecified JSON parsing error.', 'JSON Parse Exception').body,
          ),
        };
      }
      const res = route(op.method.toUpperCase(), path.replace(/^\/3\.0/, ''), query, body);
      return {
        status_code: res.status,
        operation_id: op.operation_id,
        response: res.body === undefined ? '' : JSON.stringify(res.body),
      };
    });
  };

  let baseUrl = '';
  const server = await serveFake(
    async (req) => {
      const { pathname } = req.url;
      const results = /^\/batch-results\/([^/]+)\.tar\.gz$/.exec(pathname);
      if (results && req.method === 'GET') {
        const batch = state.batches.get(results[1]);
        if (!batch || batch.status !== 'finished') return { status: 404, body: 'NoSuchKey' };
        const chunks: { name: string; content: string }[] = [];
        for (let i = 0; i < batch.results.length; i += 500)
          chunks.push({
            name: `${createHash('md5').update(`${batch.id}:${i}`).digest('hex')}.json`,
            content: JSON.stringify(batch.results.slice(i, i + 500)),
          });
        return { status: 200, headers: { 'content-type': 'application/x-gzip' }, body: tarGz(batch.id, chunks) };
      }
      if (!pathname.startsWith('/3.0/')) return problem(404, 'The requested resource could not be found.');
      inFlight += 1;
      state.peakConnections = Math.max(state.peakConnections, inFlight);
      try {
        if (inFlight > maxConnections) {
          return problem(429, `You have exceeded the limit of ${maxConnections} simultaneous connections.`);
        }
        if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));
        if (!authorized(req))
          return problem(401, "Your API key may be invalid, or you've attempted to access the wrong datacenter.");
        let body: unknown;
        try {
          body = jsonBody(req);
        } catch {
          return problem(400, 'We encountered an unspecified JSON parsing error.', 'JSON Parse Exception');
        }
        const path = pathname.slice(4);
        if (path === '/batches' && req.method === 'POST') {
          const operations = (body as { operations?: unknown })?.operations;
          if (
            !Array.isArray(operations) ||
            operations.some((op) => typeof op?.method !== 'string' || typeof op?.path !== 'string')
          ) {
            return problem(
              400,
              "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
              'Invalid Resource',
              [{ field: 'operations', message: 'Each operation needs method and path' }],
            );
          }
          const batch: Batch = {
            id: randomUUID().replace(/-/g, '').slice(0, 10),
            status: 'pending',
            operations,
            results: [],
            submitted_at: isoSeconds(now()),
            completed_at: '',
            polls: 0,
          };
          state.batches.set(batch.id, batch);
          return { status: 200, body: batchView(batch, baseUrl) };
        }
        const batchMatch = /^\/batches\/([^/]+)$/.exec(path);
        if (batchMatch && req.method === 'GET') {
          const batch = state.batches.get(batchMatch[1]);
          if (!batch) return problem(404, 'The requested resource could not be found.');
          batch.polls += 1;
          // Processing is asynchronous: the first poll sees it started, a later one finished.
          if (batch.status === 'pending') batch.status = 'started';
          else if (batch.status === 'started') {
            runBatch(batch);
            batch.status = 'finished';
            batch.completed_at = isoSeconds(now());
          }
          return { status: 200, body: batchView(batch, baseUrl) };
        }
        return route(req.method, path, req.url.searchParams, body);
      } finally {
        inFlight -= 1;
      }
    },
    {
      framing: MARKETING_FRAMING,
      faults: {
        switches,
        body: (status) => problem(status, 'Injected failure').body,
        exempt: (req) => req.url.pathname.startsWith('/batch-results/'),
      },
    },
  );
  baseUrl = server.url;

  const listByName = (name: string): MailchimpList => {
    const list = [...state.lists.values()].find((l) => l.name === name);
    if (!list) throw new Error(`fake Mailchimp has no list named ${name}`);
    return list;
  };

  const edit = (member: MailchimpMember, mergeFields: Record<string, unknown>): void => {
    member.merge_fields = { ...member.merge_fields, ...mergeFields };
    setChanged(member);
  };

  return {
    url: server.url,
    apiKey,
    state,
    listId: (name) => listByName(name).id,
    members: (name) =>
      [...listByName(name).members.values()]
        .map(publicMember)
        .sort((a, b) => a.email_address.localeCompare(b.email_address)),
    ids: (name) => [...listByName(name).members.values()].filter((m) => m.status !== 'archived').map((m) => m.id),
    snapshot: (name) =>
      [...listByName(name).members.values()]
        .map((m) => ({
          id: m.id,
          email_address: m.email_address,
          status: m.status,
          merge_fields: m.merge_fields,
          last_changed: m.last_changed,
        }))
        .sort((a, b) => a.id.localeCompare(b.id)),
    remove: (name, id) => {
      const member = listByName(name).members.get(id);
      if (!member) throw new Error(`fake Mailchimp: no member ${id} in ${name}`);
      member.status = 'archived';
      setChanged(member);
    },
    touch: (name, id) => {
      const member = listByName(name).members.get(id);
      if (!member) throw new Error(`fake Mailchimp: no member ${id} in ${name}`);
      edit(member, { TOUCHED: String(now()) });
    },
    edit: (name, email, mergeFields) => {
      const member = listByName(name).members.get(subscriberHash(email));
      if (!member) throw new Error(`fake Mailchimp: ${email} is not in ${name}`);
      edit(member, mergeFields);
    },
    requestCount: () => server.log.filter((path) => path.startsWith('/3.0/')).length,
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
