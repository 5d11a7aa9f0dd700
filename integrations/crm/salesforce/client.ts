/**
 * Salesforce REST client over VendorHttp (fetch; jsforce is large and its own retry/auth layers
 * would fight ours): OAuth2 client credentials or JWT bearer tokens, refreshed on 401, the REST
 * query API, composite sObjects and Bulk API 2.0 ingest jobs.
 */
import { createSign } from 'crypto';
import { IntegrationError, type ConnectorContext, type RateLimitObservation } from '../../connector';
import { TokenBucket } from '../../http/token-bucket';
import { VendorHttp, defaultRateLimit, strip, type VendorRequest } from '../../http/vendor-http';
import { jwtAudience, type SalesforceConfig } from './config';

export interface QueryResult<T = Record<string, unknown>> {
  readonly totalSize: number;
  readonly done: boolean;
  readonly records: T[];
  readonly nextRecordsUrl?: string;
}

export interface BulkJobInfo {
  readonly id: string;
  readonly state: 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
  readonly numberRecordsProcessed?: number;
  readonly numberRecordsFailed?: number;
  readonly errorMessage?: string;
}

/** `Sforce-Limit-Info: api-usage=25/15000` (daily API requests used / allowed). */
export function salesforceRateLimit(headers: Headers, now: number): RateLimitObservation {
  const match = /api-usage=(\d+)\/(\d+)/.exec(headers.get('sforce-limit-info') ?? '');
  const base = defaultRateLimit(headers, now);
  if (!match) return base;
  const used = Number(match[1]);
  const limit = Number(match[2]);
  return strip({ ...base, limit, remaining: Math.max(0, limit - used) });
}

/** Salesforce error bodies that are not what their status suggests. */
export function classifySalesforceError(status: number, body: unknown): IntegrationError['kind'] | undefined {
  const text = JSON.stringify(body ?? '');
  if (status === 403 && text.includes('REQUEST_LIMIT_EXCEEDED')) return 'rate_limit';
  if (status === 400 && /"error":"(invalid_client|invalid_grant|invalid_client_id|unauthorized_client)"/.test(text))
    return 'auth';
  if (status === 503 && text.includes('SERVER_UNAVAILABLE')) return 'unavailable';
  return undefined;
}

export class SalesforceClient {
  private readonly login: VendorHttp;
  private readonly api: VendorHttp;
  private token?: { accessToken: string; instanceUrl: string };
  private pendingToken?: Promise<{ accessToken: string; instanceUrl: string }>;
  readonly apiPath: string;

  constructor(
    private readonly config: SalesforceConfig,
    private readonly context: ConnectorContext = {},
  ) {
    this.apiPath = `/services/data/v${config.apiVersion}`;
    const shared = {
      integration: 'salesforce',
      context,
      parseRateLimit: salesforceRateLimit,
      classifyError: classifySalesforceError,
    };
    this.login = new VendorHttp({ ...shared, baseUrl: config.baseUrl });
    // Salesforce has no per-second quota but caps concurrent long requests at 25 per org; the
    // bucket keeps one instance from bursting past that, Sforce-Limit-Info lowers it near the daily limit.
    const bucket = new TokenBucket({ capacity: 25, refillPerSecond: 25, sleep: context.sleep });
    this.api = new VendorHttp({
      ...shared,
      baseUrl: config.baseUrl,
      bucket,
      auth: async () => ({ authorization: `Bearer ${(await this.accessToken()).accessToken}` }),
      onUnauthorized: async () => {
        this.token = undefined;
        await this.accessToken();
        return true;
      },
    });
  }

  private accessToken(): Promise<{ accessToken: string; instanceUrl: string }> {
    if (this.token) return Promise.resolve(this.token);
    this.pendingToken ??= this.requestToken().finally(() => {
      this.pendingToken = undefined;
    });
    return this.pendingToken;
  }

  private async requestToken(): Promise<{ accessToken: string; instanceUrl: string }> {
    const auth = this.config.auth;
    const form = new URLSearchParams();
    if (auth.type === 'client_credentials') {
      form.set('grant_type', 'client_credentials');
      form.set('client_id', auth.clientId);
      form.set('client_secret', auth.clientSecret);
    } else {
      form.set('grant_type', 'urn:ietf:params:oauth:grant-type:jwt-bearer');
      form.set(
        'assertion',
        jwtAssertion(
          auth.clientId,
          auth.username,
          jwtAudience(this.config.baseUrl, auth.audience),
          auth.privateKey,
          Date.now(),
        ),
      );
    }
    const body = await this.login.json<{ access_token?: string; instance_url?: string }>({
      method: 'POST',
      path: '/services/oauth2/token',
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    if (!body?.access_token || !body.instance_url)
      throw new IntegrationError('salesforce', 'auth', 'token response without access_token or instance_url');
    this.token = { accessToken: body.access_token, instanceUrl: body.instance_url.replace(/\/+$/, '') };
    return this.token;
  }

  /** A call to the REST API: `path` is relative to /services/data/vXX.X, or an absolute /services path. */
  async call<T>(request: VendorRequest): Promise<T> {
    const { instanceUrl } = await this.accessToken();
    const path = request.path.startsWith('/services/') ? request.path : `${this.apiPath}${request.path}`;
    return this.api.json<T>({ ...request, path: `${instanceUrl}${path}` });
  }

  async query<T = Record<string, unknown>>(
    soql: string,
    options: { all?: boolean; batchSize?: number } = {},
  ): Promise<QueryResult<T>> {
    return this.call<QueryResult<T>>({
      path: options.all ? '/queryAll' : '/query',
      query: { q: soql },
      headers: options.batchSize ? { 'Sforce-Query-Options': `batchSize=${options.batchSize}` } : undefined,
    });
  }

  /** The next batch of a query; undefined when the locator expired (Salesforce keeps them ~15 minutes). */
  async queryMore<T = Record<string, unknown>>(nextRecordsUrl: string): Promise<QueryResult<T> | undefined> {
    try {
      return await this.call<QueryResult<T>>({ path: nextRecordsUrl });
    } catch (error) {
      if (
        error instanceof IntegrationError &&
        (error.kind === 'not_found' || (error.kind === 'vendor_error' && /INVALID_QUERY_LOCATOR/.test(error.message)))
      )
        return undefined;
      throw error;
    }
  }

  /**
   * Purges records already in the Recycle Bin (the Partner SOAP call emptyRecycleBin: REST has no
   * equivalent), 200 ids per call; returns the ids Salesforce refused, with its reason.
   */
  async emptyRecycleBin(ids: readonly string[]): Promise<{ id: string; reason: string }[]> {
    const refused: { id: string; reason: string }[] = [];
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      const { accessToken, instanceUrl } = await this.accessToken();
      const envelope =
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="urn:partner.soap.sforce.com">' +
        `<soapenv:Header><urn:SessionHeader><urn:sessionId>${xmlEscape(accessToken)}</urn:sessionId></urn:SessionHeader></soapenv:Header>` +
        `<soapenv:Body><urn:emptyRecycleBin>${chunk.map((id) => `<urn:ids>${xmlEscape(id)}</urn:ids>`).join('')}</urn:emptyRecycleBin></soapenv:Body></soapenv:Envelope>`;
      const xml = await this.api.json<string>({
        method: 'POST',
        path: `${instanceUrl}/services/Soap/u/${this.config.apiVersion}`,
        body: envelope,
        headers: { 'content-type': 'text/xml; charset=UTF-8', soapaction: 'emptyRecycleBin', accept: 'text/xml' },
      });
      for (const [, result] of String(xml).matchAll(/<result>([\s\S]*?)<\/result>/g)) {
        if (/<success>true<\/success>/.test(result)) continue;
        refused.push({
          id: /<id>([^<]*)<\/id>/.exec(result)?.[1] ?? '',
          reason: /<message>([^<]*)<\/message>/.exec(result)?.[1] ?? 'refused',
        });
      }
    }
    return refused;
  }

  /** Runs a Bulk API 2.0 ingest job to completion and returns it with its failed rows. */
  async bulkIngest(
    object: string,
    operation: 'upsert' | 'delete' | 'hardDelete',
    csv: string,
    externalIdFieldName?: string,
  ): Promise<{ job: BulkJobInfo; failed: { error: string; row: Record<string, string> }[] }> {
    const created = await this.call<BulkJobInfo>({
      method: 'POST',
      path: '/jobs/ingest',
      json: { object, operation, externalIdFieldName, contentType: 'CSV', lineEnding: 'LF', columnDelimiter: 'COMMA' },
      retry: false,
    });
    await this.call({
      method: 'PUT',
      path: `/jobs/ingest/${created.id}/batches`,
      body: csv,
      headers: { 'content-type': 'text/csv' },
    });
    await this.call({ method: 'PATCH', path: `/jobs/ingest/${created.id}`, json: { state: 'UploadComplete' } });
    const sleep = this.context.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
    let waited = 0;
    for (;;) {
      const job = await this.call<BulkJobInfo>({ path: `/jobs/ingest/${created.id}` });
      if (job.state === 'JobComplete') {
        const failed = job.numberRecordsFailed
          ? parseCsv(
              await this.call<string>({
                path: `/jobs/ingest/${created.id}/failedResults/`,
                headers: { accept: 'text/csv' },
              }),
            )
          : [];
        return {
          job,
          failed: failed.map(({ sf__Error, sf__Id: _id, ...row }) => ({ error: sf__Error ?? 'unknown error', row })),
        };
      }
      if (job.state === 'Failed' || job.state === 'Aborted') {
        throw new IntegrationError(
          'salesforce',
          'vendor_error',
          `bulk ${operation} job ${job.id} on ${object} ${job.state}: ${job.errorMessage ?? 'no message'}`,
        );
      }
      if (waited >= this.config.bulkTimeoutMs) {
        await this.call({ method: 'PATCH', path: `/jobs/ingest/${created.id}`, json: { state: 'Aborted' } }).catch(
          () => undefined,
        );
        throw new IntegrationError(
          'salesforce',
          'unavailable',
          `bulk ${operation} job ${job.id} on ${object} still ${job.state} after ${waited} ms; aborted`,
        );
      }
      await sleep(this.config.bulkPollMs);
      waited += this.config.bulkPollMs;
    }
  }
}

/** RS256-signed JWT for the OAuth 2.0 JWT bearer flow (valid 3 minutes, as Salesforce allows at most). */
export function jwtAssertion(
  clientId: string,
  username: string,
  audience: string,
  privateKey: string,
  now: number,
): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const aud = audience.replace(/\/+$/, '');
  const unsigned = `${encode({ alg: 'RS256' })}.${encode({ iss: clientId, sub: username, aud, exp: Math.floor(now / 1000) + 180 })}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(privateKey).toString('base64url');
  return `${unsigned}.${signature}`;
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** RFC 4180 CSV with a header row, as Bulk API 2.0 returns it. */
export function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let field = '';
  let row: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  const [header = [], ...data] = rows;
  return data
    .filter((r) => r.some((v) => v !== ''))
    .map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

/** CSV for a Bulk API 2.0 upload: `#N/A` clears a field, an empty cell leaves it unchanged. */
export function toCsv(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const cell = (value: unknown): string => {
    if (value === null) return '#N/A';
    if (value === undefined) return '';
    const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
    return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  return [columns.join(','), ...rows.map((row) => columns.map((c) => cell(row[c])).join(','))].join('\n') + '\n';
}
