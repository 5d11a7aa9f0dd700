/**
 * A local HubSpot CRM v3: object list with `after` paging, search (filterGroups, one sort, 200 per
 * page, 10,000 results per query), batch upsert/archive, GDPR delete, private-app bearer auth,
 * the X-HubSpot-RateLimit-* headers with a rolling ten-second window that answers 429 with
 * `policyName`, and HubSpot's error bodies. Search orders ties arbitrarily, as HubSpot does not
 * promise an order among equal sort values.
 */
import { createHash, createHmac, randomUUID } from 'crypto';
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

export interface HsRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

export interface FakeHubSpotOptions extends FakeOptions {
  readonly accessToken?: string;
  /** Requests allowed per rolling ten seconds before 429 TEN_SECONDLY_ROLLING. */
  readonly tenSecondLimit?: number;
  readonly dailyLimit?: number;
  readonly port?: number;
}

export interface FakeHubSpotState {
  readonly accessToken: string;
  readonly objects: Map<string, Map<string, HsRecord>>;
  readonly archived: Map<string, Map<string, HsRecord>>;
  /** Emails erased through gdpr-delete. */
  readonly gdprDeleted: string[];
  dailyUsed: number;
  /**
   * Ids whose latest change search does not show yet: HubSpot's search index lags behind writes, so
   * a change can become searchable after later changes already are. Search serves their previous
   * version (or nothing, for a new record) until they are released.
   */
  readonly unindexed: Map<string, HsRecord | undefined>;
  upsertRecord(type: string, properties: Record<string, string | null>, id?: string): HsRecord;
  archiveRecord(type: string, id: string): void;
}

export interface FakeHubSpot extends Fake {
  readonly state: FakeHubSpotState;
  /** Changes one record as touch() does, but search sees the change only after indexNow(id). */
  touchUnindexed(type: string, id: string): void;
  indexNow(id: string): void;
}

const PROPERTIES: Record<string, readonly string[]> = {
  contacts: ['email', 'firstname', 'lastname', 'phone', 'company', 'external_id'],
  companies: ['name', 'domain', 'phone', 'industry', 'external_id'],
  deals: ['dealname', 'amount', 'dealstage', 'pipeline', 'closedate', 'external_id'],
  tickets: ['subject', 'content', 'hs_pipeline', 'hs_pipeline_stage', 'external_id'],
};
/**
 * Properties HubSpot enforces as unique, usable as idProperty in batch upsert: contacts' email and
 * custom properties created with hasUniqueValue (external_id here). A company's `domain` is not one:
 * HubSpot lets several companies share a domain.
 */
const UNIQUE: Record<string, readonly string[]> = {
  contacts: ['email', 'external_id'],
  companies: ['external_id'],
  deals: ['external_id'],
  tickets: ['external_id'],
};
/** HubSpot's object type ids, as its error messages name them. */
const TYPE_IDS: Record<string, string> = { contacts: '0-1', companies: '0-2', deals: '0-3', tickets: '0-5' };
const DEFAULT_PROPERTIES: Record<string, readonly string[]> = {
  contacts: ['email', 'firstname', 'lastname'],
  companies: ['name', 'domain'],
  deals: ['dealname', 'amount', 'dealstage'],
  tickets: ['subject', 'hs_pipeline_stage'],
};

export function lastModifiedProperty(type: string): string {
  return type === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
}
const createdProperty = (type: string) => (type === 'contacts' ? 'createdate' : 'hs_createdate');

function hsError(status: number, category: string, message: string, extra: Record<string, unknown> = {}): FakeResponse {
  return { status, body: { status: 'error', message, correlationId: randomUUID(), category, ...extra } };
}

/** v3 signature: base64 HMAC-SHA256 over method + URI + body + timestamp with the app's client secret. */
export function hubspotSignatureV3(
  clientSecret: string,
  method: string,
  uri: string,
  body: string,
  timestamp: number,
): string {
  return createHmac('sha256', clientSecret).update(`${method}${uri}${body}${timestamp}`, 'utf8').digest('base64');
}

export async function startFakeHubSpot(options: FakeHubSpotOptions = {}): Promise<FakeHubSpot> {
  const switches = new FakeSwitches();
  const random = seededRandom(7);
  const tenSecondLimit = options.tenSecondLimit ?? 190;
  const dailyLimit = options.dailyLimit ?? 500_000;
  const pageSize = options.pageSize;
  const window: number[] = [];
  let idCounter = 1000;
  // Modification times are real epoch ms (HubSpot compares them with its own clock); seeded records
  // are a day old and share milliseconds in threes, as bulk imports do.
  let lastStamp = 0;
  const stamp = (at?: number) => {
    lastStamp = at ?? Math.max(Date.now(), lastStamp + 1);
    return new Date(lastStamp).toISOString();
  };

  const state: FakeHubSpotState = {
    accessToken: options.accessToken ?? 'pat-na1-fake-token',
    objects: new Map(Object.keys(PROPERTIES).map((type) => [type, new Map()])),
    archived: new Map(Object.keys(PROPERTIES).map((type) => [type, new Map()])),
    gdprDeleted: [],
    dailyUsed: 0,
    unindexed: new Map(),
    upsertRecord(type, properties, id) {
      return save(type, properties, id, stamp());
    },
    archiveRecord(type, id) {
      const record = state.objects.get(type)?.get(id);
      if (!record) return;
      state.objects.get(type)!.delete(id);
      record.archived = true;
      record.archivedAt = stamp();
      state.archived.get(type)!.set(id, record);
    },
  };

  function save(type: string, properties: Record<string, string | null>, id: string | undefined, at: string): HsRecord {
    const table = state.objects.get(type)!;
    const existing = id ? table.get(id) : undefined;
    if (existing) {
      Object.assign(existing.properties, properties, { [lastModifiedProperty(type)]: at });
      existing.updatedAt = at;
      return existing;
    }
    const newId = String(++idCounter);
    const record: HsRecord = {
      id: newId,
      properties: {
        ...Object.fromEntries(PROPERTIES[type].map((p) => [p, null])),
        ...properties,
        hs_object_id: newId,
        [createdProperty(type)]: at,
        [lastModifiedProperty(type)]: at,
      },
      createdAt: at,
      updatedAt: at,
      archived: false,
    };
    table.set(newId, record);
    return record;
  }

  const dayAgo = Date.now() - 86_400_000;
  for (const [type, count] of Object.entries(options.seed ?? { contacts: 50 })) {
    if (!PROPERTIES[type]) throw new Error(`fake HubSpot has no object type ${type}`);
    for (let i = 0; i < count; i++) {
      const person = fakePerson(idCounter + 1, random);
      const company = fakeCompany(random);
      const at = new Date(dayAgo + Math.floor(i / 3)).toISOString();
      const properties: Record<string, Record<string, string>> = {
        contacts: {
          email: person.email,
          firstname: person.firstName,
          lastname: person.lastName,
          phone: person.phone,
          company,
        },
        companies: { name: company, domain: `${company.toLowerCase().replace(/\W+/g, '')}${idCounter}.example.com` },
        deals: {
          dealname: `${company} deal`,
          amount: String(Math.round(random() * 10000)),
          dealstage: 'appointmentscheduled',
          pipeline: 'default',
        },
        tickets: {
          subject: `Ticket from ${person.firstName}`,
          content: 'Cannot log in',
          hs_pipeline: '0',
          hs_pipeline_stage: '1',
        },
      };
      save(type, properties[type], undefined, at);
    }
  }

  function view(record: HsRecord, type: string, requested: readonly string[] | undefined) {
    const names = [
      ...new Set([
        ...(requested?.length ? requested : DEFAULT_PROPERTIES[type]),
        'hs_object_id',
        createdProperty(type),
        lastModifiedProperty(type),
      ]),
    ];
    const properties = Object.fromEntries(
      names.filter((n) => n in record.properties).map((n) => [n, record.properties[n]]),
    );
    return {
      id: record.id,
      properties,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      archived: record.archived,
      ...(record.archivedAt ? { archivedAt: record.archivedAt } : {}),
    };
  }

  function comparable(value: string | null | undefined, property: string): number | string | null {
    if (value === null || value === undefined) return null;
    if (/date$/.test(property) || property === 'hs_object_id')
      return /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    return value.toLowerCase();
  }

  function filterMatches(
    record: HsRecord,
    filter: { propertyName: string; operator: string; value?: string; values?: string[] },
  ): boolean {
    const left = comparable(record.properties[filter.propertyName], filter.propertyName);
    const right = comparable(filter.value, filter.propertyName);
    switch (filter.operator) {
      case 'EQ':
        return left === right;
      case 'NEQ':
        return left !== right;
      case 'GT':
        return left !== null && right !== null && left > right;
      case 'GTE':
        return left !== null && right !== null && left >= right;
      case 'LT':
        return left !== null && right !== null && left < right;
      case 'LTE':
        return left !== null && right !== null && left <= right;
      case 'HAS_PROPERTY':
        return left !== null;
      case 'NOT_HAS_PROPERTY':
        return left === null;
      case 'IN':
        return (filter.values ?? []).some((v) => comparable(v, filter.propertyName) === left);
      default:
        throw new Error(`unsupported operator ${filter.operator}`);
    }
  }

  function tieBreak(id: string): string {
    return createHash('md5').update(id).digest('hex');
  }

  function search(type: string, body: any): FakeResponse {
    const limit = body?.limit ?? 10;
    if (!Number.isInteger(limit) || limit < 1 || limit > 200)
      return hsError(400, 'VALIDATION_ERROR', 'limit must be between 1 and 200');
    const groups: any[] = body?.filterGroups ?? [];
    if (groups.length > 5 || groups.some((g) => (g.filters ?? []).length > 6))
      return hsError(400, 'VALIDATION_ERROR', 'at most 5 filterGroups with 6 filters each');
    const sorts: any[] = body?.sorts ?? [];
    if (sorts.length > 1) return hsError(400, 'VALIDATION_ERROR', 'only one sort is allowed');
    const offset = body?.after ? Number(body.after) : 0;
    if (offset + limit > 10_000) return hsError(400, 'VALIDATION_ERROR', 'paging beyond 10000 results is not allowed');
    let rows: HsRecord[];
    try {
      const indexed = [...state.objects.get(type)!.values()].flatMap((r) =>
        state.unindexed.has(r.id) ? (state.unindexed.get(r.id) ? [state.unindexed.get(r.id)!] : []) : [r],
      );
      rows = indexed.filter(
        (r) => groups.length === 0 || groups.some((g) => (g.filters ?? []).every((f: any) => filterMatches(r, f))),
      );
    } catch (error) {
      return hsError(400, 'VALIDATION_ERROR', (error as Error).message);
    }
    const sort = sorts[0] ?? { propertyName: 'hs_object_id', direction: 'ASCENDING' };
    const sign = sort.direction === 'DESCENDING' ? -1 : 1;
    rows.sort((a, b) => {
      const x = comparable(a.properties[sort.propertyName], sort.propertyName) ?? '';
      const y = comparable(b.properties[sort.propertyName], sort.propertyName) ?? '';
      if (x !== y) return x < y ? -sign : sign;
      return tieBreak(a.id) < tieBreak(b.id) ? -1 : 1;
    });
    const slice = rows.slice(offset, offset + limit);
    const next = offset + limit < rows.length ? { next: { after: String(offset + limit) } } : undefined;
    return {
      status: 200,
      body: {
        total: rows.length,
        results: slice.map((r) => view(r, type, body?.properties)),
        ...(next ? { paging: next } : {}),
      },
    };
  }

  function list(type: string, url: URL): FakeResponse {
    const limit = Number(url.searchParams.get('limit') ?? 10);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      return hsError(400, 'VALIDATION_ERROR', 'limit must be between 1 and 100');
    const size = pageSize ? Math.min(pageSize, limit) : limit;
    const archived = url.searchParams.get('archived') === 'true';
    const after = Number(url.searchParams.get('after') ?? 0);
    const properties = url.searchParams.getAll('properties').flatMap((p) => p.split(','));
    const rows = [...(archived ? state.archived : state.objects).get(type)!.values()]
      .filter((r) => Number(r.id) > after)
      .sort((a, b) => Number(a.id) - Number(b.id));
    const slice = rows.slice(0, size);
    const body: Record<string, unknown> = { results: slice.map((r) => view(r, type, properties)) };
    if (rows.length > size) {
      const nextAfter = String(Number(slice[slice.length - 1].id));
      body.paging = { next: { after: nextAfter, link: `${server.url}/crm/v3/objects/${type}?after=${nextAfter}` } };
    }
    return { status: 200, body };
  }

  function batchUpsert(type: string, body: any): FakeResponse {
    const inputs: any[] = body?.inputs;
    if (!Array.isArray(inputs)) return hsError(400, 'VALIDATION_ERROR', 'inputs is required');
    if (inputs.length > 100) return hsError(400, 'VALIDATION_ERROR', 'batch size must be at most 100');
    const results: unknown[] = [];
    const errors: unknown[] = [];
    const startedAt = new Date().toISOString();
    // Upserting by a property that is not unique fails the whole batch (HubSpot answers 400).
    const nonUnique = inputs
      .map((input) => input.idProperty ?? 'hs_object_id')
      .find((idProperty: string) => !UNIQUE[type].includes(idProperty));
    if (nonUnique)
      return hsError(
        400,
        'VALIDATION_ERROR',
        `Unable to perform update/upsert by non-unique ${TYPE_IDS[type]} property ${nonUnique} in portal ID 62515`,
      );
    for (const input of inputs) {
      const idProperty = input.idProperty;
      const unknown = Object.keys(input.properties ?? {}).filter((p) => !PROPERTIES[type].includes(p));
      if (unknown.length) {
        errors.push({
          status: 'error',
          category: 'VALIDATION_ERROR',
          message: `Property values were not valid: ${unknown.map((p) => `Property "${p}" does not exist`).join(', ')}`,
          context: { id: [String(input.id)] },
        });
        continue;
      }
      const key = String(input.id).toLowerCase();
      const existing = [...state.objects.get(type)!.values()].find(
        (r) => (r.properties[idProperty] ?? '').toLowerCase() === key,
      );
      const properties = { ...input.properties, [idProperty]: idProperty === 'email' ? key : String(input.id) };
      const record = state.upsertRecord(type, properties, existing?.id);
      results.push({ ...view(record, type, Object.keys(properties)), new: !existing });
    }
    const payload = {
      status: 'COMPLETE',
      results,
      startedAt,
      completedAt: new Date().toISOString(),
      ...(errors.length ? { numErrors: errors.length, errors } : {}),
    };
    return { status: errors.length ? 207 : 200, body: payload };
  }

  function route(request: FakeRequest): FakeResponse {
    const parts = request.url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'crm' || parts[1] !== 'v3' || parts[2] !== 'objects')
      return hsError(404, 'OBJECT_NOT_FOUND', `No route for ${request.method} ${request.url.pathname}`);
    const type = parts[3];
    if (!state.objects.has(type)) return hsError(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${type}`);
    const body = () => JSON.parse(request.body.toString('utf8') || '{}');
    const rest = parts.slice(4);
    if (rest.length === 0 && request.method === 'GET') return list(type, request.url);
    if (rest[0] === 'search' && request.method === 'POST') return search(type, body());
    if (rest[0] === 'batch' && rest[1] === 'upsert' && request.method === 'POST') return batchUpsert(type, body());
    if (rest[0] === 'batch' && rest[1] === 'archive' && request.method === 'POST') {
      const inputs: { id: string }[] = body().inputs ?? [];
      if (inputs.length > 100) return hsError(400, 'VALIDATION_ERROR', 'batch size must be at most 100');
      for (const { id } of inputs) state.archiveRecord(type, String(id));
      return { status: 204 };
    }
    if (rest[0] === 'gdpr-delete' && request.method === 'POST' && type === 'contacts') {
      const { objectId, idProperty } = body();
      const table = state.objects.get(type)!;
      const match = [...table.values(), ...state.archived.get(type)!.values()].find((r) =>
        idProperty === 'email' ? r.properties.email === String(objectId).toLowerCase() : r.id === String(objectId),
      );
      if (!match) return hsError(404, 'OBJECT_NOT_FOUND', 'resource not found');
      table.delete(match.id);
      state.archived.get(type)!.delete(match.id);
      state.gdprDeleted.push(String(match.properties.email));
      return { status: 204 };
    }
    if (rest.length === 1 && request.method === 'GET') {
      const record = state.objects.get(type)!.get(rest[0]);
      return record
        ? { status: 200, body: view(record, type, request.url.searchParams.getAll('properties')) }
        : hsError(404, 'OBJECT_NOT_FOUND', 'resource not found');
    }
    return hsError(404, 'OBJECT_NOT_FOUND', `No route for ${request.method} ${request.url.pathname}`);
  }

  function limitHeaders(remaining: number): Record<string, string> {
    return {
      'X-HubSpot-RateLimit-Daily': String(dailyLimit),
      'X-HubSpot-RateLimit-Daily-Remaining': String(Math.max(0, dailyLimit - state.dailyUsed)),
      'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
      'X-HubSpot-RateLimit-Max': String(tenSecondLimit),
      'X-HubSpot-RateLimit-Remaining': String(Math.max(0, remaining)),
    };
  }

  const server = await serveFake(
    (request) => {
      const failure = switches.admit();
      if (failure) {
        const response =
          failure.status === 429
            ? hsError(429, 'RATE_LIMITS', 'You have reached your ten_secondly_rolling limit.', {
                errorType: 'RATE_LIMIT',
                policyName: 'TEN_SECONDLY_ROLLING',
                groupName: 'publicapi:private-app:ten-secondly-rolling',
              })
            : hsError(failure.status, 'INTERNAL_ERROR', 'internal error');
        return { ...response, headers: { ...limitHeaders(0), ...failure.headers } };
      }
      if (switches.authRevoked || request.headers.authorization !== `Bearer ${state.accessToken}`) {
        return hsError(
          401,
          'INVALID_AUTHENTICATION',
          'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
        );
      }
      const now = Date.now();
      while (window.length && window[0] <= now - 10_000) window.shift();
      if (window.length >= tenSecondLimit) {
        return {
          ...hsError(429, 'RATE_LIMITS', 'You have reached your ten_secondly_rolling limit.', {
            errorType: 'RATE_LIMIT',
            policyName: 'TEN_SECONDLY_ROLLING',
          }),
          headers: limitHeaders(0),
        };
      }
      if (state.dailyUsed >= dailyLimit)
        return {
          ...hsError(429, 'RATE_LIMITS', 'You have reached your daily limit.', {
            errorType: 'RATE_LIMIT',
            policyName: 'DAILY',
          }),
          headers: limitHeaders(tenSecondLimit - window.length),
        };
      window.push(now);
      state.dailyUsed++;
      const response = route(request);
      return { ...response, headers: { ...limitHeaders(tenSecondLimit - window.length), ...response.headers } };
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
    ids: (type) => [...(state.objects.get(type)?.keys() ?? [])],
    remove: (type, id) => state.archiveRecord(type, id),
    touch: (type, id) => {
      const record = state.objects.get(type)?.get(id);
      if (!record) throw new Error(`no ${type} ${id}`);
      state.upsertRecord(type, {}, id);
    },
    touchUnindexed: (type, id) => {
      const record = state.objects.get(type)?.get(id);
      if (!record) throw new Error(`no ${type} ${id}`);
      state.unindexed.set(id, structuredClone(record));
      state.upsertRecord(type, {}, id);
    },
    indexNow: (id) => void state.unindexed.delete(id),
    snapshot: (type) =>
      [...(state.objects.get(type)?.values() ?? [])]
        .map((r) => ({
          id: r.id,
          properties: Object.fromEntries(
            Object.entries(r.properties).filter(([k]) => k !== lastModifiedProperty(type)),
          ),
        }))
        .sort((a, b) => Number(a.id) - Number(b.id)),
  };
}
