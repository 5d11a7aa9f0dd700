/**
 * A local Dataverse Web API (Dynamics 365, `/api/data/v9.2`): `contacts` and `accounts` with `$select`,
 * `$filter`, `Prefer: odata.maxpagesize` paging with `@odata.nextLink`, change tracking
 * (`Prefer: odata.track-changes`, `@odata.deltaLink` with `$deltatoken`, deleted rows as
 * `$deletedEntity`), upsert by alternate key (`PATCH /contacts(emailaddress1='…')`), delete by id,
 * `WhoAmI`, Microsoft Entra ID client credentials at `/<tenant>/oauth2/v2.0/token` (scope
 * `<org>/.default`), and the service protection answer (429 with Retry-After). Columns are the ones
 * the table reference (MicrosoftDocs/powerapps-docs, entities/contact.md and account.md) lists as
 * readable or writable; a request naming another is refused and listed in `violations()`.
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
import { batchAnswer, parseBatch, type BatchPart, type InnerRequest } from '../odata/batch';
import { evaluate, filterNames, parseFilter } from '../sap/odata-filter';

export const DATAVERSE_PATH = '/api/data/v9.2';

interface Table {
  readonly logicalName: string;
  readonly id: string;
  /** Columns a client may write (IsValidForCreate / IsValidForUpdate). */
  readonly writable: readonly string[];
  /** Columns only the platform sets. */
  readonly readOnly: readonly string[];
  /** Alternate keys defined on the table (an environment's customization; see the README). */
  readonly alternateKeys: readonly string[];
}

const TABLES: Record<string, Table> = {
  contacts: {
    logicalName: 'contact',
    id: 'contactid',
    writable: [
      'firstname',
      'lastname',
      'middlename',
      'emailaddress1',
      'emailaddress2',
      'telephone1',
      'mobilephone',
      'jobtitle',
      'company',
      'description',
      'statecode',
      'statuscode',
    ],
    readOnly: ['contactid', 'fullname', 'createdon', 'modifiedon', 'versionnumber', '_parentcustomerid_value'],
    alternateKeys: ['emailaddress1'],
  },
  accounts: {
    logicalName: 'account',
    id: 'accountid',
    writable: [
      'name',
      'accountnumber',
      'emailaddress1',
      'telephone1',
      'websiteurl',
      'description',
      'statecode',
      'statuscode',
    ],
    readOnly: ['accountid', 'createdon', 'modifiedon', 'versionnumber'],
    alternateKeys: ['accountnumber'],
  },
};

type Row = Record<string, unknown> & { versionnumber: number };

export interface FakeDynamicsOptions extends FakeOptions {
  readonly tenantId?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  readonly port?: number;
}

export interface FakeDynamicsState {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly organizationId: string;
  readonly tables: Map<string, Map<string, Row>>;
  /** Sets columns of a row as a user saving the form would (new version and modifiedon). */
  edit(table: string, id: string, fields: Record<string, unknown>): Row;
}

export interface FakeDynamics extends Fake {
  readonly state: FakeDynamicsState;
}

function dvError(status: number, code: string, message: string): FakeResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; odata.metadata=minimal' },
    body: { error: { code, message } },
  };
}

const iso = (at: Date) => at.toISOString().replace(/\.\d{3}Z$/, 'Z');
const guid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export async function startFakeDynamics(options: FakeDynamicsOptions = {}): Promise<FakeDynamics> {
  const switches = new FakeSwitches();
  const random = seededRandom(23);
  const violations: string[] = [];
  const tokens = new Set<string>();
  const clock = new FakeClock(Math.floor((Date.now() - 86_400_000) / 1000) * 1000);
  let version = 1000;
  let counter = 0;
  const tables = new Map<string, Map<string, Row>>(Object.keys(TABLES).map((t) => [t, new Map()]));
  /** Deleted rows by table: id and the version of the delete, for delta links. */
  const deleted = new Map<string, { id: string; version: number }[]>(Object.keys(TABLES).map((t) => [t, []]));

  function save(table: string, fields: Record<string, unknown>, id?: string): Row {
    const rows = tables.get(table)!;
    const at = iso(clock.later());
    const existing = id ? rows.get(id) : undefined;
    const row: Row = existing ?? {
      [TABLES[table].id]: id ?? guid(++counter),
      createdon: at,
      versionnumber: 0,
      statecode: 0,
      statuscode: 1,
    };
    Object.assign(row, fields, { modifiedon: at, versionnumber: ++version });
    if (table === 'contacts') row.fullname = [row.firstname, row.lastname].filter(Boolean).join(' ');
    rows.set(String(row[TABLES[table].id]), row);
    return row;
  }

  const state: FakeDynamicsState = {
    tenantId: options.tenantId ?? '11111111-2222-4333-8444-555555555555',
    clientId: options.clientId ?? 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    clientSecret: options.clientSecret ?? 'fake-entra-secret',
    organizationId: '99999999-0000-4000-8000-000000000001',
    tables,
    edit: (table, id, fields) => {
      if (!tables.get(table)?.has(id)) throw new Error(`no ${table} ${id}`);
      return save(table, fields, id);
    },
  };

  for (const [table, count] of Object.entries(options.seed ?? { contacts: 20 })) {
    if (!TABLES[table]) throw new Error(`fake Dataverse has no ${table}`);
    for (let i = 0; i < count; i++) {
      const person = fakePerson(counter + 1, random);
      const company = fakeCompany(random);
      const at = iso(clock.next());
      const fields =
        table === 'contacts'
          ? {
              firstname: person.firstName,
              lastname: person.lastName,
              emailaddress1: person.email,
              telephone1: person.phone,
            }
          : { name: `${company} ${counter + 1}`, accountnumber: `ACC-${1000 + counter}`, telephone1: person.phone };
      const row: Row = {
        [TABLES[table].id]: guid(++counter),
        ...fields,
        createdon: at,
        modifiedon: at,
        versionnumber: ++version,
        statecode: 0,
        statuscode: 1,
      };
      if (table === 'contacts') row.fullname = `${person.firstName} ${person.lastName}`;
      tables.get(table)!.set(String(row[TABLES[table].id]), row);
    }
  }

  function refuse(status: number, code: string, message: string): FakeResponse {
    violations.push(message);
    return dvError(status, code, message);
  }

  const columns = (table: string) => [...TABLES[table].writable, ...TABLES[table].readOnly];

  function render(table: string, row: Row, select: readonly string[] | undefined): Record<string, unknown> {
    const out: Record<string, unknown> = { '@odata.etag': `W/"${row.versionnumber}"` };
    for (const column of select ?? columns(table)) out[column] = row[column] ?? null;
    out[TABLES[table].id] = row[TABLES[table].id];
    return out;
  }

  function preferences(request: FakeRequest): { track: boolean; pageSize: number } {
    const prefer = String(request.headers.prefer ?? '');
    const size = /odata\.maxpagesize=(\d+)/.exec(prefer);
    return { track: /odata\.track-changes/.test(prefer), pageSize: Math.min(size ? Number(size[1]) : 5000, 5000) };
  }

  function list(table: string, request: FakeRequest, base: string): FakeResponse {
    const url = request.url;
    for (const key of url.searchParams.keys()) {
      if (
        key.startsWith('$') &&
        !['$select', '$filter', '$orderby', '$top', '$skiptoken', '$deltatoken', '$count'].includes(key)
      ) {
        return refuse(400, '0x80060888', `The query parameter ${key} is not supported`);
      }
    }
    const select = url.searchParams.get('$select')?.split(',').filter(Boolean);
    for (const column of select ?? []) {
      if (!columns(table).includes(column))
        return refuse(
          400,
          '0x80060888',
          `Could not find a property named '${column}' on type 'Microsoft.Dynamics.CRM.${TABLES[table].logicalName}'.`,
        );
    }
    const { track, pageSize } = preferences(request);
    const context = `${base}${DATAVERSE_PATH}/$metadata#${table}${select ? `(${select.join(',')})` : ''}`;
    const linkFor = (params: Record<string, string>) => {
      const link = new URL(`${base}${DATAVERSE_PATH}/${table}`);
      if (select) link.searchParams.set('$select', select.join(','));
      for (const [k, v] of Object.entries(params)) link.searchParams.set(k, v);
      return link.toString();
    };
    const deltaToken = url.searchParams.get('$deltatoken');
    if (deltaToken !== null) {
      const since = Number(deltaToken.split('!')[0]);
      if (!Number.isInteger(since)) return refuse(400, '0x80044352', `Invalid delta token ${deltaToken}`);
      const changed = [...tables.get(table)!.values()]
        .filter((r) => r.versionnumber > since)
        .sort((a, b) => a.versionnumber - b.versionnumber);
      const gone = deleted.get(table)!.filter((d) => d.version > since);
      const value = [
        ...changed.map((r) => render(table, r, select)),
        ...gone.map((d) => ({
          '@odata.context': `${base}${DATAVERSE_PATH}/$metadata#${table}/$deletedEntity`,
          id: d.id,
          reason: 'deleted',
        })),
      ];
      return {
        status: 200,
        headers: { 'preference-applied': 'odata.track-changes' },
        body: {
          '@odata.context': `${context}/$delta`,
          value,
          '@odata.deltaLink': linkFor({ $deltatoken: `${version}!${new Date().toISOString()}` }),
        },
      };
    }
    let rows = [...tables.get(table)!.values()];
    const filterText = url.searchParams.get('$filter');
    if (filterText) {
      let expr;
      try {
        expr = parseFilter(filterText);
      } catch (error) {
        return refuse(400, '0x80060888', (error as Error).message);
      }
      for (const name of filterNames(expr))
        if (!columns(table).includes(name))
          return refuse(400, '0x80060888', `Could not find a property named '${name}'`);
      rows = rows.filter((row) => evaluate(expr, (name) => row[name] ?? null, true));
    }
    const id = TABLES[table].id;
    rows.sort((a, b) => String(a[id]).localeCompare(String(b[id])));
    // The paging state: the last id served and the version the run started at (its delta baseline).
    const skip = url.searchParams.get('$skiptoken');
    let position: { after: string; start: number } = { after: '', start: version };
    if (skip) {
      try {
        position = JSON.parse(Buffer.from(skip, 'base64url').toString('utf8'));
      } catch {
        return refuse(400, '0x80060888', 'Invalid $skiptoken');
      }
    }
    const top = url.searchParams.get('$top');
    const remaining = rows.filter((r) => String(r[id]) > position.after);
    const limit = top === null ? pageSize : Math.min(pageSize, Number(top));
    const page = remaining.slice(0, limit);
    const body: Record<string, unknown> = {
      '@odata.context': context,
      value: page.map((r) => render(table, r, select)),
    };
    if (remaining.length > page.length && top === null)
      body['@odata.nextLink'] = linkFor({
        $skiptoken: encode({ after: String(page[page.length - 1][id]), start: position.start }),
      });
    else if (track)
      body['@odata.deltaLink'] = linkFor({ $deltatoken: `${position.start}!${new Date().toISOString()}` });
    return {
      status: 200,
      headers: track ? { 'preference-applied': `odata.track-changes,odata.maxpagesize=${pageSize}` } : {},
      body,
    };
  }

  function write(table: string, request: FakeRequest, key: string, base: string): FakeResponse {
    const spec = TABLES[table];
    const rows = tables.get(table)!;
    let id: string | undefined;
    let alternate: { column: string; value: string } | undefined;
    const byId = /^([0-9a-f-]{36})$/i.exec(key);
    const byKey = /^([a-z0-9_]+)='((?:[^']|'')*)'$/.exec(key);
    if (byId) id = byId[1].toLowerCase();
    else if (byKey) {
      if (!spec.alternateKeys.includes(byKey[1]))
        return refuse(
          400,
          '0x80060891',
          `The key attribute ${byKey[1]} is not defined as an alternate key for the ${spec.logicalName} table`,
        );
      alternate = { column: byKey[1], value: decodeURIComponent(byKey[2]).replace(/''/g, "'") };
      id = [...rows.values()].find((r) => String(r[byKey[1]] ?? '').toLowerCase() === alternate!.value.toLowerCase())?.[
        spec.id
      ] as string | undefined;
    } else return refuse(400, '0x80060888', `Bad key segment ${key}`);

    if (request.method === 'DELETE') {
      if (!id || !rows.has(id))
        return dvError(404, '0x80040217', `${spec.logicalName} With Id = ${key} Does Not Exist`);
      rows.delete(id);
      deleted.get(table)!.push({ id, version: ++version });
      return { status: 204 };
    }
    if (request.method === 'GET') {
      const row = id ? rows.get(id) : undefined;
      return row
        ? { status: 200, body: render(table, row, request.url.searchParams.get('$select')?.split(',')) }
        : dvError(404, '0x80040217', `${spec.logicalName} With Id = ${key} Does Not Exist`);
    }
    if (request.method !== 'PATCH')
      return refuse(405, '0x80060888', `${request.method} is not supported on ${table}(${key})`);
    let body: Record<string, unknown>;
    try {
      body = jsonBody(request) as Record<string, unknown>;
    } catch {
      return dvError(400, '0x80040333', 'The request body is not valid JSON');
    }
    if (!body || typeof body !== 'object' || Array.isArray(body))
      return dvError(400, '0x80040333', 'The request body must be a JSON object');
    const unknown = Object.keys(body).filter((k) => !spec.writable.includes(k));
    if (unknown.length)
      return refuse(
        400,
        '0x80060888',
        `Invalid property '${unknown[0]}' was found in entity 'Microsoft.Dynamics.CRM.${spec.logicalName}'.`,
      );
    const ifMatch = request.headers['if-match'];
    const exists = Boolean(id && rows.has(id));
    if (ifMatch === '*' && !exists)
      return dvError(404, '0x80040217', `${spec.logicalName} With Id = ${key} Does Not Exist`);
    if (request.headers['if-none-match'] === '*' && exists)
      return dvError(412, '0x80040237', 'A record with matching key values already exists.');
    if (!exists && byId) return dvError(404, '0x80040217', `${spec.logicalName} With Id = ${key} Does Not Exist`);
    const row = save(
      table,
      { ...body, ...(alternate && !exists ? { [alternate.column]: alternate.value } : {}) },
      exists ? id : undefined,
    );
    return { status: 204, headers: { 'odata-entityid': `${base}${DATAVERSE_PATH}/${table}(${row[spec.id]})` } };
  }

  function tokenEndpoint(request: FakeRequest, base: string): FakeResponse {
    const form = new URLSearchParams(request.body.toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials')
      return {
        status: 400,
        body: { error: 'unsupported_grant_type', error_description: 'AADSTS70003: unsupported grant type' },
      };
    if (form.get('scope') !== `${base}/.default`)
      return {
        status: 400,
        body: {
          error: 'invalid_scope',
          error_description: `AADSTS70011: The provided value for scope ${form.get('scope')} is not valid.`,
        },
      };
    if (
      switches.authRevoked ||
      form.get('client_id') !== state.clientId ||
      form.get('client_secret') !== state.clientSecret
    ) {
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.' },
      };
    }
    const token = randomBytes(24).toString('hex');
    tokens.add(token);
    return { status: 200, body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token } };
  }

  function route(request: FakeRequest): FakeResponse {
    const base = `http://${request.headers.host}`;
    if (request.url.pathname === `/${state.tenantId}/oauth2/v2.0/token` && request.method === 'POST')
      return tokenEndpoint(request, base);
    if (!request.url.pathname.startsWith(`${DATAVERSE_PATH}/`))
      return dvError(404, '0x8006088a', `Resource not found for the segment '${request.url.pathname}'.`);
    const bearer = request.headers.authorization?.startsWith('Bearer ')
      ? request.headers.authorization.slice(7)
      : undefined;
    if (switches.authRevoked || !bearer || !tokens.has(bearer))
      return {
        status: 401,
        headers: {
          'www-authenticate': `Bearer authorization_uri=https://login.microsoftonline.com/${state.tenantId}/oauth2/authorize`,
        },
      };
    const rest = decodeURIComponent(request.url.pathname.slice(DATAVERSE_PATH.length + 1));
    if (rest === 'WhoAmI' && request.method === 'GET') {
      return {
        status: 200,
        body: {
          '@odata.context': `${base}${DATAVERSE_PATH}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
          BusinessUnitId: guid(900),
          UserId: guid(901),
          OrganizationId: state.organizationId,
        },
      };
    }
    if (rest === '$batch')
      return request.method === 'POST' ? batch(request, base) : refuse(405, '0x80060888', '$batch takes POST only');
    return resource(request, rest, base);
  }

  /** A table or row request, authenticated already: alone or inside a `$batch`. */
  function resource(request: FakeRequest, rest: string, base: string): FakeResponse {
    const match = /^([a-z]+)(?:\((.*)\))?$/.exec(rest);
    if (!match || !TABLES[match[1]]) return refuse(404, '0x8006088a', `Resource not found for the segment '${rest}'.`);
    if (match[2] === undefined) {
      if (request.method === 'GET') return list(match[1], request, base);
      return refuse(405, '0x80060888', `${request.method} on the collection is not used by the connector`);
    }
    return write(match[1], request, match[2], base);
  }

  /**
   * `$batch` as Dataverse runs it: parts in order, at most 1,000 requests, each change set all or
   * nothing; the first failure ends the batch unless the request prefers `odata.continue-on-error`.
   */
  function batch(request: FakeRequest, base: string): FakeResponse {
    let parts: BatchPart[];
    try {
      parts = parseBatch(String(request.headers['content-type'] ?? ''), request.body.toString('utf8'));
    } catch (error) {
      return refuse(400, '0x80048d19', `Invalid $batch request: ${(error as Error).message}`);
    }
    const count = parts.reduce((n, part) => n + ('changeSet' in part ? part.changeSet.length : 1), 0);
    if (count > 1000) return refuse(400, '0x80048d19', `The batch holds ${count} requests; the limit is 1000`);
    const root = `${base}${DATAVERSE_PATH}/`;
    const run = (inner: InnerRequest): FakeResponse => {
      const url = new URL(inner.target, root);
      if (!`${url.origin}${url.pathname}`.startsWith(root))
        return refuse(400, '0x80048d19', `${inner.target} is not a URL of this environment's Web API`);
      const innerRequest: FakeRequest = {
        method: inner.method,
        url,
        headers: { ...inner.headers, host: request.headers.host },
        body: Buffer.from(inner.body),
      };
      return resource(innerRequest, decodeURIComponent(url.pathname.slice(DATAVERSE_PATH.length + 1)), base);
    };
    const continueOnError = /odata\.continue-on-error/i.test(String(request.headers.prefer ?? ''));
    const answers: (FakeResponse | FakeResponse[])[] = [];
    for (const part of parts) {
      let answer: FakeResponse | FakeResponse[];
      if ('request' in part) answer = run(part.request);
      else {
        const saved = {
          tables: new Map(
            [...tables].map(([name, rows]) => [name, new Map([...rows].map(([k, r]) => [k, structuredClone(r)]))]),
          ),
          deleted: new Map([...deleted].map(([name, list]) => [name, [...list]])),
          version,
        };
        const results: FakeResponse[] = [];
        answer = results;
        for (const inner of part.changeSet) {
          const result = run(inner);
          if (result.status >= 400) {
            for (const [name, rows] of saved.tables) tables.set(name, rows);
            for (const [name, list] of saved.deleted) deleted.set(name, list);
            version = saved.version;
            answer = result;
            break;
          }
          results.push(result);
        }
      }
      answers.push(answer);
      if (!Array.isArray(answer) && answer.status >= 400 && !continueOnError) break;
    }
    return { ...batchAnswer(answers), status: 200 };
  }

  const server = await serveFake(
    (request) => {
      const response = route(request);
      return { ...response, headers: { 'odata-version': '4.0', ...response.headers } };
    },
    {
      port: options.port,
      faults: {
        switches,
        body: (status) =>
          status === 429
            ? {
                error: {
                  code: '0x80072322',
                  message: 'Number of requests exceeded the limit of 6000 over time window of 300 seconds.',
                },
              }
            : { error: { code: '0x80040216', message: 'An unexpected error occurred.' } },
      },
    },
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
    ids: (table) => [...(tables.get(table)?.keys() ?? [])],
    remove: (table, id) => {
      if (!tables.get(table)!.delete(id)) throw new Error(`no ${table} ${id}`);
      deleted.get(table)!.push({ id, version: ++version });
    },
    touch: (table, id) => void state.edit(table, id, {}),
    // Change tracking reports changes by version, whatever their modifiedon: a late-dated change is still a new version.
    touchLate: (table, id, lagMs) => {
      const row = state.edit(table, id, {});
      const newest = Math.max(...[...tables.get(table)!.values()].map((r) => Date.parse(String(r.modifiedon))));
      row.modifiedon = new Date(newest - lagMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
    },
    snapshot: (table) =>
      [...(tables.get(table)?.values() ?? [])]
        .map(({ modifiedon: _m, versionnumber: _v, ...row }) => row)
        .sort((a, b) => String(a[TABLES[table].id]).localeCompare(String(b[TABLES[table].id]))),
  };
}
