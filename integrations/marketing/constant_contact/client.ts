/**
 * Constant Contact v3 over the shared VendorHttp: OAuth2 access tokens from the refresh token through
 * an OAuthSession (Constant Contact rotates refresh tokens, so the newest is kept in the context's
 * token store, sealed, before use, and one process refreshes at a time), refreshed before expiry and
 * once on a 401, a pace of `requestsPerSecond`, and the `[{ error_key, error_message }]` error bodies.
 */
import { createHash } from 'crypto';
import { IntegrationError, type ConnectorContext } from '../../connector';
import { sharedWindowBudget } from '../../http/rate-windows';
import { GrantRevoked, OAuthSession, type Grant } from '../../http/oauth-session';
import { VendorHttp, type VendorRequest, type VendorResponse } from '../../http/vendor-http';
import type { ConstantContactConfig } from './config';

export function ctctErrorMessage(body: unknown): string | undefined {
  if (Array.isArray(body))
    return body.map((e) => [e?.error_key, e?.error_message].filter(Boolean).join(': ')).join('; ') || undefined;
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
  const keys = (Array.isArray(body) ? body : [body]).map((e) =>
    String((e as { error_key?: unknown } | undefined)?.error_key ?? ''),
  );
  if (keys.some((k) => k === 'quota_exceeded' || k.endsWith('over.ratelimit'))) return Infinity;
  if (keys.some((k) => k === 'throttled' || k.endsWith('over.qps'))) return 1000;
  return undefined;
}

export class ConstantContactClient {
  readonly http: VendorHttp;
  private readonly tokenHttp: VendorHttp;
  private readonly session: OAuthSession;
  private readonly origin: string;

  constructor(
    readonly config: ConstantContactConfig,
    readonly context: ConnectorContext = {},
  ) {
    const key = createHash('sha256')
      .update(`${config.clientId}\n${config.refreshToken}\n${config.tokenUrl}`)
      .digest('hex');
    const budgetKey = `constant_contact:${createHash('sha256')
      .update(`${config.clientId}\n${new URL(config.baseUrl).origin}`)
      .digest('hex')
      .slice(0, 16)}`;
    // `requestsPerSecond` as a sliding log (at most that many in any window), which runs at the full rate;
    // a token bucket can only keep every one-second window within it at half the rate. Below 1 per second,
    // one request per its share of a second. Shared across processes when the runtime has a shared budget.
    const limit = Math.max(1, Math.floor(config.requestsPerSecond));
    const windows = [{ limit, windowMs: Math.round((1000 * limit) / config.requestsPerSecond) }];
    const budget =
      context.budget?.(budgetKey, windows) ?? sharedWindowBudget(budgetKey, { windows, sleep: context.sleep });
    this.tokenHttp = new VendorHttp({
      integration: 'constant_contact',
      baseUrl: config.tokenUrl,
      context,
      errorMessage: ctctErrorMessage,
    });
    this.session = new OAuthSession({
      integration: 'constant_contact',
      key: `constant_contact:${key}`,
      initialRefreshToken: config.refreshToken,
      store: context.tokenStore,
      refresh: (token) => this.refresh(token),
    });
    this.origin = new URL(config.baseUrl).origin;
    let used: string | undefined;
    this.http = new VendorHttp({
      integration: 'constant_contact',
      baseUrl: `${config.baseUrl.replace(/\/+$/, '')}/v3`,
      context,
      budgetFor: () => budget,
      auth: async () => ({ authorization: `Bearer ${(used = await this.session.accessToken())}` }),
      onUnauthorized: async () => {
        if (used) await this.session.rejected(used);
        return true;
      },
      errorMessage: ctctErrorMessage,
      tooManyRequestsWaitMs: ctctTooManyRequestsWait,
    });
  }

  private async refresh(refreshToken: string): Promise<Grant> {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (this.config.clientSecret)
      headers.authorization = `Basic ${Buffer.from(`${this.config.clientId}:${this.config.clientSecret}`).toString('base64')}`;
    else form.set('client_id', this.config.clientId);
    const response = await this.tokenHttp.request<{
      access_token?: string;
      expires_in?: number;
      refresh_token?: string;
      error?: string;
      error_description?: string;
    }>({
      method: 'POST',
      path: this.config.tokenUrl,
      body: form.toString(),
      headers,
      accept: [400, 401],
    });
    if (response.body?.error === 'invalid_grant')
      throw new GrantRevoked(ctctErrorMessage(response.body) ?? 'invalid_grant');
    if (response.status !== 200 || !response.body?.access_token) {
      throw new IntegrationError(
        'constant_contact',
        'auth',
        `token refresh failed (${response.status}): ${ctctErrorMessage(response.body) ?? 'no access token'}; reauthorize the application`,
        response.status,
      );
    }
    return {
      accessToken: response.body.access_token,
      refreshToken: response.body.refresh_token,
      expiresInMs: (response.body.expires_in ?? 3600) * 1000,
    };
  }

  /** A `_links.next.href` (relative to the API host) as an absolute URL on the configured host only. */
  nextLink(href: string): string {
    let url: URL;
    try {
      url = new URL(href, this.config.baseUrl);
    } catch {
      throw new IntegrationError(
        'constant_contact',
        'invalid_config',
        'cursor holds a next link that is not a URL; reset the sync state',
      );
    }
    if (url.origin !== this.origin)
      throw new IntegrationError(
        'constant_contact',
        'invalid_config',
        `cursor's next link points at ${url.origin}, not ${this.origin}; reset the sync state`,
      );
    return url.toString();
  }

  request<T>(request: VendorRequest): Promise<VendorResponse<T>> {
    return this.http.request<T>(request);
  }

  async json<T>(request: VendorRequest): Promise<T> {
    return (await this.request<T>(request)).body;
  }
}
