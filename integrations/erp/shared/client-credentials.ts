/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4), the machine-to-machine grant of SAP BTP's XSUAA,
 * Microsoft Entra ID and NetSuite (which authenticates the client by a signed JWT, RFC 7523): the
 * token is cached until a minute before it expires and dropped when the API answers 401, so the next
 * call fetches a new one. A refused client is an `auth` IntegrationError.
 */
import { IntegrationError, type ConnectorContext } from '../../connector';
import { VendorHttp, type VendorHttpOptions } from '../../http/vendor-http';

export interface ClientCredentialsOptions {
  /** Integration name, for errors. */
  readonly integration: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  /** The client's secret; unused when `assertion` authenticates the client. @default none */
  readonly clientSecret?: string;
  /** A fresh signed client assertion (RFC 7523 `client_assertion`) per token request. @default none */
  readonly assertion?: () => string;
  /** Requested scope (Entra: `https://<org>.crm.dynamics.com/.default`); @default none */
  readonly scope?: string;
  /** Client authentication: HTTP Basic (XSUAA's default) or form fields (Entra). @default 'basic' */
  readonly clientAuth?: 'basic' | 'form';
  readonly context?: ConnectorContext;
  /** How long a 429 of the token endpoint waits when the vendor says so in the body only. @default none */
  readonly tooManyRequestsWaitMs?: VendorHttpOptions['tooManyRequestsWaitMs'];
}

const refused = (status: number, body: unknown) =>
  (status === 400 || status === 401) &&
  /invalid_client|unauthorized_client|invalid_grant|invalid_scope/.test(JSON.stringify(body ?? ''))
    ? ('auth' as const)
    : undefined;

export class ClientCredentials {
  private readonly http: VendorHttp;
  private readonly now: () => number;
  private token: { value: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly options: ClientCredentialsOptions) {
    this.http = new VendorHttp({
      integration: options.integration,
      baseUrl: options.tokenUrl,
      context: options.context,
      classifyError: refused,
      tooManyRequestsWaitMs: options.tooManyRequestsWaitMs,
    });
    this.now = options.context?.now ?? Date.now;
  }

  /** A bearer token: the cached one while it has a minute left, else a new one (one request at a time). */
  async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt - 60_000 > this.now()) return this.token.value;
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** The API refused the token (401): the next call fetches a new one. */
  invalidate(): void {
    this.token = undefined;
  }

  private async fetchToken(): Promise<string> {
    const { clientId, clientSecret = '', scope, clientAuth = 'basic', assertion } = this.options;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (assertion) {
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', assertion());
    } else if (clientAuth === 'basic') {
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
    } else {
      form.set('client_id', clientId);
      form.set('client_secret', clientSecret);
    }
    const answer = await this.http.json<{ access_token?: string; expires_in?: number | string }>({
      method: 'POST',
      path: this.options.tokenUrl,
      body: form.toString(),
      headers,
    });
    if (!answer?.access_token)
      throw new IntegrationError(
        this.options.integration,
        'auth',
        'the token endpoint answered without an access_token',
      );
    this.token = { value: answer.access_token, expiresAt: this.now() + Number(answer.expires_in ?? 3600) * 1000 };
    return this.token.value;
  }
}
