/**
 * A local Salesforce: OAuth2 token endpoint (client credentials and JWT bearer), REST query and
 * queryAll with query locators (`done` / `nextRecordsUrl`), sObject rows, composite sObjects upsert
 * and delete, Bulk API 2.0 ingest jobs, `/limits`, the `Sforce-Limit-Info` header and Salesforce's
 * error bodies. It can also deliver outbound messages (SOAP) to a receiver. Queries and upserts may name
 * the standard fields of the object's describe (standard-fields.json, derived from jsforce's typings by
 * extract-fields.py) and External_Id__c; any other is refused and listed by violations().
 */
import { createPublicKey, createVerify, randomBytes } from 'crypto';
import { parseCsv } from '@data-sync/integrations/crm/salesforce/client';
import {
  FakeClock,
  FakeSwitches,
  fakeCompany,
  fakePerson,
  seededRandom,
  serveFake,
  type FakeRequest,
  type FakeResponse,
} from '@data-sync/integrations/contract/fake-kit';
import type { Fake, FakeOptions } from '@data-sync/integrations/contract/connector-contract';
import { SoqlError, compareBy, matches, parseSoql, type SoqlQuery } from './soql';
import standardFields from './standard-fields.json';

export type SfRecord = Record<string, unknown> & { Id: string; SystemModstamp: string; IsDeleted: boolean };

export interface FakeSalesforceOptions extends FakeOptions {
  readonly organizationId?: string;
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** PEM public key of the connected app's certificate, for the JWT bearer flow. */
  readonly jwtPublicKey?: string;
  /** Username the JWT bearer flow may impersonate. */
  readonly username?: string;
  /**
   * The `aud` the JWT bearer flow accepts: Salesforce wants https://login.salesforce.com,
   * https://test.salesforce.com (sandboxes) or an Experience Cloud site URL, never the My Domain URL.
   */
  readonly jwtAudience?: string;
  /**
   * Also accept the org's My Domain URL (this fake's base URL) as `aud`: n8n's Salesforce JWT credential
   * (2.41.1) sends it, saying orgs from Spring '26 on require it. @default false
   */
  readonly acceptMyDomainAudience?: boolean;
  /** Daily API request allowance reported in Sforce-Limit-Info and /limits. */
  readonly dailyLimit?: number;
  readonly port?: number;
}

export interface BulkJob {
  id: string;
  object: string;
  operation: 'insert' | 'upsert' | 'update' | 'delete' | 'hardDelete';
  externalIdFieldName?: string;
  state: 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  csv: string;
  processed: number;
  failed: { row: Record<string, string>; error: string }[];
  successful: { id: string; created: boolean; row: Record<string, string> }[];
}

export interface FakeSalesforceState {
  readonly organizationId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly objects: Map<string, Map<string, SfRecord>>;
  readonly recycleBin: Map<string, Map<string, SfRecord>>;
  readonly bulkJobs: Map<string, BulkJob>;
  /** Records hard-deleted (Bulk API hardDelete, SOAP emptyRecycleBin): gone from the recycle bin too. */
  readonly hardDeleted: Set<string>;
  /** batchSize values of Sforce-Query-Options received. */
  readonly batchSizes: number[];
  apiUsage: number;
  /** Create or change a record as a Salesforce user would. */
  upsertRecord(object: string, fields: Record<string, unknown>): SfRecord;
  deleteRecord(object: string, id: string): void;
}

export interface FakeSalesforce extends Fake {
  readonly state: FakeSalesforceState;
}

const API = '/services/data/v60.0';
const PREFIX: Record<string, string> = { Account: '001', Contact: '003', Opportunity: '006', Lead: '00Q' };
const FIELDS: Record<string, readonly string[]> = {
  Account: ['Name', 'Industry', 'Phone', 'External_Id__c'],
  Contact: ['FirstName', 'LastName', 'Email', 'Phone', 'AccountId', 'External_Id__c'],
  Lead: ['FirstName', 'LastName', 'Email', 'Company', 'Status', 'External_Id__c'],
  Opportunity: ['Name', 'StageName', 'CloseDate', 'Amount', 'AccountId', 'External_Id__c'],
};
const SYSTEM_FIELDS = ['Id', 'IsDeleted', 'CreatedDate', 'LastModifiedDate', 'SystemModstamp'];
/**
 * The fields an org has per object: the standard ones of Salesforce's describe metadata (as jsforce's
 * typings carry them, standard-fields.json) and the custom external id field the setup creates.
 */
const DESCRIBED: Record<string, ReadonlySet<string>> = Object.fromEntries(
  Object.entries(standardFields.objects as Record<string, string[]>).map(([object, fields]) => [
    object,
    new Set([...fields, 'External_Id__c']),
  ]),
);

/** Salesforce's datetime format: 2026-01-05T08:00:00.000+0000. */
export function sfDate(date: Date): string {
  return date.toISOString().replace('Z', '+0000');
}

function errorBody(errorCode: string, message: string, fields: string[] = []) {
  return [{ message, errorCode, fields }];
}

export async function startFakeSalesforce(options: FakeSalesforceOptions = {}): Promise<FakeSalesforce> {
  const switches = new FakeSwitches();
  /** Requests naming a field the object's describe does not have, as `what: field`. */
  const violations: string[] = [];
  const clock = new FakeClock();
  const random = seededRandom(42);
  const pageSize = options.pageSize ?? 2000;
  const dailyLimit = options.dailyLimit ?? 15000;
  const tokens = new Set<string>();
  const locators = new Map<string, { rows: Record<string, unknown>[]; offset: number; size: number; all: boolean }>();
  let idCounter = 0;
  let jobCounter = 0;
  let baseUrl = '';

  const state: FakeSalesforceState = {
    organizationId: options.organizationId ?? '00D5e000000KQ2eEAG',
    clientId: options.clientId ?? 'fake-client-id',
    clientSecret: options.clientSecret ?? 'fake-client-secret',
    objects: new Map(Object.keys(FIELDS).map((name) => [name, new Map()])),
    recycleBin: new Map(Object.keys(FIELDS).map((name) => [name, new Map()])),
    bulkJobs: new Map(),
    hardDeleted: new Set(),
    batchSizes: [],
    apiUsage: 0,
    upsertRecord(object, fields) {
      const table = state.objects.get(object);
      if (!table) throw new Error(`no object ${object}`);
      const now = sfDate(clock.next());
      const existing = typeof fields.Id === 'string' ? table.get(fields.Id) : undefined;
      if (existing) {
        Object.assign(existing, fields, { LastModifiedDate: now, SystemModstamp: now });
        return existing;
      }
      const id = newId(object);
      const record: SfRecord = {
        Id: id,
        IsDeleted: false,
        CreatedDate: now,
        LastModifiedDate: now,
        SystemModstamp: now,
      };
      for (const field of FIELDS[object]) record[field] = null;
      Object.assign(record, fields, { Id: id });
      table.set(id, record);
      return record;
    },
    deleteRecord(object, id) {
      const record = state.objects.get(object)?.get(id);
      if (!record) return;
      state.objects.get(object)!.delete(id);
      const now = sfDate(clock.next());
      Object.assign(record, { IsDeleted: true, SystemModstamp: now, LastModifiedDate: now });
      state.recycleBin.get(object)!.set(id, record);
    },
  };

  function newId(object: string): string {
    idCounter++;
    return `${PREFIX[object]}5E${String(idCounter).padStart(10, '0')}AAA`;
  }

  function seed(object: string, count: number): void {
    if (object === 'Contact' || object === 'Opportunity') {
      if (state.objects.get('Account')!.size === 0) seed('Account', 3);
    }
    const accounts = [...state.objects.get('Account')!.keys()];
    for (let i = 0; i < count; i++) {
      const person = fakePerson(idCounter + 1, random);
      const company = fakeCompany(random);
      const account = accounts[i % Math.max(1, accounts.length)];
      const fields: Record<string, Record<string, unknown>> = {
        Account: { Name: `${company} ${idCounter + 1}`, Industry: 'Technology', Phone: person.phone },
        Contact: {
          FirstName: person.firstName,
          LastName: person.lastName,
          Email: person.email,
          Phone: person.phone,
          AccountId: account,
        },
        Lead: {
          FirstName: person.firstName,
          LastName: person.lastName,
          Email: person.email,
          Company: company,
          Status: 'Open - Not Contacted',
        },
        Opportunity: {
          Name: `${company} deal`,
          StageName: 'Prospecting',
          CloseDate: '2026-06-30',
          Amount: Math.round(random() * 100000),
          AccountId: account,
        },
      };
      state.upsertRecord(object, fields[object]);
    }
  }
  for (const [object, count] of Object.entries(options.seed ?? { Contact: 50 })) {
    if (!FIELDS[object]) throw new Error(`fake Salesforce has no object ${object}`);
    seed(object, count);
  }

  /** Reads `Account.Name` style paths through lookups. */
  function fieldOf(object: string, row: Record<string, unknown>, path: string): unknown {
    const [head, ...rest] = path.split('.');
    if (rest.length === 0) return row[head];
    const lookupId = row[`${head}Id`];
    const parent = typeof lookupId === 'string' ? state.objects.get(head)?.get(lookupId) : undefined;
    return parent ? fieldOf(head, parent, rest.join('.')) : null;
  }

  function shape(object: string, row: SfRecord, fields: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = { attributes: { type: object, url: `${API}/sobjects/${object}/${row.Id}` } };
    for (const field of fields) {
      const [head, ...rest] = field.split('.');
      if (rest.length === 0) {
        out[head] = row[head] ?? null;
        continue;
      }
      const lookupId = row[`${head}Id`];
      const parent = typeof lookupId === 'string' ? state.objects.get(head)?.get(lookupId) : undefined;
      if (!parent) {
        out[head] = null;
        continue;
      }
      const nested = (out[head] as Record<string, unknown>) ?? {
        attributes: { type: head, url: `${API}/sobjects/${head}/${parent.Id}` },
      };
      nested[rest.join('.')] = fieldOf(head, parent, rest.join('.'));
      out[head] = nested;
    }
    return out;
  }

  function runQuery(soql: string, all: boolean, size: number): FakeResponse {
    let query: SoqlQuery;
    try {
      query = parseSoql(soql);
    } catch (error) {
      return { status: 400, body: errorBody('MALFORMED_QUERY', (error as SoqlError).message) };
    }
    const table = state.objects.get(query.object);
    if (!table)
      return { status: 400, body: errorBody('INVALID_TYPE', `sObject type '${query.object}' is not supported.`) };
    const known = DESCRIBED[query.object];
    const fieldNames = [...query.fields, ...collectFields(query.where), ...query.orderBy.map((o) => o.field)];
    for (const field of fieldNames) {
      const head = field.split('.')[0];
      if (!known.has(field) && !(field.includes('.') && known.has(`${head}Id`))) {
        violations.push(`SOQL on ${query.object}: no field ${field} in the standard object's describe`);
        return {
          status: 400,
          body: errorBody('INVALID_FIELD', `No such column '${field}' on entity '${query.object}'.`),
        };
      }
    }
    const source = all
      ? [...table.values(), ...state.recycleBin.get(query.object)!.values()].filter((r) => !state.hardDeleted.has(r.Id))
      : [...table.values()];
    let rows = source.filter((row) => matches(query.where, (field) => fieldOf(query.object, row, field)));
    rows.sort(compareBy(query.orderBy, (row, field) => fieldOf(query.object, row, field)));
    if (query.limit !== undefined) rows = rows.slice(0, query.limit);
    const shaped = rows.map((row) => shape(query.object, row as SfRecord, query.fields));
    return page(shaped, 0, size, all);
  }

  function page(rows: Record<string, unknown>[], offset: number, size: number, all: boolean): FakeResponse {
    const slice = rows.slice(offset, offset + size);
    const done = offset + size >= rows.length;
    const body: Record<string, unknown> = { totalSize: rows.length, done, records: slice };
    if (!done) {
      const locator = `01g5e${randomBytes(6).toString('hex').toUpperCase()}`;
      locators.set(locator, { rows, offset: offset + size, size, all });
      body.nextRecordsUrl = `${API}/${all ? 'queryAll' : 'query'}/${locator}-${offset + size}`;
    }
    return { status: 200, body };
  }

  function authorized(request: FakeRequest): boolean {
    const header = request.headers.authorization ?? '';
    return !switches.authRevoked && header.startsWith('Bearer ') && tokens.has(header.slice(7));
  }

  function issueToken(): FakeResponse {
    const token = `00D5e!${randomBytes(24).toString('base64url')}`;
    tokens.add(token);
    return {
      status: 200,
      body: {
        access_token: token,
        instance_url: baseUrl,
        id: `${baseUrl}/id/${state.organizationId}/0055e000001AbCdAAK`,
        token_type: 'Bearer',
        issued_at: String(Date.now()),
        signature: randomBytes(32).toString('base64'),
        scope: 'api',
      },
    };
  }

  function tokenEndpoint(request: FakeRequest): FakeResponse {
    const form = new URLSearchParams(request.body.toString('utf8'));
    const grant = form.get('grant_type');
    if (grant === 'client_credentials') {
      if (
        switches.authRevoked ||
        form.get('client_id') !== state.clientId ||
        form.get('client_secret') !== state.clientSecret
      ) {
        return { status: 400, body: { error: 'invalid_client', error_description: 'invalid client credentials' } };
      }
      return issueToken();
    }
    if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      const assertion = form.get('assertion') ?? '';
      const [header, payload, signature] = assertion.split('.');
      if (!options.jwtPublicKey || !header || !payload || !signature)
        return { status: 400, body: { error: 'invalid_grant', error_description: 'invalid assertion' } };
      const verifier = createVerify('RSA-SHA256');
      verifier.update(`${header}.${payload}`);
      const valid = verifier.verify(createPublicKey(options.jwtPublicKey), Buffer.from(signature, 'base64url'));
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
        iss?: string;
        sub?: string;
        aud?: string;
        exp?: number;
      };
      if (
        switches.authRevoked ||
        !valid ||
        claims.iss !== state.clientId ||
        (options.username && claims.sub !== options.username)
      ) {
        return { status: 400, body: { error: 'invalid_grant', error_description: 'invalid assertion' } };
      }
      const audienceOk =
        claims.aud === (options.jwtAudience ?? 'https://login.salesforce.com') ||
        (options.acceptMyDomainAudience === true && claims.aud === baseUrl);
      if (!audienceOk)
        return { status: 400, body: { error: 'invalid_grant', error_description: 'audience is invalid' } };
      if (!claims.exp || claims.exp * 1000 < Date.now())
        return { status: 400, body: { error: 'invalid_grant', error_description: 'expired authorization code' } };
      return issueToken();
    }
    return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'grant type not supported' } };
  }

  /** The Partner SOAP API, of which the fake knows emptyRecycleBin (partner.wsdl: up to 200 ids, one result per id). */
  function soap(request: FakeRequest): FakeResponse {
    const xml = request.body.toString('utf8');
    const fault = (code: string, message: string, status = 500): FakeResponse => ({
      status,
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>sf:${code}</faultcode><faultstring>${code}: ${message}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
    });
    const session = /<(?:\w+:)?sessionId>([^<]+)<\/(?:\w+:)?sessionId>/.exec(xml)?.[1];
    if (switches.authRevoked || !session || !tokens.has(session))
      return fault('INVALID_SESSION_ID', 'Invalid Session ID found in SessionHeader: Illegal Session');
    if (!/<(?:\w+:)?emptyRecycleBin>/.test(xml))
      return fault('UNKNOWN_EXCEPTION', 'the fake knows only emptyRecycleBin');
    const ids = [...xml.matchAll(/<(?:\w+:)?ids>([^<]+)<\/(?:\w+:)?ids>/g)].map((m) => m[1]);
    if (ids.length === 0) return fault('INVALID_QUERY_FILTER_OPERATOR', 'ids is required');
    if (ids.length > 200)
      return fault('EXCEEDED_ID_LIMIT', 'record limit reached. cannot submit more than 200 records into this call');
    const results = ids.map((id) => {
      const bin = [...state.recycleBin.values()].find((table) => table.has(id));
      if (!bin)
        return `<result><errors><message>entity is not in the recycle bin</message><statusCode>INVALID_ID_FIELD</statusCode></errors><id>${id}</id><success>false</success></result>`;
      bin.delete(id);
      state.hardDeleted.add(id);
      return `<result><id>${id}</id><success>true</success></result>`;
    });
    return {
      status: 200,
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><emptyRecycleBinResponse>${results.join('')}</emptyRecycleBinResponse></soapenv:Body></soapenv:Envelope>`,
    };
  }

  function compositeUpsert(object: string, externalField: string, body: unknown): FakeResponse {
    const payload = body as { allOrNone?: boolean; records?: Record<string, unknown>[] };
    if (!Array.isArray(payload?.records))
      return { status: 400, body: errorBody('JSON_PARSER_ERROR', 'records is required') };
    if (payload.records.length > 200)
      return {
        status: 400,
        body: errorBody(
          'EXCEEDED_ID_LIMIT',
          'record limit reached. cannot submit more than 200 records into this call',
        ),
      };
    const table = state.objects.get(object)!;
    return {
      status: 200,
      body: payload.records.map((input) => {
        const { attributes, ...fields } = input as { attributes?: { type?: string } } & Record<string, unknown>;
        if (attributes?.type !== object)
          return {
            success: false,
            errors: [{ statusCode: 'INVALID_TYPE', message: `attributes.type must be ${object}`, fields: [] }],
          };
        const result = upsertByExternalId(object, externalField, fields, table);
        return 'error' in result
          ? { success: false, errors: [result.error] }
          : { id: result.id, success: true, errors: [], created: result.created };
      }),
    };
  }

  function upsertByExternalId(
    object: string,
    externalField: string,
    fields: Record<string, unknown>,
    table: Map<string, SfRecord>,
  ): { id: string; created: boolean } | { error: { statusCode: string; message: string; fields: string[] } } {
    const key = fields[externalField];
    if (key === undefined || key === null || key === '')
      return {
        error: { statusCode: 'MISSING_ARGUMENT', message: `${externalField} not specified`, fields: [externalField] },
      };
    for (const field of Object.keys(fields)) {
      if (!DESCRIBED[object].has(field)) {
        violations.push(`upsert of ${object}: no field ${field} in its describe`);
        return {
          error: {
            statusCode: 'INVALID_FIELD',
            message: `No such column '${field}' on sobject of type ${object}`,
            fields: [field],
          },
        };
      }
    }
    if (object === 'Contact' && !fields.LastName && ![...table.values()].some((r) => r[externalField] === key)) {
      return {
        error: {
          statusCode: 'REQUIRED_FIELD_MISSING',
          message: 'Required fields are missing: [LastName]',
          fields: ['LastName'],
        },
      };
    }
    const existing = [...table.values()].find((r) => r[externalField] === key);
    if (existing) {
      // Salesforce saves (and bumps SystemModstamp) even when no value changed.
      state.upsertRecord(object, { ...fields, Id: existing.Id });
      return { id: existing.Id, created: false };
    }
    return { id: state.upsertRecord(object, fields).Id, created: true };
  }

  function csvLine(values: string[]): string {
    return values.map((v) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v)).join(',');
  }

  function runJob(job: BulkJob): void {
    const table = state.objects.get(job.object)!;
    for (const row of parseCsv(job.csv)) {
      job.processed++;
      if (job.operation === 'delete' || job.operation === 'hardDelete') {
        const id = row.Id;
        if (!table.has(id) && !state.recycleBin.get(job.object)!.has(id)) {
          job.failed.push({ row, error: 'ENTITY_IS_DELETED:entity is deleted:--' });
          continue;
        }
        state.deleteRecord(job.object, id);
        if (job.operation === 'hardDelete') {
          state.recycleBin.get(job.object)!.delete(id);
          state.hardDeleted.add(id);
        }
        job.successful.push({ id, created: false, row });
        continue;
      }
      const fields = Object.fromEntries(
        Object.entries(row).map(([k, v]) => [k, v === '' ? null : v === '#N/A' ? null : v]),
      );
      const result = upsertByExternalId(job.object, job.externalIdFieldName ?? 'Id', fields, table);
      if ('error' in result)
        job.failed.push({
          row,
          error: `${result.error.statusCode}:${result.error.message}:${result.error.fields.join(';')}`,
        });
      else job.successful.push({ id: result.id, created: result.created, row });
    }
    job.state = 'JobComplete';
  }

  function jobInfo(job: BulkJob) {
    return {
      id: job.id,
      operation: job.operation,
      object: job.object,
      state: job.state,
      externalIdFieldName: job.externalIdFieldName,
      contentType: 'CSV',
      apiVersion: 60.0,
      lineEnding: 'LF',
      columnDelimiter: 'COMMA',
      contentUrl: `services/data/v60.0/jobs/ingest/${job.id}/batches`,
      numberRecordsProcessed: job.state === 'JobComplete' ? job.processed : 0,
      numberRecordsFailed: job.state === 'JobComplete' ? job.failed.length : 0,
    };
  }

  function bulk(request: FakeRequest, rest: string[]): FakeResponse {
    if (rest.length === 0 && request.method === 'POST') {
      const body = JSON.parse(request.body.toString('utf8')) as Partial<BulkJob> & { contentType?: string };
      if (!body.object || !state.objects.has(body.object))
        return { status: 400, body: errorBody('INVALIDJOB', `InvalidJob : Unable to find object: ${body.object}`) };
      if (!['insert', 'upsert', 'update', 'delete', 'hardDelete'].includes(String(body.operation)))
        return { status: 400, body: errorBody('INVALIDJOB', `InvalidJob : Invalid operation: ${body.operation}`) };
      if (body.operation === 'upsert' && !body.externalIdFieldName)
        return { status: 400, body: errorBody('INVALIDJOB', 'InvalidJob : External ID was blank for ' + body.object) };
      const job: BulkJob = {
        id: `7505e${String(++jobCounter).padStart(10, '0')}AAA`,
        object: body.object,
        operation: body.operation!,
        externalIdFieldName: body.externalIdFieldName,
        state: 'Open',
        csv: '',
        processed: 0,
        failed: [],
        successful: [],
      };
      state.bulkJobs.set(job.id, job);
      return { status: 200, body: jobInfo(job) };
    }
    const job = state.bulkJobs.get(rest[0]);
    if (!job) return { status: 404, body: errorBody('NOT_FOUND', 'The requested resource does not exist') };
    if (rest[1] === 'batches' && request.method === 'PUT') {
      if (job.state !== 'Open')
        return { status: 409, body: errorBody('INVALIDJOBSTATE', `Job is in state ${job.state}`) };
      const text = request.body.toString('utf8');
      job.csv = job.csv ? job.csv + text.slice(text.indexOf('\n') + 1) : text;
      return { status: 201 };
    }
    if (rest.length === 1 && request.method === 'PATCH') {
      const body = JSON.parse(request.body.toString('utf8')) as { state?: string };
      if (body.state === 'UploadComplete' && job.state === 'Open') {
        job.state = 'InProgress';
        // Processing happens between polls, as at Salesforce; one poll sees InProgress first.
        setImmediate(() => runJob(job));
        return { status: 200, body: { ...jobInfo(job), state: 'UploadComplete' } };
      }
      if (body.state === 'Aborted') {
        job.state = 'Aborted';
        return { status: 200, body: jobInfo(job) };
      }
      return {
        status: 400,
        body: errorBody('INVALIDJOBSTATE', `Cannot change state from ${job.state} to ${body.state}`),
      };
    }
    if (rest.length === 1 && request.method === 'GET') return { status: 200, body: jobInfo(job) };
    if (rest[1] === 'failedResults' && request.method === 'GET') {
      const header = Object.keys(job.failed[0]?.row ?? {});
      const lines = [
        csvLine(['sf__Id', 'sf__Error', ...header]),
        ...job.failed.map((f) => csvLine(['', f.error, ...header.map((h) => f.row[h])])),
      ];
      return { status: 200, headers: { 'content-type': 'text/csv' }, body: lines.join('\n') + '\n' };
    }
    if (rest[1] === 'successfulResults' && request.method === 'GET') {
      const header = Object.keys(job.successful[0]?.row ?? {});
      const lines = [
        csvLine(['sf__Id', 'sf__Created', ...header]),
        ...job.successful.map((s) => csvLine([s.id, String(s.created), ...header.map((h) => s.row[h])])),
      ];
      return { status: 200, headers: { 'content-type': 'text/csv' }, body: lines.join('\n') + '\n' };
    }
    return { status: 404, body: errorBody('NOT_FOUND', 'The requested resource does not exist') };
  }

  function api(request: FakeRequest, path: string): FakeResponse {
    const parts = path.split('/').filter(Boolean);
    const [head, ...rest] = parts;
    const json = () => JSON.parse(request.body.toString('utf8') || 'null') as unknown;
    if (head === 'limits' && request.method === 'GET') {
      return {
        status: 200,
        body: {
          DailyApiRequests: { Max: dailyLimit, Remaining: dailyLimit - state.apiUsage },
          DailyBulkV2QueryJobs: { Max: 10000, Remaining: 10000 },
        },
      };
    }
    if ((head === 'query' || head === 'queryAll') && request.method === 'GET') {
      const all = head === 'queryAll';
      if (rest.length === 1) {
        const [locatorId] = rest[0].split('-');
        const locator = locators.get(locatorId);
        if (!locator) return { status: 400, body: errorBody('INVALID_QUERY_LOCATOR', 'invalid query locator') };
        return page(locator.rows, locator.offset, locator.size, locator.all);
      }
      const q = request.url.searchParams.get('q');
      if (!q) return { status: 400, body: errorBody('MALFORMED_QUERY', 'q is required') };
      const batch = /batchSize=(\d+)/.exec(String(request.headers['sforce-query-options'] ?? ''));
      if (batch) state.batchSizes.push(Number(batch[1]));
      // 200..2000 is what Salesforce honours; the batch it picks may be smaller still (`pageSize`).
      return runQuery(q, all, batch ? Math.min(pageSize, Math.max(200, Math.min(2000, Number(batch[1])))) : pageSize);
    }
    if (head === 'sobjects' && rest.length === 2 && request.method === 'GET') {
      // sObject names in paths are case-insensitive (`/sobjects/contact/...` is a Contact).
      const object = Object.keys(FIELDS).find((name) => name.toLowerCase() === rest[0].toLowerCase());
      const record = object ? state.objects.get(object)?.get(rest[1]) : undefined;
      if (!object || !record)
        return { status: 404, body: errorBody('NOT_FOUND', 'The requested resource does not exist') };
      const fields = request.url.searchParams.get('fields')?.split(',') ?? [...SYSTEM_FIELDS, ...FIELDS[object]];
      return { status: 200, body: shape(object, record, fields) };
    }
    if (head === 'composite' && rest[0] === 'sobjects') {
      if (request.method === 'PATCH' && rest.length === 3) {
        if (!state.objects.has(rest[1]))
          return { status: 400, body: errorBody('INVALID_TYPE', `sObject type '${rest[1]}' is not supported.`) };
        return compositeUpsert(rest[1], rest[2], json());
      }
      if (request.method === 'DELETE' && rest.length === 1) {
        const ids = (request.url.searchParams.get('ids') ?? '').split(',').filter(Boolean);
        if (ids.length > 200)
          return { status: 400, body: errorBody('EXCEEDED_ID_LIMIT', 'cannot delete more than 200 records') };
        return {
          status: 200,
          body: ids.map((id) => {
            const object = [...state.objects.entries()].find(([, table]) => table.has(id))?.[0];
            if (!object)
              return {
                id,
                success: false,
                errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }],
              };
            state.deleteRecord(object, id);
            return { id, success: true, errors: [] };
          }),
        };
      }
    }
    if (head === 'jobs' && rest[0] === 'ingest') return bulk(request, rest.slice(1));
    return { status: 404, body: errorBody('NOT_FOUND', 'The requested resource does not exist') };
  }

  const server = await serveFake(
    async (request) => {
      const failure = switches.admit();
      if (failure) {
        const body =
          failure.status >= 500
            ? errorBody('SERVER_UNAVAILABLE', 'Server unavailable')
            : errorBody('REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.');
        return { status: failure.status, headers: failure.headers, body };
      }
      if (request.url.pathname === '/services/oauth2/token' && request.method === 'POST') return tokenEndpoint(request);
      if (request.url.pathname === `/services/Soap/u/${API.split('/v')[1]}` && request.method === 'POST')
        return soap(request);
      // Salesforce serves every API version side by side; clients pin theirs (n8n's node uses v59.0).
      const versioned = /^\/services\/data\/v(\d{2})\.0(\/.*)$/.exec(request.url.pathname);
      if (!versioned || Number(versioned[1]) < 31)
        return { status: 404, body: errorBody('NOT_FOUND', 'The requested resource does not exist') };
      if (!authorized(request))
        return { status: 401, body: errorBody('INVALID_SESSION_ID', 'Session expired or invalid') };
      state.apiUsage++;
      const response = api(request, versioned[2]);
      return {
        ...response,
        headers: { ...response.headers, 'Sforce-Limit-Info': `api-usage=${state.apiUsage}/${dailyLimit}` },
      };
    },
    { port: options.port },
  );
  baseUrl = server.url;

  return {
    url: server.url,
    state,
    close: server.close,
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: () => {
      switches.revokeAuth();
      tokens.clear();
    },
    restoreAuth: () => switches.restoreAuth(),
    requestCount: () => switches.requestCount(),
    violations: () => [...violations],
    ids: (object) => [...(state.objects.get(object)?.keys() ?? [])],
    remove: (object, id) => state.deleteRecord(object, id),
    touch: (object, id) => {
      const record = state.objects.get(object)?.get(id);
      if (!record) throw new Error(`no ${object} ${id}`);
      const now = sfDate(clock.later());
      Object.assign(record, { LastModifiedDate: now, SystemModstamp: now });
    },
    touchLate: (object, id, lagMs) => {
      const records = state.objects.get(object);
      const record = records?.get(id);
      if (!records || !record) throw new Error(`no ${object} ${id}`);
      const newest = Math.max(
        ...[...records.values()].map((r) => Date.parse(String(r.SystemModstamp).replace('+0000', 'Z'))),
      );
      const at = sfDate(new Date(Math.floor((newest - lagMs) / 1000) * 1000));
      Object.assign(record, { LastModifiedDate: at, SystemModstamp: at });
    },
    // System timestamps are bookkeeping of each save, not record state; idempotency is about the data.
    snapshot: (object) =>
      [...(state.objects.get(object)?.values() ?? [])]
        .map(({ LastModifiedDate: _modified, SystemModstamp: _stamp, ...data }) => data)
        .sort((a, b) => a.Id.localeCompare(b.Id)),
  };
}

function collectFields(condition: import('./soql').Condition | undefined): string[] {
  if (!condition) return [];
  switch (condition.kind) {
    case 'and':
    case 'or':
      return [...collectFields(condition.left), ...collectFields(condition.right)];
    case 'not':
      return collectFields(condition.inner);
    default:
      return [condition.field];
  }
}
