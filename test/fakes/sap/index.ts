/**
 * A local S/4HANA Business Partner OData V2 service (`/sap/opu/odata/sap/API_BUSINESS_PARTNER`):
 * A_BusinessPartner with its addresses, email addresses and phone numbers; `$filter`, `$orderby`,
 * `$top`/`$skip`, `$select`, `$expand`, server paging with `__next`; verbose JSON (`d.results`,
 * `__metadata`, `/Date(ms)/`, `PT08H00M00S`); deep insert on create, MERGE/PATCH with `If-Match`, the
 * CSRF token handshake (`x-csrf-token: Fetch`, session cookie) before writes, Basic auth for a
 * communication user or an XSUAA client-credentials token at `/oauth/token`. Every request is checked
 * against the EDMX (entity sets, properties, navigation, creatable/updatable/deletable): what breaks
 * it is refused as the service would and listed in `violations()`. Business partners cannot be deleted
 * (`sap:deletable="false"`): a user's delete is the archiving flag `IsMarkedForArchiving`.
 */
import { randomBytes } from 'crypto';
import {
  FakeClock,
  FakeSwitches,
  fakeCompany,
  fakePerson,
  jsonBody,
  seededRandom,
  serveFake,
  type FakeRequest,
  type FakeResponse,
} from '@data-sync/integrations/contract/fake-kit';
import type { Fake, FakeOptions } from '@data-sync/integrations/contract/connector-contract';
import { businessPartnerModel, checkWriteBody, type EdmEntityType } from './edmx';
import { evaluate, filterNames, FilterError, parseFilter } from './odata-filter';
import { batchAnswer, parseBatch, type BatchPart, type InnerRequest } from '../odata/batch';

export const SAP_SERVICE_PATH = '/sap/opu/odata/sap/API_BUSINESS_PARTNER';
const NS = 'API_BUSINESS_PARTNER';
/** Connector objects: business partners of one category. */
const CATEGORY: Record<string, string> = { persons: '1', organizations: '2' };

type Row = Record<string, unknown>;

export interface FakeSapOptions extends FakeOptions {
  readonly username?: string;
  readonly password?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly port?: number;
}

export interface FakeSapState {
  readonly username: string;
  readonly password: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Rows per entity set, keyed by their OData key predicate. */
  readonly sets: Map<string, Map<string, Row>>;
  /** Sets fields of a business partner as a user saving it in the Fiori app would (a new last-change time). */
  edit(businessPartner: string, fields: Row): Row;
  /** Ends every session, as the server's session timeout does: the CSRF tokens fetched so far stop working. */
  expireSessions(): void;
}

export interface FakeSap extends Fake {
  readonly state: FakeSapState;
}

const SETS = [
  'A_BusinessPartner',
  'A_BusinessPartnerAddress',
  'A_AddressEmailAddress',
  'A_AddressPhoneNumber',
] as const;

function sapError(status: number, code: string, message: string): FakeResponse {
  return {
    status,
    headers: { 'content-type': 'application/json' },
    body: {
      error: {
        code,
        message: { lang: 'en', value: message },
        innererror: { transactionid: randomBytes(16).toString('hex').toUpperCase() },
      },
    },
  };
}

const DAY = 86_400_000;
const pad = (n: number) => String(n).padStart(2, '0');
const edmTime = (seconds: number) =>
  `PT${pad(Math.floor(seconds / 3600))}H${pad(Math.floor((seconds % 3600) / 60))}M${pad(seconds % 60)}S`;

/** The key predicate of a row, as in `A_AddressEmailAddress(AddressID='1',Person='2',OrdinalNumber='1')`. */
function keyOf(type: EdmEntityType, row: Row): string {
  if (type.keys.length === 1) return `'${row[type.keys[0]]}'`;
  return type.keys.map((k) => `${k}='${row[k]}'`).join(',');
}

export async function startFakeSap(options: FakeSapOptions = {}): Promise<FakeSap> {
  const model = businessPartnerModel();
  const switches = new FakeSwitches();
  const random = seededRandom(17);
  const violations: string[] = [];
  const sessions = new Map<string, string>();
  const tokens = new Set<string>();
  const clock = new FakeClock(Math.floor((Date.now() - DAY) / 1000) * 1000);
  const serverPage = options.pageSize ?? 1000;
  let counter = 0;
  let etagCounter = 0;

  const sets = new Map<string, Map<string, Row>>(SETS.map((s) => [s, new Map()]));
  const typeOf = (set: string) => model.types.get(model.sets.get(set)!.type)!;
  const put = (set: string, row: Row) => sets.get(set)!.set(keyOf(typeOf(set), row), row);

  function stamp(row: Row, at: Date): void {
    const ms = at.getTime();
    row.LastChangeDate = Math.floor(ms / DAY) * DAY;
    row.LastChangeTime = Math.floor((ms % DAY) / 1000);
    // A counter in the fraction: two saves within one second still get different ETags.
    row.__etag = `W/"datetimeoffset'${at.toISOString().slice(0, 19)}.${String(++etagCounter).padStart(7, '0')}Z'"`;
  }

  /** A business partner with one address holding its email (and phone), as a deep insert creates it. */
  function create(body: Row, at: Date): Row {
    const id = String(1000000 + ++counter);
    const bp: Row = {
      BusinessPartner: id,
      IsMarkedForArchiving: false,
      BusinessPartnerIsBlocked: false,
      PersonNumber: body.BusinessPartnerCategory === '1' ? String(30000 + counter) : '',
    };
    for (const [key, value] of Object.entries(body))
      if (typeOf('A_BusinessPartner').properties.has(key)) bp[key] = value;
    bp.BusinessPartnerFullName =
      bp.BusinessPartnerCategory === '1'
        ? [bp.FirstName, bp.LastName].filter(Boolean).join(' ')
        : (bp.OrganizationBPName1 ?? '');
    bp.CreationDate = Math.floor(at.getTime() / DAY) * DAY;
    bp.CreationTime = Math.floor((at.getTime() % DAY) / 1000);
    stamp(bp, at);
    put('A_BusinessPartner', bp);
    const addresses = ((body.to_BusinessPartnerAddress as { results?: Row[] })?.results ?? []) as Row[];
    addresses.forEach((address, a) => {
      const addressId = String(20000 + counter * 10 + a);
      const row: Row = { BusinessPartner: id, AddressID: addressId };
      for (const [key, value] of Object.entries(address))
        if (typeOf('A_BusinessPartnerAddress').properties.has(key)) row[key] = value;
      put('A_BusinessPartnerAddress', row);
      for (const [nav, set] of [
        ['to_EmailAddress', 'A_AddressEmailAddress'],
        ['to_PhoneNumber', 'A_AddressPhoneNumber'],
      ] as const) {
        (((address[nav] as { results?: Row[] })?.results ?? []) as Row[]).forEach((item, n) => {
          const child: Row = { AddressID: addressId, Person: bp.PersonNumber, OrdinalNumber: String(n + 1) };
          for (const [key, value] of Object.entries(item)) if (typeOf(set).properties.has(key)) child[key] = value;
          child[set === 'A_AddressEmailAddress' ? 'IsDefaultEmailAddress' : 'IsDefaultPhoneNumber'] = n === 0;
          put(set, child);
        });
      }
    });
    return bp;
  }

  const state: FakeSapState = {
    username: options.username ?? 'SYNC_COMM_USER',
    password: options.password ?? 'fake-sap-password-1',
    clientId: options.clientId ?? 'sb-sync!t100',
    clientSecret: options.clientSecret ?? 'fake-xsuaa-secret',
    sets,
    edit(businessPartner, fields) {
      const bp = sets.get('A_BusinessPartner')!.get(`'${businessPartner}'`);
      if (!bp) throw new Error(`no business partner ${businessPartner}`);
      Object.assign(bp, fields);
      if (bp.BusinessPartnerCategory === '1')
        bp.BusinessPartnerFullName = [bp.FirstName, bp.LastName].filter(Boolean).join(' ');
      stamp(bp, clock.later());
      return bp;
    },
    expireSessions: () => sessions.clear(),
  };

  for (const [object, count] of Object.entries(options.seed ?? { persons: 20 })) {
    if (!CATEGORY[object]) throw new Error(`fake SAP has no ${object} (known: ${Object.keys(CATEGORY).join(', ')})`);
    for (let i = 0; i < count; i++) {
      const person = fakePerson(counter + 1, random);
      const company = fakeCompany(random);
      const names =
        object === 'persons'
          ? { FirstName: person.firstName, LastName: person.lastName }
          : { OrganizationBPName1: `${company} ${counter + 1}` };
      create(
        {
          BusinessPartnerCategory: CATEGORY[object],
          ...names,
          to_BusinessPartnerAddress: {
            results: [
              {
                Country: 'US',
                CityName: 'Palo Alto',
                to_EmailAddress: { results: [{ EmailAddress: person.email }] },
                to_PhoneNumber: { results: [{ PhoneNumber: person.phone }] },
              },
            ],
          },
        },
        clock.next(),
      );
    }
  }

  /** A row in verbose JSON: typed values, `__metadata`, expanded or deferred navigation. */
  function render(
    set: string,
    row: Row,
    expand: readonly string[][],
    select: readonly string[] | undefined,
    base: string,
  ): Row {
    const type = typeOf(set);
    const uri = `${base}${SAP_SERVICE_PATH}/${set}(${keyOf(type, row)})`;
    const out: Row = {
      __metadata: { id: uri, uri, type: `${NS}.${type.name}`, ...(row.__etag ? { etag: row.__etag } : {}) },
    };
    for (const [name, property] of type.properties) {
      if (select && !select.includes(name)) continue;
      const value = row[name];
      if (value === undefined || value === null)
        out[name] = property.type === 'Edm.Boolean' ? false : property.type === 'Edm.String' ? '' : null;
      else if (property.type === 'Edm.DateTime') out[name] = `/Date(${value})/`;
      else if (property.type === 'Edm.Time') out[name] = edmTime(Number(value));
      else out[name] = value;
    }
    for (const nav of type.navigation.keys()) {
      const paths = expand.filter((p) => p[0] === nav);
      if (paths.length === 0) {
        if (!select) out[nav] = { __deferred: { uri: `${uri}/${nav}` } };
        continue;
      }
      const childSet = children(set, nav);
      const rows = childSet ? [...sets.get(childSet.set)!.values()].filter((child) => childSet.match(row, child)) : [];
      out[nav] = {
        results: rows.map((child) =>
          render(
            childSet!.set,
            child,
            paths.map((p) => p.slice(1)).filter((p) => p.length > 0),
            undefined,
            base,
          ),
        ),
      };
    }
    return out;
  }

  function children(
    set: string,
    nav: string,
  ): { set: string; match: (parent: Row, child: Row) => boolean } | undefined {
    if (set === 'A_BusinessPartner' && nav === 'to_BusinessPartnerAddress')
      return { set: 'A_BusinessPartnerAddress', match: (p, c) => c.BusinessPartner === p.BusinessPartner };
    if (set === 'A_BusinessPartnerAddress' && nav === 'to_EmailAddress')
      return { set: 'A_AddressEmailAddress', match: (p, c) => c.AddressID === p.AddressID };
    if (set === 'A_BusinessPartnerAddress' && nav === 'to_PhoneNumber')
      return { set: 'A_AddressPhoneNumber', match: (p, c) => c.AddressID === p.AddressID };
    return undefined;
  }

  function refuse(message: string, status = 400, code = '/IWBEP/CM_MGW_RT/020'): FakeResponse {
    violations.push(message);
    return sapError(status, code, message);
  }

  function query(set: string, url: URL, base: string): FakeResponse {
    const type = typeOf(set);
    for (const key of url.searchParams.keys()) {
      if (
        key.startsWith('$') &&
        ![
          '$filter',
          '$orderby',
          '$top',
          '$skip',
          '$select',
          '$expand',
          '$format',
          '$inlinecount',
          '$skiptoken',
        ].includes(key)
      )
        return refuse(`System query option '${key}' is not supported`);
    }
    const expand = (url.searchParams.get('$expand') ?? '')
      .split(',')
      .filter(Boolean)
      .map((p) => p.split('/'));
    for (const path of expand) {
      let current: EdmEntityType | undefined = type;
      for (const segment of path) {
        const nav: { target: string } | undefined = current?.navigation.get(segment);
        if (!nav) return refuse(`Property ${segment} not found in type ${current?.name}`);
        current = model.types.get(nav.target);
      }
    }
    const select = url.searchParams.get('$select')?.split(',').filter(Boolean);
    for (const name of select ?? [])
      if (!type.properties.has(name)) return refuse(`Property ${name} not found in type ${type.name}`);
    let rows = [...sets.get(set)!.values()];
    const filterText = url.searchParams.get('$filter');
    if (filterText) {
      let expr;
      try {
        expr = parseFilter(filterText);
      } catch (error) {
        return refuse(`Invalid filter expression: ${(error as FilterError).message}`);
      }
      for (const name of filterNames(expr))
        if (!type.properties.has(name)) return refuse(`Property ${name} not found in type ${type.name}`);
      try {
        rows = rows.filter((row) =>
          evaluate(expr, (name) =>
            type.properties.get(name)?.type === 'Edm.Boolean' ? Boolean(row[name]) : (row[name] ?? ''),
          ),
        );
      } catch (error) {
        return refuse(`Invalid filter expression: ${(error as Error).message}`);
      }
    }
    const orderby = (url.searchParams.get('$orderby') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => s.split(/\s+/));
    for (const [name, direction] of orderby) {
      if (!type.properties.has(name)) return refuse(`Property ${name} not found in type ${type.name}`);
      if (direction && direction !== 'asc' && direction !== 'desc') return refuse(`Invalid sort order ${direction}`);
    }
    const keyOrder = type.keys;
    rows.sort((a, b) => {
      for (const [name, direction] of [...orderby, ...keyOrder.map((k) => [k])]) {
        const x = a[name] as string | number;
        const y = b[name] as string | number;
        if (x !== y) return (x < y ? -1 : 1) * (direction === 'desc' ? -1 : 1);
      }
      return 0;
    });
    const number = (name: string) => {
      const text = url.searchParams.get(name);
      return text === null ? undefined : /^\d+$/.test(text) ? Number(text) : NaN;
    };
    const top = number('$top');
    const skip = (number('$skip') ?? 0) + (number('$skiptoken') ?? 0);
    if (Number.isNaN(top) || Number.isNaN(skip)) return refuse('Invalid $top, $skip or $skiptoken');
    const wanted = rows.slice(skip, top === undefined ? undefined : skip + top);
    const page = wanted.slice(0, serverPage);
    const body: Row = { results: page.map((row) => render(set, row, expand, select, base)) };
    if (wanted.length > page.length) {
      const next = new URL(url.toString());
      next.searchParams.set('$skiptoken', String((number('$skiptoken') ?? 0) + page.length));
      if (top !== undefined) next.searchParams.set('$top', String(top - page.length));
      body.__next = `${base}${next.pathname}${next.search}`;
    }
    return { status: 200, body: { d: body } };
  }

  function parseKey(set: string, predicate: string): string | undefined {
    const type = typeOf(set);
    if (type.keys.length === 1) return /^'[^']*'$/.test(predicate) ? predicate : undefined;
    const parts = new Map(predicate.split(',').map((p) => p.split('=') as [string, string]));
    if (parts.size !== type.keys.length || type.keys.some((k) => !parts.has(k))) return undefined;
    return type.keys.map((k) => `${k}=${parts.get(k)}`).join(',');
  }

  function write(request: FakeRequest, set: string, key: string | undefined, base: string): FakeResponse {
    const entitySet = model.sets.get(set)!;
    const type = typeOf(set);
    const method = request.method === 'MERGE' ? 'PATCH' : request.method;
    if (method === 'DELETE') {
      if (!entitySet.deletable) return refuse(`Entity set ${set} is not deletable`, 405, '/IWBEP/CM_MGW_RT/021');
      if (!key || !sets.get(set)!.delete(key))
        return sapError(404, '/IWBEP/CM_MGW_RT/004', 'Resource not found for segment');
      return { status: 204 };
    }
    let body: unknown;
    try {
      body = jsonBody(request);
    } catch {
      return refuse('The request body is not valid JSON');
    }
    if (method === 'POST' && !key) {
      if (set !== 'A_BusinessPartner') return sapError(501, 'FAKE/501', `the fake creates ${set} only by deep insert`);
      const problems = checkWriteBody(model, type.name, body, 'create', set);
      if (problems.length) return refuse(problems.join('; '));
      if (!['1', '2'].includes(String((body as Row).BusinessPartnerCategory)))
        return sapError(400, 'R11/401', 'Business partner category is required (1 person, 2 organization)');
      for (const address of (((body as Row).to_BusinessPartnerAddress as { results?: Row[] })?.results ??
        []) as Row[]) {
        if (!address.Country) return sapError(400, 'AM/216', 'Country is required for an address');
      }
      const bp = create(body as Row, clock.later());
      return {
        status: 201,
        headers: { etag: String(bp.__etag), location: `${base}${SAP_SERVICE_PATH}/${set}('${bp.BusinessPartner}')` },
        body: { d: render(set, bp, [], undefined, base) },
      };
    }
    if (method === 'PATCH' && key) {
      if (!entitySet.updatable) return refuse(`Entity set ${set} is not updatable`, 405);
      const row = sets.get(set)!.get(key);
      if (!row) return sapError(404, '/IWBEP/CM_MGW_RT/004', 'Resource not found for segment');
      const problems = checkWriteBody(model, type.name, body, 'update', set);
      if (problems.length) return refuse(problems.join('; '));
      const ifMatch = request.headers['if-match'];
      if (ifMatch && ifMatch !== '*' && ifMatch !== row.__etag)
        return sapError(412, '/IWBEP/CM_MGW_RT/022', 'Precondition failed: the entity was changed by another user');
      for (const k of type.keys)
        if (k in (body as Row) && (body as Row)[k] !== row[k]) return refuse(`Key property ${k} cannot be changed`);
      Object.assign(row, body);
      if (set === 'A_BusinessPartner') {
        if (row.BusinessPartnerCategory === '1')
          row.BusinessPartnerFullName = [row.FirstName, row.LastName].filter(Boolean).join(' ');
        stamp(row, clock.later());
      }
      return { status: 204, headers: row.__etag ? { etag: String(row.__etag) } : {} };
    }
    return refuse(`Method ${request.method} is not allowed on ${set}${key ? '(...)' : ''}`, 405);
  }

  function authorized(request: FakeRequest): boolean {
    if (switches.authRevoked) return false;
    const header = request.headers.authorization ?? '';
    if (header.startsWith('Bearer ')) return tokens.has(header.slice(7));
    return header === `Basic ${Buffer.from(`${state.username}:${state.password}`).toString('base64')}`;
  }

  function tokenEndpoint(request: FakeRequest): FakeResponse {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const basic = `Basic ${Buffer.from(`${state.clientId}:${state.clientSecret}`).toString('base64')}`;
    if (form.get('grant_type') !== 'client_credentials')
      return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'only client_credentials' } };
    if (switches.authRevoked || request.headers.authorization !== basic)
      return { status: 401, body: { error: 'invalid_client', error_description: 'Bad credentials' } };
    const token = randomBytes(24).toString('hex');
    tokens.add(token);
    return {
      status: 200,
      body: {
        access_token: token,
        token_type: 'bearer',
        expires_in: 43199,
        scope: 'uaa.resource',
        jti: randomBytes(8).toString('hex'),
      },
    };
  }

  function route(request: FakeRequest): FakeResponse {
    const base = `http://${request.headers.host}`;
    if (request.url.pathname === '/oauth/token' && request.method === 'POST') return tokenEndpoint(request);
    if (!request.url.pathname.startsWith(SAP_SERVICE_PATH)) return { status: 404, body: 'Not found' };
    if (!authorized(request))
      return {
        status: 401,
        headers: { 'content-type': 'text/plain', 'www-authenticate': 'Basic realm="SAP NetWeaver Application Server"' },
        body: 'Logon failed',
      };
    const rest = request.url.pathname.slice(SAP_SERVICE_PATH.length).replace(/^\/+/, '');
    const cookie = /SAP_SESSIONID_S4H_100=([^;]+)/.exec(request.headers.cookie ?? '')?.[1];
    const fetchToken = String(request.headers['x-csrf-token'] ?? '').toLowerCase() === 'fetch';
    const csrf: Record<string, string> = {};
    if (fetchToken && request.method === 'GET') {
      const session = cookie && sessions.has(cookie) ? cookie : randomBytes(16).toString('hex');
      if (!sessions.has(session)) sessions.set(session, randomBytes(16).toString('base64'));
      csrf['x-csrf-token'] = sessions.get(session)!;
      csrf['set-cookie'] = `SAP_SESSIONID_S4H_100=${session}; path=/; HttpOnly`;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const expected = cookie ? sessions.get(cookie) : undefined;
      if (!expected || request.headers['x-csrf-token'] !== expected)
        return {
          ...sapError(403, '/IWFND/CM_BEC/026', 'CSRF token validation failed'),
          headers: { 'x-csrf-token': 'Required', 'content-type': 'application/json' },
        };
    }
    if (rest === '' && request.method === 'GET')
      return { status: 200, headers: csrf, body: { d: { EntitySets: [...model.sets.keys()] } } };
    if (rest === '$batch')
      return request.method === 'POST' ? batch(request, base) : refuse('$batch takes POST only', 405);
    return resource(request, rest, base, csrf);
  }

  /** One entity set or entity request, authenticated (and CSRF-checked) already: alone or inside a `$batch`. */
  function resource(request: FakeRequest, rest: string, base: string, csrf: Record<string, string>): FakeResponse {
    const match = /^([A-Za-z_]+)(?:\((.*)\))?$/.exec(rest);
    if (!match || !model.sets.has(match[1]))
      return refuse(`Resource not found for segment '${rest}'`, 404, '/IWBEP/CM_MGW_RT/004');
    const set = match[1];
    if (!sets.has(set)) return sapError(501, 'FAKE/501', `the fake does not implement ${set}`);
    const key = match[2] === undefined ? undefined : parseKey(set, match[2]);
    if (match[2] !== undefined && !key) return refuse(`Invalid key predicate (${match[2]}) for ${set}`);
    if (request.method === 'GET') {
      if (!key) {
        const answer = query(set, request.url, base);
        return { ...answer, headers: { ...answer.headers, ...csrf } };
      }
      const row = sets.get(set)!.get(key);
      if (!row) return sapError(404, '/IWBEP/CM_MGW_RT/004', 'Resource not found for segment');
      const select = request.url.searchParams.get('$select')?.split(',').filter(Boolean);
      for (const name of select ?? [])
        if (!typeOf(set).properties.has(name)) return refuse(`Property ${name} not found`);
      return {
        status: 200,
        headers: { ...csrf, ...(row.__etag ? { etag: String(row.__etag) } : {}) },
        body: { d: render(set, row, [], select, base) },
      };
    }
    return write(request, set, key, base);
  }

  /**
   * `$batch`: reads alone, modifying requests in change sets, each change set applied all or nothing
   * (rolled back and answered by its error when one of its requests fails). The CSRF token and the
   * credentials are those of the batch request.
   */
  function batch(request: FakeRequest, base: string): FakeResponse {
    let batchParts: BatchPart[];
    try {
      batchParts = parseBatch(String(request.headers['content-type'] ?? ''), request.body.toString('utf8'));
    } catch (error) {
      return refuse(`Invalid $batch request: ${(error as Error).message}`);
    }
    const run = (inner: InnerRequest): FakeResponse => {
      const url = new URL(inner.target, `${base}${SAP_SERVICE_PATH}/`);
      if (!url.pathname.startsWith(`${SAP_SERVICE_PATH}/`))
        return refuse(`${inner.target} is outside the service`, 404);
      const innerRequest: FakeRequest = {
        method: inner.method,
        url,
        headers: { ...inner.headers, host: request.headers.host },
        body: Buffer.from(inner.body),
      };
      return resource(innerRequest, url.pathname.slice(SAP_SERVICE_PATH.length + 1), base, {});
    };
    return batchAnswer(
      batchParts.map((part) => {
        if ('request' in part)
          return part.request.method === 'GET'
            ? run(part.request)
            : refuse(`${part.request.method} outside a change set`, 400);
        const saved = new Map(
          [...sets].map(([name, rows]) => [name, new Map([...rows].map(([k, r]) => [k, structuredClone(r)]))]),
        );
        const answers: FakeResponse[] = [];
        for (const inner of part.changeSet) {
          const answer = run(inner);
          if (answer.status >= 400) {
            for (const [name, rows] of saved) sets.set(name, rows);
            return answer;
          }
          answers.push(answer);
        }
        return answers;
      }),
    );
  }

  const server = await serveFake(
    (request) => {
      const response = route(request);
      return { ...response, headers: { dataserviceversion: '2.0', ...response.headers } };
    },
    {
      port: options.port,
      faults: {
        switches,
        body: (status) =>
          status === 429
            ? sapError(429, 'API/429', 'Rate limit quota violation').body
            : sapError(status, '/IWFND/CM_BEC/500', 'Service unavailable').body,
      },
    },
  );

  const live = (object: string) =>
    [...sets.get('A_BusinessPartner')!.values()].filter(
      (bp) => bp.BusinessPartnerCategory === CATEGORY[object] && !bp.IsMarkedForArchiving,
    );

  return {
    url: server.url,
    state,
    close: server.close,
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: () => switches.revokeAuth(),
    restoreAuth: () => switches.restoreAuth(),
    requestCount: () => switches.requestCount(),
    violations: () => [...violations],
    ids: (object) => live(object).map((bp) => String(bp.BusinessPartner)),
    remove: (_object, id) => void state.edit(id, { IsMarkedForArchiving: true }),
    touch: (_object, id) => void state.edit(id, {}),
    touchLate: (_object, id, lagMs) => {
      const partners = [...sets.get('A_BusinessPartner')!.values()];
      const bp = partners.find((p) => p.BusinessPartner === id);
      if (!bp) throw new Error(`no business partner ${id}`);
      const newest = Math.max(...partners.map((p) => Number(p.LastChangeDate) + Number(p.LastChangeTime) * 1000));
      stamp(bp, new Date(newest - lagMs));
    },
    snapshot: (object) =>
      live(object)
        .map(({ LastChangeDate: _d, LastChangeTime: _t, __etag: _e, ...bp }) => ({
          ...bp,
          emails: [...sets.get('A_BusinessPartnerAddress')!.values()]
            .filter((a) => a.BusinessPartner === bp.BusinessPartner)
            .flatMap((a) =>
              [...sets.get('A_AddressEmailAddress')!.values()]
                .filter((e) => e.AddressID === a.AddressID)
                .map((e) => e.EmailAddress),
            ),
        }))
        .sort((a, b) => String((a as Row).BusinessPartner).localeCompare(String((b as Row).BusinessPartner))),
  };
}
