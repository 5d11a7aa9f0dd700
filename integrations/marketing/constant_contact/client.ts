/**
 * Constant Contact v3 over the shared VendorHttp: OAuth2 access tokens obtained from the refresh
 * token (rotated refresh tokens are kept for the process, per application and original token),
 * refreshed before expiry and once on a 401, a pace of `requestsPerSecond`, and the
 * `[{ error_key, error_message }]` error bodies.
 */
import { createHash } from 'crypto';
import { IntegrationError, type ConnectorContext } from '../../connector';
import { sharedBucket } from '../../http/token-bucket';
import { VendorHttp, type VendorRequest, type VendorResponse } from '../../http/vendor-http';
import type { ConstantContactConfig } from './config';

interface TokenState {
  refreshToken: string;
  accessToken?: string;
  expiresAt: number;
  pending?: Promise<string>;
}

/** Tokens per application and original refresh token, shared by connector instances in the process. */
const tokens = new Map<string, TokenState>();

export function ctctErrorMessage(body: unknown): string | undefined {
  if (Array.isArray(body)) return body.map((e) => [e?.error_key, e?.error_message].filter(Boolean).join(': ')).join('; ') || undefined;
  if (body && typeof body === 'object') {
    const b = body as { error?: string; error_description?: string };
    if (b.error) return [b.error, b.error_description].filter(Boolean).join(': ');
  }
  return typeof body === 'string' ? body.slice(0, 300) || undefined : undefined;
}

/**
 * How long a 429 asks to wait, from its error_key: `throttled` (the per-second limit) passes in a
 * second; `quota_exceeded` (the daily quota) does not pass by retrying, so it fails at once. The
 * Mashery-era keys mean the same.
 */
export function ctctTooManyRequestsWait(body: unknown): number | undefined {
  const keys = (Array.isArray(body) ? body : [body]).map((e) => String((e as { error_key?: unknown } | undefined)?.error_key ?? ''));
  if (keys.some((k) => k === 'quota_exceeded' || k.endsWith('over.ratelimit'))) return Infinity;
  if (keys.some((k) => k === 'throttled' || k.endsWith('over.qps'))) return 1000;
  return undefined;
}

export class ConstantContactClient {
  readonly http: VendorHttp;
  private readonly tokenHttp: VendorHttp;
  private readonly token: TokenState;
  private readonly origin: string;

  constructor(readonly config: ConstantContactConfig, readonly context: ConnectorContext = {}) {
    const key = createHash('sha256').update(`${config.clientId}\n${config.refreshToken}\n${config.tokenUrl}`).digest('hex');
    let token = tokens.get(key);
    if (!token) {
      token = { refreshToken: config.refreshToken, expiresAt: 0 };
      tokens.set(key, token);
    }
    this.token = token;
    const perSecond = config.requestsPerSecond;
    const bucket = sharedBucket(`constant_contact:${createHash('sha256').update(`${config.clientId}\n${new URL(config.baseUrl).origin}`).digest('hex').slice(0, 16)}`, {
      // Half up front and half refilled keeps any one-second window within the limit.
      capacity: Math.max(1, perSecond / 2),
      refillPerSecond: perSecond / 2,
      sleep: context.sleep,
    });
    this.tokenHttp = new VendorHttp({ integration: 'constant_contact', baseUrl: config.tokenUrl, context, errorMessage: ctctErrorMessage });
    this.origin = new URL(config.baseUrl).origin;
    this.http = new VendorHttp({
      integration: 'constant_contact',
      baseUrl: `${config.baseUrl.replace(/\/+$/, '')}/v3`,
      context,
      bucket,
      auth: async () => ({ authorization: `Bearer ${await this.accessToken()}` }),
      onUnauthorized: async () => {
        this.token.expiresAt = 0;
        await this.accessToken();
        return true;
      },
      errorMessage: ctctErrorMessage,
      tooManyRequestsWaitMs: ctctTooManyRequestsWait,
    });
  }

  /** A valid access token, refreshed when missing or within a minute of expiry; one refresh at a time. */
  private accessToken(): Promise<string> {
    const token = this.token;
    if (token.accessToken && token.expiresAt - 60_000 > Date.now()) return Promise.resolve(token.accessToken);
    token.pending ??= this.refresh().finally(() => {
      token.pending = undefined;
    });
    return token.pending;
  }

  private async refresh(): Promise<string> {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: this.token.refreshToken });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (this.config.clientSecret) headers.authorization = `Basic ${Buffer.from(`${this.config.clientId}:${this.config.clientSecret}`).toString('base64')}`;
    else form.set('client_id', this.config.clientId);
    const response = await this.tokenHttp.request<{ access_token?: string; expires_in?: number; refresh_token?: string; error?: string; error_description?: string }>({
      method: 'POST',
      path: this.config.tokenUrl,
      body: form.toString(),
      headers,
      accept: [400, 401],
    });
    if (response.status !== 200 || !response.body?.access_token) {
      throw new IntegrationError('constant_contact', 'auth', `token refresh failed (${response.status}): ${ctctErrorMessage(response.body) ?? 'no access token'}; reauthorize the application`, response.status);
    }
    if (response.body.refresh_token) this.token.refreshToken = response.body.refresh_token;
    this.token.accessToken = response.body.access_token;
    this.token.expiresAt = Date.now() + (response.body.expires_in ?? 3600) * 1000;
    return response.body.access_token;
  }

  /** A `_links.next.href` (relative to the API host) as an absolute URL on the configured host only. */
  nextLink(href: string): string {
    let url: URL;
    try {
      url = new URL(href, this.config.baseUrl);
    } catch {
      throw new IntegrationError('constant_contact', 'invalid_config', 'cursor holds a next link that is not a URL; reset the sync state');
    }
    if (url.origin !== this.origin) throw new IntegrationError('constant_contact', 'invalid_config', `cursor's next link points at ${url.origin}, not ${this.origin}; reset the sync state`);
    return url.toString();
  }

  request<T>(request: VendorRequest): Promise<VendorResponse<T>> {
    return this.http.request<T>(request);
  }

  async json<T>(request: VendorRequest): Promise<T> {
    return (await this.request<T>(request)).body;
  }
}
