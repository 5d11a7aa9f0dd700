/**
 * A local Pipedrive API v2: persons, organizations and deals listed with `cursor` paging,
 * `updated_since` (inclusive) and `sort_by=update_time`, exact-match search, create (POST), update
 * (PATCH) and delete, `x-api-token` auth, the x-ratelimit-* headers of its two-second window and
 * Pipedrive's `{ success: false, error }` bodies.
 */
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

export type PdRecord = Record<string, unknown> & { id: number; update_time: string; add_time: string };

export interface FakePipedriveOptions extends FakeOptions {
  readonly apiToken?: string;
  /** Requests per two-second window before 429. */
  readonly windowLimit?: number;
  readonly port?: number;
}

export interface FakePipedriveState {
  readonly apiToken: string;
  readonly objects: Map<string, Map<number, PdRecord>>;
  /** Deleted items, kept (as Pipedrive's trash does) but no longer listed. */
  readonly deleted: Map<string, Map<number, PdRecord>>;
  save(type: string, fields: Record<string, unknown>, id?: number): PdRecord;
}

export interface FakePipedrive extends Fake {
  readonly state: FakePipedriveState;
}

const TYPES = ['persons', 'organizations', 'deals'] as const;
/** Search fields per type, the `fields` values Pipedrive accepts. */
const SEARCH_FIELDS: Record<string, Record<string, (r: PdRecord) => string[]>> = {
  persons: {
    email: (r) => ((r.emails as { value: string }[]) ?? []).map((e) => e.value),
    name: (r) => [String(r.name)],
  },
  organizations: { name: (r) => [String(r.name)] },
  deals: { title: (r) => [String(r.title)] },
};
const WRITABLE: Record<string, readonly string[]> = {
  persons: ['name', 'first_name', 'last_name', 'owner_id', 'org_id', 'emails', 'phones', 'visible_to', 'label_ids'],
  organizations: ['name', 'owner_id', 'address', 'visible_to', 'label_ids'],
  deals: ['title', 'value', 'currency', 'person_id', 'org_id', 'stage_id', 'status', 'owner_id'],
};
const REQUIRED: Record<string, string> = { persons: 'name', organizations: 'name', deals: 'title' };

/** Pipedrive's RFC 3339 timestamps have whole seconds. */
const rfc3339 = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function pdError(
  status: number,
  error: string,
  info = 'Please check developers.pipedrive.com for more information about Pipedrive API.',
): FakeResponse {
  return {
    status,
    body: { success: false, error, errorCode: status, error_info: info, data: null, additional_data: null },
  };
}

export async function startFakePipedrive(options: FakePipedriveOptions = {}): Promise<FakePipedrive> {
  const switches = new FakeSwitches();
  const random = seededRandom(11);
  const windowLimit = options.windowLimit ?? 80;
  const window: number[] = [];
  let idCounter = 0;
  // Seeded items are a day old, three per second; later changes use the real clock, a second apart
  // at least so each edit is visible to an `updated_since` at second precision.
  let seedClock = Date.now() - 86_400_000;
  let seeded = 0;
  let lastLive = 0;
  const liveStamp = () => {
    lastLive = Math.max(Date.now(), lastLive + 1000);
    return rfc3339(lastLive);
  };

  const state: FakePipedriveState = {
    apiToken: options.apiToken ?? 'fake-pipedrive-token',
    objects: new Map(TYPES.map((t) => [t, new Map()])),
    deleted: new Map(TYPES.map((t) => [t, new Map()])),
    save(type, fields, id) {
      const table = state.objects.get(type)!;
      const now = liveStamp();
      const existing = id === undefined ? undefined : table.get(id);
      if (existing) {
        Object.assign(existing, fields, { update_time: now });
        return existing;
      }
      const record: PdRecord = { id: ++idCounter, ...fields, add_time: now, update_time: now, is_deleted: false };
      table.set(record.id, record);
      return record;
    },
  };

  for (const [type, count] of Object.entries(options.seed ?? { persons: 50 })) {
    if (!state.objects.has(type)) throw new Error(`fake Pipedrive has no ${type}`);
    for (let i = 0; i < count; i++) {
      const person = fakePerson(idCounter + 1, random);
      const company = fakeCompany(random);
      const at = rfc3339(seedClock + Math.floor(seeded++ / 3) * 1000);
      const fields: Record<string, Record<string, unknown>> = {
        persons: {
          name: `${person.firstName} ${person.lastName}`,
          first_name: person.firstName,
          last_name: person.lastName,
          emails: [{ value: person.email, primary: true, label: 'work' }],
          phones: [{ value: person.phone, primary: true, label: 'work' }],
          owner_id: 1,
          org_id: null,
        },
        organizations: { name: `${company} ${idCounter + 1}`, owner_id: 1 },
        deals: {
          title: `${company} deal ${idCounter + 1}`,
          value: Math.round(random() * 10000),
          currency: 'EUR',
          status: 'open',
          stage_id: 1,
        },
      };
      const record: PdRecord = { id: ++idCounter, ...fields[type], add_time: at, update_time: at, is_deleted: false };
      state.objects.get(type)!.set(record.id, record);
    }
  }
  seedClock = 0;

  const encodeCursor = (r: PdRecord, sortBy: string) =>
    Buffer.from(JSON.stringify({ k: r[sortBy], id: r.id })).toString('base64url');

  function list(type: string, url: URL): FakeResponse {
    const limit = Number(url.searchParams.get('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500)
      return pdError(400, 'Validation failed: limit: Number must be less than or equal to 500');
    const size = options.pageSize ? Math.min(limit, options.pageSize) : limit;
    const sortBy = url.searchParams.get('sort_by') ?? 'id';
    if (!['id', 'update_time', 'add_time'].includes(sortBy))
      return pdError(
        400,
        `Validation failed: sort_by: Invalid enum value. Expected 'id' | 'update_time' | 'add_time', received '${sortBy}'`,
      );
    const desc = url.searchParams.get('sort_direction') === 'desc';
    const since = url.searchParams.get('updated_since');
    const sinceMs = since ? Date.parse(since) : undefined;
    if (since && Number.isNaN(sinceMs)) return pdError(400, 'Validation failed: updated_since: Invalid datetime');
    const key = (r: PdRecord) => (sortBy === 'id' ? r.id : Date.parse(String(r[sortBy])));
    let rows = [...state.objects.get(type)!.values()].filter(
      (r) => sinceMs === undefined || Date.parse(r.update_time) >= sinceMs,
    );
    rows.sort((a, b) => (key(a) === key(b) ? a.id - b.id : key(a) < key(b) ? -1 : 1) * (desc ? -1 : 1));
    const cursor = url.searchParams.get('cursor');
    if (cursor) {
      let after: { k: unknown; id: number };
      try {
        after = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      } catch {
        return pdError(400, 'Validation failed: cursor: Invalid cursor');
      }
      // Keyset paging: the cursor is the last item's sort key and id, so edits do not shift pages.
      const afterKey = sortBy === 'id' ? Number(after.k) : Date.parse(String(after.k));
      rows = rows.filter((r) =>
        desc
          ? key(r) < afterKey || (key(r) === afterKey && r.id < after.id)
          : key(r) > afterKey || (key(r) === afterKey && r.id > after.id),
      );
    }
    const slice = rows.slice(0, size);
    const next = rows.length > size ? encodeCursor(slice[slice.length - 1], sortBy) : null;
    return { status: 200, body: { success: true, data: slice, additional_data: { next_cursor: next } } };
  }

  function search(type: string, url: URL): FakeResponse {
    const term = url.searchParams.get('term') ?? '';
    if (term.length < 2) return pdError(400, 'Validation failed: term: String must contain at least 2 character(s)');
    const fields = (url.searchParams.get('fields') ?? Object.keys(SEARCH_FIELDS[type]).join(',')).split(',');
    const exact = url.searchParams.get('exact_match') === 'true';
    const readers = fields.map((f) => SEARCH_FIELDS[type][f]);
    if (readers.some((r) => !r)) return pdError(400, `Validation failed: fields: Invalid enum value for ${type}`);
    const items = [...state.objects.get(type)!.values()]
      .filter((r) =>
        readers.some((read) =>
          read(r).some((v) =>
            exact ? v.toLowerCase() === term.toLowerCase() : v.toLowerCase().includes(term.toLowerCase()),
          ),
        ),
      )
      .map((r) => ({ result_score: 1, item: r }));
    return { status: 200, body: { success: true, data: { items }, additional_data: { next_cursor: null } } };
  }

  function write(type: string, body: Record<string, unknown>, id?: number): FakeResponse {
    const unknown = Object.keys(body).filter((k) => !WRITABLE[type].includes(k));
    if (unknown.length)
      return pdError(
        400,
        `Validation failed: Unrecognized key(s) in object: ${unknown.map((k) => `'${k}'`).join(', ')}`,
      );
    if (id === undefined && !body[REQUIRED[type]])
      return pdError(400, `Validation failed: ${REQUIRED[type]}: Required`);
    if (id !== undefined && !state.objects.get(type)!.has(id)) return pdError(404, 'Item not found');
    return { status: 200, body: { success: true, data: state.save(type, body, id) } };
  }

  function route(request: FakeRequest): FakeResponse {
    const parts = request.url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'api' || parts[1] !== 'v2' || !state.objects.has(parts[2]))
      return pdError(404, 'Unknown method .');
    const type = parts[2];
    const rest = parts.slice(3);
    const body = () => JSON.parse(request.body.toString('utf8') || '{}') as Record<string, unknown>;
    if (rest.length === 0 && request.method === 'GET') return list(type, request.url);
    if (rest[0] === 'search' && request.method === 'GET') return search(type, request.url);
    if (rest.length === 0 && request.method === 'POST') return write(type, body());
    const id = Number(rest[0]);
    if (rest.length === 1 && request.method === 'PATCH') return write(type, body(), id);
    if (rest.length === 1 && request.method === 'GET') {
      const record = state.objects.get(type)!.get(id);
      return record ? { status: 200, body: { success: true, data: record } } : pdError(404, 'Item not found');
    }
    if (rest.length === 1 && request.method === 'DELETE') {
      const record = state.objects.get(type)!.get(id);
      if (!record) return pdError(404, 'Item not found');
      state.objects.get(type)!.delete(id);
      Object.assign(record, { is_deleted: true, update_time: liveStamp() });
      state.deleted.get(type)!.set(id, record);
      return { status: 200, body: { success: true, data: { id } } };
    }
    return pdError(404, 'Unknown method .');
  }

  const server = await serveFake(
    (request) => {
      const now = Date.now();
      while (window.length && window[0] <= now - 2000) window.shift();
      const limitHeaders = (remaining: number) => ({
        'x-ratelimit-limit': String(windowLimit),
        'x-ratelimit-remaining': String(Math.max(0, remaining)),
        'x-ratelimit-reset': '2',
        'x-daily-requests-left': '9999',
      });
      const failure = switches.admit();
      if (failure) {
        const response =
          failure.status === 429
            ? pdError(429, 'Request over limit')
            : pdError(failure.status, 'Internal server error');
        return { ...response, headers: { ...limitHeaders(0), ...failure.headers } };
      }
      if (switches.authRevoked || request.headers['x-api-token'] !== state.apiToken)
        return pdError(401, 'unauthorized access');
      if (window.length >= windowLimit)
        return { ...pdError(429, 'Request over limit'), headers: { ...limitHeaders(0), 'retry-after': '2' } };
      window.push(now);
      const response = route(request);
      return { ...response, headers: { ...limitHeaders(windowLimit - window.length), ...response.headers } };
    },
    { port: options.port },
  );

  return {
    url: server.url,
    state,
    close: server.close,
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: () => switches.revokeAuth(),
    restoreAuth: () => switches.restoreAuth(),
    requestCount: () => switches.requestCount(),
    ids: (type) => [...(state.objects.get(type)?.keys() ?? [])].map(String),
    remove: (type, id) => {
      const record = state.objects.get(type)?.get(Number(id));
      if (!record) throw new Error(`no ${type} ${id}`);
      state.objects.get(type)!.delete(Number(id));
      Object.assign(record, { is_deleted: true, update_time: liveStamp() });
      state.deleted.get(type)!.set(Number(id), record);
    },
    touch: (type, id) => void state.save(type, {}, Number(id)),
    snapshot: (type) =>
      [...(state.objects.get(type)?.values() ?? [])]
        .map(({ update_time: _updated, ...data }) => data)
        .sort((a, b) => a.id - b.id),
  };
}
