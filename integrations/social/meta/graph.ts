/**
 * Meta's Graph API over the shared VendorHttp: versioned paths, the Page token as a Bearer header with
 * `appsecret_proof` (so a leaked token alone cannot call the API), Graph error codes read from the
 * body (Meta answers most failures with 400), and the usage headers X-App-Usage /
 * X-Business-Use-Case-Usage read as rate-limit state.
 */
import { createHmac } from 'crypto';
import { IntegrationError, type ConnectorContext, type RateLimitObservation } from '../../connector';
import { VendorHttp, defaultRateLimit, strip, type VendorRequest } from '../../http/vendor-http';
import type { MetaConfig } from './config';

interface GraphError {
  readonly message?: string;
  readonly type?: string;
  readonly code?: number;
  readonly error_subcode?: number;
}

/** A Graph list: `data` and cursor paging. */
export interface GraphPage<T> {
  readonly data: T[];
  readonly paging?: {
    readonly cursors?: { readonly before?: string; readonly after?: string };
    readonly next?: string;
  };
}

function graphError(body: unknown): GraphError | undefined {
  const error = (body as { error?: unknown } | undefined)?.error;
  return error && typeof error === 'object' ? (error as GraphError) : undefined;
}

/** Token invalid or expired (190, 102), permission missing (10, 200-299). */
const AUTH_CODES = (code: number) => code === 190 || code === 102 || code === 10 || (code >= 200 && code <= 299);
/** App, user, Page and Marketing API throttling (4, 17, 32, 613, 80000-80014). */
const THROTTLE_CODES = (code: number) => [4, 17, 32, 613].includes(code) || (code >= 80000 && code <= 80014);

export function graphErrorMessage(body: unknown): string | undefined {
  const error = graphError(body);
  if (!error) return typeof body === 'string' ? body.slice(0, 300) || undefined : undefined;
  return [
    error.type,
    error.code !== undefined ? `code ${error.code}${error.error_subcode ? `/${error.error_subcode}` : ''}` : undefined,
    error.message,
  ]
    .filter(Boolean)
    .join(': ');
}

export function classifyGraphError(status: number, body: unknown): IntegrationError['kind'] | undefined {
  const code = graphError(body)?.code;
  if (code === undefined) return undefined;
  if (AUTH_CODES(code)) return 'auth';
  // Retried after the wait the usage headers name; a persistent throttle ends as unavailable.
  if (THROTTLE_CODES(code) && status !== 429) return 'unavailable';
  if (code === 803 || code === 100) return status === 404 ? 'not_found' : 'vendor_error';
  return undefined;
}

function usagePercent(value: unknown): number[] {
  if (!value || typeof value !== 'object') return [];
  return ['call_count', 'total_time', 'total_cputime']
    .map((k) => (value as Record<string, unknown>)[k])
    .filter((n): n is number => typeof n === 'number');
}

/**
 * X-App-Usage is `{call_count, total_time, total_cputime}` in percent of the app's budget;
 * X-Business-Use-Case-Usage maps business ids to lists of those plus `estimated_time_to_regain_access`
 * (minutes). Remaining is 100 minus the highest percentage; the regain time becomes the wait.
 */
export function metaRateLimit(headers: Headers, now: number): RateLimitObservation {
  const base = defaultRateLimit(headers, now);
  const percents: number[] = [];
  let regainMinutes = 0;
  const parse = (name: string): unknown => {
    const raw = headers.get(name);
    if (!raw) return undefined;
    try {
      return JSON.parse(raw);
    } catch {
      return undefined;
    }
  };
  percents.push(...usagePercent(parse('x-app-usage')));
  const business = parse('x-business-use-case-usage');
  if (business && typeof business === 'object') {
    for (const entries of Object.values(business as Record<string, unknown>)) {
      for (const entry of Array.isArray(entries) ? entries : []) {
        percents.push(...usagePercent(entry));
        const regain = (entry as { estimated_time_to_regain_access?: unknown }).estimated_time_to_regain_access;
        if (typeof regain === 'number') regainMinutes = Math.max(regainMinutes, regain);
      }
    }
  }
  if (percents.length === 0 && regainMinutes === 0) return base;
  return strip({
    ...base,
    limit: percents.length ? 100 : base.limit,
    remaining: percents.length ? Math.max(0, 100 - Math.max(...percents)) : base.remaining,
    retryAfterMs: regainMinutes > 0 ? regainMinutes * 60_000 : base.retryAfterMs,
  });
}

export class GraphClient {
  readonly http: VendorHttp;
  private readonly origin: string;
  /** HMAC-SHA256 of the token under the app secret, sent with every call. */
  private readonly proof: string;

  constructor(
    readonly integration: string,
    readonly config: MetaConfig,
    context: ConnectorContext = {},
  ) {
    this.origin = new URL(config.baseUrl).origin;
    const proof = createHmac('sha256', config.appSecret).update(config.accessToken).digest('hex');
    this.http = new VendorHttp({
      integration,
      baseUrl: `${config.baseUrl.replace(/\/+$/, '')}/${config.apiVersion}`,
      context,
      auth: () => ({ authorization: `Bearer ${config.accessToken}` }),
      parseRateLimit: metaRateLimit,
      errorMessage: graphErrorMessage,
      classifyError: classifyGraphError,
    });
    this.proof = proof;
  }

  /** A GET (or a form POST/DELETE) against a Graph path or a `paging.next` link on the configured host. */
  async call<T>(request: VendorRequest & { form?: Record<string, string> }): Promise<T> {
    const absolute = /^https?:\/\//.test(request.path);
    if (absolute && new URL(request.path).origin !== this.origin) {
      throw new IntegrationError(
        this.integration,
        'invalid_config',
        `paging link points at ${new URL(request.path).origin}, not ${this.origin}; reset the sync state`,
      );
    }
    const { form, ...rest } = request;
    const body = form ? new URLSearchParams({ ...form, appsecret_proof: this.proof }).toString() : undefined;
    const query = form ? rest.query : { ...rest.query, appsecret_proof: this.proof };
    return this.http.json<T>({
      ...rest,
      query,
      ...(body !== undefined
        ? { body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...rest.headers } }
        : {}),
    });
  }

  /** Every item of a Graph list, following `paging.next`. */
  async *all<T>(path: string, query: VendorRequest['query']): AsyncIterable<T> {
    let request: VendorRequest = { path, query };
    for (;;) {
      const page = await this.call<GraphPage<T>>(request);
      for (const item of page.data ?? []) yield item;
      if (!page.paging?.next) return;
      request = { path: page.paging.next };
    }
  }
}
