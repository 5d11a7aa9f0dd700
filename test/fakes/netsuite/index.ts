/**
 * A local NetSuite SuiteTalk REST service: SuiteQL (`POST /services/rest/query/v1/suiteql`, `Prefer:
 * transient`, `limit`/`offset`, `links`/`hasMore`) over `customer` and `contact`, the record API
 * (`GET /services/rest/record/v1/<type>`, upsert by external id `PUT …/<type>/eid:<id>`, `DELETE
 * …/<type>/<id>`), the OAuth 2.0 client credentials (M2M) token endpoint that verifies the PS256
 * client assertion against the mapped certificate, token-based authentication (OAuth 1.0a
 * HMAC-SHA256 signatures with the account as realm), NetSuite's error bodies (`o:errorDetails`) and
 * its concurrency limit answer. NetSuite publishes no machine-readable API description (the
 * metadata catalog is generated per account), so the fake understands the SuiteQL the connector
 * writes (select list with TO_CHAR, WHERE with AND/OR/comparisons and TO_TIMESTAMP, ORDER BY) and
 * refuses anything else with a 400.
 */
import { createPublicKey, generateKeyPairSync, randomBytes, verify, constants, type KeyObject } from 'crypto';
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
import { oauth1Signature, parseOAuth1Header } from '@data-sync/integrations/http/oauth1';
import { evaluate, parseFilter } from '../sap/odata-filter';

type Row = Record<string, unknown> & { id: number; lastmodifieddate: number; datecreated: number };

/** SuiteQL columns per record type (lower case, as SuiteQL names them) and the REST fields writable on it. */
const TYPES: Record<string, { columns: readonly string[]; writable: readonly string[] }> = {
  customer: {
    columns: [
      'id',
      'entityid',
      'externalid',
      'isperson',
      'firstname',
      'lastname',
      'companyname',
      'email',
      'phone',
      'datecreated',
      'lastmodifieddate',
    ],
    writable: ['firstName', 'lastName', 'companyName', 'email', 'phone', 'isPerson', 'subsidiary', 'entityId'],
  },
  contact: {
    columns: [
      'id',
      'entityid',
      'externalid',
      'firstname',
      'lastname',
      'email',
      'phone',
      'company',
      'datecreated',
      'lastmodifieddate',
    ],
    writable: ['firstName', 'lastName', 'email', 'phone', 'company', 'subsidiary', 'entityId'],
  },
};

export interface FakeNetSuiteOptions extends FakeOptions {
  readonly accountId?: string;
  readonly clientId?: string;
  readonly certificateId?: string;
  readonly port?: number;
}

export interface FakeNetSuiteState {
  readonly accountId: string;
  readonly clientId: string;
  readonly certificateId: string;
  /** The private key of the certificate mapped to the integration (PEM, PKCS#8), for the connector's config. */
  readonly privateKey: string;
  /** The integration record's consumer and the access token of its user, for token-based authentication. */
  readonly tba: { consumerKey: string; consumerSecret: string; tokenId: string; tokenSecret: string };
  readonly records: Map<string, Map<number, Row>>;
  /** Sets fields as a user editing the record in the UI would (a new lastmodifieddate). */
  edit(type: string, id: number, fields: Record<string, unknown>): Row;
}

export interface FakeNetSuite extends Fake {
  readonly state: FakeNetSuiteState;
}

function nsError(status: number, title: string, code: string, detail: string): FakeResponse {
  return {
    status,
    headers: { 'content-type': 'application/vnd.oracle.resource+json; type=error' },
    body: {
      type: `https://www.rfc-editor.org/rfc/rfc9110.html#section-15.${status >= 500 ? 6 : 5}`,
      title,
      status,
      'o:errorDetails': [{ detail, 'o:errorCode': code }],
    },
  };
}

const DATE_COLUMNS = new Set(['datecreated', 'lastmodifieddate']);

/** Top-level comma split (TO_CHAR's arguments stay together). */
function splitList(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && c === ',') {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

const formatStamp = (ms: number) => new Date(ms).toISOString().slice(0, 19);

export async function startFakeNetSuite(options: FakeNetSuiteOptions = {}): Promise<FakeNetSuite> {
  const switches = new FakeSwitches();
  const random = seededRandom(29);
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const certificate: KeyObject = createPublicKey(publicKey.export({ type: 'spki', format: 'pem' }));
  const tokens = new Set<string>();
  /** Timestamp and nonce of every token-based request accepted (NetSuite refuses a repeated nonce). */
  const nonces = new Set<string>();
  const clock = new FakeClock(Math.floor((Date.now() - 86_400_000) / 1000) * 1000);
  let counter = 100;
  const records = new Map<string, Map<number, Row>>(Object.keys(TYPES).map((t) => [t, new Map()]));

  const state: FakeNetSuiteState = {
    accountId: options.accountId ?? 'TSTDRV1234567',
    clientId: options.clientId ?? 'ns-m2m-client-0001',
    certificateId: options.certificateId ?? 'cert-m2m-0001',
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    tba: {
      consumerKey: randomBytes(32).toString('hex'),
      consumerSecret: randomBytes(32).toString('hex'),
      tokenId: randomBytes(32).toString('hex'),
      tokenSecret: randomBytes(32).toString('hex'),
    },
    records,
    edit(type, id, fields) {
      const row = records.get(type)?.get(id);
      if (!row) throw new Error(`no ${type} ${id}`);
      Object.assign(row, fields, { lastmodifieddate: clock.later().getTime() });
      return row;
    },
  };

  function create(type: string, fields: Record<string, unknown>, at: Date): Row {
    const id = ++counter;
    const row: Row = {
      id,
      entityid: `${type === 'customer' ? 'CUST' : 'CONT'}${id}`,
      externalid: null,
      datecreated: at.getTime(),
      lastmodifieddate: at.getTime(),
      ...fields,
    };
    records.get(type)!.set(id, row);
    return row;
  }

  for (const [type, count] of Object.entries(options.seed ?? { customer: 20 })) {
    if (!TYPES[type]) throw new Error(`fake NetSuite has no ${type}`);
    for (let i = 0; i < count; i++) {
      const person = fakePerson(counter + 1, random);
      const company = fakeCompany(random);
      const fields =
        type === 'customer'
          ? {
              isperson: 'T',
              firstname: person.firstName,
              lastname: person.lastName,
              companyname: company,
              email: person.email,
              phone: person.phone,
            }
          : {
              firstname: person.firstName,
              lastname: person.lastName,
              email: person.email,
              phone: person.phone,
              company,
            };
      create(type, fields, clock.next());
    }
  }

  /** Verifies the client assertion: PS256 by the mapped certificate, our client, the token endpoint as audience, at most an hour. */
  function tokenEndpoint(request: FakeRequest, base: string): FakeResponse {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const invalid = (description: string) => ({
      status: 400,
      body: { error: 'invalid_request', error_description: description },
    });
    if (form.get('grant_type') !== 'client_credentials') return invalid('unsupported grant_type');
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      return invalid('client_assertion_type must be jwt-bearer');
    const parts = (form.get('client_assertion') ?? '').split('.');
    if (parts.length !== 3) return invalid('client_assertion is not a JWT');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    } catch {
      return invalid('client_assertion is not a JWT');
    }
    const signed = verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      { key: certificate, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      Buffer.from(parts[2], 'base64url'),
    );
    const now = Math.floor(Date.now() / 1000);
    const scopes = String(claims.scope ?? '').split(',');
    if (
      switches.authRevoked ||
      header.alg !== 'PS256' ||
      header.typ !== 'JWT' ||
      header.kid !== state.certificateId ||
      !signed ||
      claims.iss !== state.clientId ||
      claims.aud !== `${base}/services/rest/auth/oauth2/v1/token` ||
      !scopes.includes('rest_webservices') ||
      typeof claims.exp !== 'number' ||
      typeof claims.iat !== 'number' ||
      claims.exp - claims.iat > 3600 ||
      claims.exp < now
    ) {
      return { status: 400, body: { error: 'invalid_client' } };
    }
    const token = randomBytes(24).toString('hex');
    tokens.add(token);
    return { status: 200, body: { access_token: token, expires_in: '3600', token_type: 'bearer' } };
  }

  /** SuiteQL as the connector writes it; anything else is a 400, as NetSuite refuses what it cannot parse. */
  function suiteql(request: FakeRequest, base: string): FakeResponse {
    if (!/transient/i.test(String(request.headers.prefer ?? '')))
      return nsError(400, 'Bad Request', 'INVALID_PARAMETER', 'SuiteQL requires the header Prefer: transient');
    const limit = Number(request.url.searchParams.get('limit') ?? 1000);
    const offset = Number(request.url.searchParams.get('offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000 || !Number.isInteger(offset) || offset < 0)
      return nsError(400, 'Bad Request', 'INVALID_PARAMETER', 'limit must be 1..1000 and offset >= 0');
    const q = String((jsonBody(request) as { q?: unknown } | undefined)?.q ?? '');
    const match = /^SELECT\s+(.+?)\s+FROM\s+(\w+)(?:\s+WHERE\s+(.+?))?\s+ORDER\s+BY\s+(.+)$/is.exec(q.trim());
    const bad = (detail: string) =>
      nsError(
        400,
        'Bad Request',
        'INVALID_PARAMETER',
        `Invalid search query. Detailed unprocessed description follows. ${detail}`,
      );
    if (!match || !TYPES[match[2].toLowerCase()])
      return bad(`Search error occurred: Record '${match?.[2] ?? '?'}' was not found.`);
    const type = match[2].toLowerCase();
    const known = TYPES[type].columns;
    const select = splitList(match[1]).map((item) => {
      const toChar = /^TO_CHAR\((\w+),\s*'YYYY-MM-DD"T"HH24:MI:SS'\)\s+AS\s+(\w+)$/i.exec(item);
      return toChar
        ? { column: toChar[1].toLowerCase(), alias: toChar[2].toLowerCase(), iso: true }
        : { column: item.toLowerCase(), alias: item.toLowerCase(), iso: false };
    });
    const unknown = select.find((s) => !known.includes(s.column));
    if (unknown) return bad(`Search error occurred: Field '${unknown.column}' for record '${type}' was not found.`);
    let rows = [...records.get(type)!.values()];
    if (match[3]) {
      // SQL comparisons rewritten into the OData grammar the shared evaluator reads.
      const translated = match[3]
        .replace(
          /TO_TIMESTAMP\('([^']+)',\s*'YYYY-MM-DD HH24:MI:SS'\)/gi,
          (_m, at: string) => `datetime'${at.replace(' ', 'T')}'`,
        )
        .replace(/\s*>=\s*/g, ' ge ')
        .replace(/\s*<=\s*/g, ' le ')
        .replace(/\s*<>\s*/g, ' ne ')
        .replace(/\s*>\s*/g, ' gt ')
        .replace(/\s*<\s*/g, ' lt ')
        .replace(/\s*=\s*/g, ' eq ')
        .replace(/\bAND\b/gi, 'and')
        .replace(/\bOR\b/gi, 'or');
      let expr;
      try {
        expr = parseFilter(translated);
        rows = rows.filter((row) =>
          evaluate(
            expr!,
            (name) => {
              if (!known.includes(name.toLowerCase()))
                throw new Error(`Field '${name}' for record '${type}' was not found.`);
              return row[name.toLowerCase()] ?? null;
            },
            true,
          ),
        );
      } catch (error) {
        return bad((error as Error).message);
      }
    }
    const order = splitList(match[4]).map((o) => o.toLowerCase());
    if (order.some((o) => !known.includes(o))) return bad(`Search error occurred: invalid ORDER BY ${match[4]}`);
    rows.sort((a, b) => {
      for (const column of order)
        if (a[column] !== b[column]) return (a[column] as number) < (b[column] as number) ? -1 : 1;
      return 0;
    });
    const page = rows.slice(offset, offset + limit);
    const hasMore = offset + page.length < rows.length;
    const self = `${base}/services/rest/query/v1/suiteql?limit=${limit}&offset=${offset}`;
    const links = [
      { rel: 'self', href: self },
      ...(hasMore
        ? [{ rel: 'next', href: `${base}/services/rest/query/v1/suiteql?limit=${limit}&offset=${offset + limit}` }]
        : []),
    ];
    const items = page.map((row) => {
      const out: Record<string, unknown> = { links: [] };
      for (const { column, alias, iso } of select) {
        const value = row[column];
        // SuiteQL answers every value as a string and leaves empty ones out.
        if (value === null || value === undefined) continue;
        out[alias] = DATE_COLUMNS.has(column)
          ? iso
            ? formatStamp(value as number)
            : new Date(value as number).toLocaleDateString('en-US')
          : String(value);
      }
      return out;
    });
    return { status: 200, body: { links, count: page.length, hasMore, items, offset, totalResults: rows.length } };
  }

  function record(request: FakeRequest, type: string, key: string | undefined, base: string): FakeResponse {
    const table = records.get(type)!;
    if (!key && request.method === 'GET') {
      const limit = Number(request.url.searchParams.get('limit') ?? 1000);
      const items = [...table.values()].slice(0, limit).map((r) => ({
        links: [{ rel: 'self', href: `${base}/services/rest/record/v1/${type}/${r.id}` }],
        id: String(r.id),
      }));
      return {
        status: 200,
        body: {
          links: [],
          count: items.length,
          hasMore: table.size > items.length,
          items,
          offset: 0,
          totalResults: table.size,
        },
      };
    }
    if (!key)
      return nsError(
        405,
        'Method Not Allowed',
        'METHOD_NOT_ALLOWED',
        `${request.method} is not used on the collection`,
      );
    const external = /^eid:(.+)$/.exec(key);
    const id = external
      ? [...table.values()].find((r) => r.externalid === decodeURIComponent(external[1]))?.id
      : Number(key);
    if (request.method === 'DELETE') {
      if (id === undefined || !table.delete(id))
        return nsError(
          404,
          'Not Found',
          'NONEXISTENT_ID',
          `The record instance does not exist. Provide a valid record instance ID.`,
        );
      return { status: 204 };
    }
    if (request.method === 'PUT' && external) {
      let body: Record<string, unknown>;
      try {
        body = jsonBody(request) as Record<string, unknown>;
      } catch {
        return nsError(400, 'Bad Request', 'INVALID_CONTENT', 'The request body is not valid JSON.');
      }
      const unknown = Object.keys(body ?? {}).filter((k) => !TYPES[type].writable.includes(k));
      if (unknown.length)
        return nsError(
          400,
          'Bad Request',
          'INVALID_CONTENT',
          `Invalid field name '${unknown[0]}' for record type ${type}.`,
        );
      if (type === 'customer' && body.isPerson !== true && !body.companyName)
        return nsError(400, 'Bad Request', 'USER_ERROR', 'Please enter value(s) for: Company Name');
      if (!body.subsidiary)
        return nsError(400, 'Bad Request', 'USER_ERROR', 'Please enter value(s) for: Primary Subsidiary');
      const fields = Object.fromEntries(
        Object.entries(body)
          .filter(([k]) => k !== 'subsidiary')
          .map(([k, v]) => [k.toLowerCase(), k === 'isPerson' ? (v ? 'T' : 'F') : v]),
      );
      const row =
        id === undefined
          ? create(type, { ...fields, externalid: decodeURIComponent(external[1]) }, clock.later())
          : state.edit(type, id, fields);
      return { status: 204, headers: { location: `${base}/services/rest/record/v1/${type}/${row.id}` } };
    }
    return nsError(
      405,
      'Method Not Allowed',
      'METHOD_NOT_ALLOWED',
      `${request.method} ${type}/${key} is not used by the connector`,
    );
  }

  /**
   * Token-based authentication: an OAuth 1.0a HMAC-SHA256 signature by the integration record's
   * consumer and the user's token, realm the account id, a timestamp within five minutes and a nonce
   * not seen before.
   */
  function tokenBased(request: FakeRequest, base: string): boolean {
    const oauth = parseOAuth1Header(request.headers.authorization);
    const tba = state.tba;
    if (!oauth) return false;
    const url = new URL(`${base}${request.url.pathname}${request.url.search}`);
    const expected = oauth1Signature(request.method, url, oauth, tba.consumerSecret, tba.tokenSecret, 'HMAC-SHA256');
    const age = Math.abs(Date.now() / 1000 - Number(oauth.oauth_timestamp));
    const fresh = Boolean(oauth.oauth_nonce) && !nonces.has(`${oauth.oauth_timestamp}:${oauth.oauth_nonce}`);
    if (
      oauth.realm !== state.accountId.toUpperCase() ||
      oauth.oauth_signature_method !== 'HMAC-SHA256' ||
      oauth.oauth_version !== '1.0' ||
      oauth.oauth_consumer_key !== tba.consumerKey ||
      oauth.oauth_token !== tba.tokenId ||
      !(age <= 300) ||
      !fresh ||
      oauth.oauth_signature !== expected
    )
      return false;
    nonces.add(`${oauth.oauth_timestamp}:${oauth.oauth_nonce}`);
    return true;
  }

  function route(request: FakeRequest): FakeResponse {
    const base = `http://${request.headers.host}`;
    const path = request.url.pathname;
    if (path === '/services/rest/auth/oauth2/v1/token' && request.method === 'POST')
      return tokenEndpoint(request, base);
    const bearer = request.headers.authorization?.startsWith('Bearer ')
      ? request.headers.authorization.slice(7)
      : undefined;
    const signed = request.headers.authorization?.startsWith('OAuth ') ? tokenBased(request, base) : false;
    if (switches.authRevoked || (!signed && (!bearer || !tokens.has(bearer))))
      return nsError(
        401,
        'Unauthorized',
        'INVALID_LOGIN',
        'Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.',
      );
    if (path === '/services/rest/query/v1/suiteql' && request.method === 'POST') return suiteql(request, base);
    const match = /^\/services\/rest\/record\/v1\/(\w+)(?:\/([^/]+))?$/.exec(path);
    if (match && TYPES[match[1]]) return record(request, match[1], match[2], base);
    return nsError(404, 'Not Found', 'INVALID_URL', `The requested URL ${path} was not found on this server.`);
  }

  const server = await serveFake(route, {
    port: options.port,
    faults: {
      switches,
      body: (status) =>
        status === 429
          ? nsError(
              429,
              'Too Many Requests',
              'CONCURRENCY_LIMIT_EXCEEDED',
              'The request could not be processed because the concurrency limit for your account was exceeded.',
            ).body
          : nsError(status, 'Internal Server Error', 'UNEXPECTED_ERROR', 'An unexpected error occurred.').body,
    },
  });

  return {
    url: server.url,
    state,
    close: server.close,
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: () => switches.revokeAuth(),
    restoreAuth: () => switches.restoreAuth(),
    requestCount: () => switches.requestCount(),
    ids: (type) => [...(records.get(type)?.keys() ?? [])].map(String),
    remove: (type, id) => {
      if (!records.get(type)?.delete(Number(id))) throw new Error(`no ${type} ${id}`);
    },
    touch: (type, id) => void state.edit(type, Number(id), {}),
    touchLate: (type, id, lagMs) => {
      const table = records.get(type)!;
      const row = table.get(Number(id));
      if (!row) throw new Error(`no ${type} ${id}`);
      const newest = Math.max(...[...table.values()].map((r) => r.lastmodifieddate));
      // Whole seconds, as NetSuite keeps lastmodifieddate.
      row.lastmodifieddate = Math.floor((newest - lagMs) / 1000) * 1000;
    },
    snapshot: (type) =>
      [...(records.get(type)?.values() ?? [])]
        .map(({ lastmodifieddate: _m, ...row }) => row)
        .sort((a, b) => a.id - b.id),
  };
}
