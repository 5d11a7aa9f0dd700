/**
 * The one HTTP client every connector uses (Node's built-in fetch, i.e. undici): JSON requests,
 * rate limiting before each call, observation after it, bounded retries of 5xx and network errors
 * with exponential backoff and jitter, 429 handling that honours Retry-After and vendor reset
 * headers, and vendor failures turned into IntegrationError kinds the runtime can act on.
 */
import { IntegrationError, type ConnectorContext, type RateLimitObservation } from '../connector';
import { parseRateLimitPolicy, type EndpointBudget } from './rate-windows';
import { realSleep, type TokenBucket } from './token-bucket';

export type Query = Record<string, string | number | boolean | undefined | null | readonly (string | number)[]>;

export interface VendorRequest {
  readonly method?: string;
  /** Path relative to the base URL, or an absolute URL (vendor-provided next-page links). */
  readonly path: string;
  readonly query?: Query;
  /** Sent as application/json. */
  readonly json?: unknown;
  /** Sent as is (form or XML bodies, CSV uploads); set the content type in `headers`. */
  readonly body?: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  /** Statuses besides 2xx returned to the caller instead of thrown (e.g. 404 for "no such record"). */
  readonly accept?: readonly number[];
  /** Whether a 5xx/network failure of this call may be retried; false for non-idempotent creates. */
  readonly retry?: boolean;
}

export interface VendorResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON when the response is JSON, the text otherwise, undefined when empty. */
  readonly body: T;
  readonly rateLimit: RateLimitObservation;
}

export interface VendorHttpOptions {
  /** Integration name, used in error messages. */
  readonly integration: string;
  readonly baseUrl: string;
  readonly context?: ConnectorContext;
  /** Headers added to every call (auth); may fetch or refresh a token, or sign the call (OAuth 1.0a). */
  readonly auth?: (call: {
    readonly method: string;
    readonly url: URL;
  }) => Promise<Record<string, string>> | Record<string, string>;
  /**
   * Called once on 401 before giving up (e.g. refresh an OAuth access token); returns true when the
   * call should be retried with fresh credentials.
   */
  readonly onUnauthorized?: () => Promise<boolean>;
  /** Reads the vendor's rate-limit headers; the default understands Retry-After and X-RateLimit-* / RateLimit-*. */
  readonly parseRateLimit?: (headers: Headers, now: number) => RateLimitObservation;
  /** Extracts the vendor's error message from an error body. */
  readonly errorMessage?: (body: unknown, status: number) => string | undefined;
  /**
   * Vendor-specific reading of an error answer, consulted first: e.g. Salesforce's 403
   * REQUEST_LIMIT_EXCEEDED is a (daily, so not retried) rate limit, and OAuth token endpoints answer
   * 400 invalid_grant for bad credentials. 'unavailable' is retried like a 5xx; other kinds are final.
   */
  readonly classifyError?: (status: number, body: unknown) => IntegrationError['kind'] | undefined;
  /**
   * How long a 429 asks to wait when the vendor says so in the body rather than in headers (HubSpot's
   * policyName); Infinity when waiting is pointless (a daily quota). Headers win when both are present.
   */
  readonly tooManyRequestsWaitMs?: (body: unknown, rateLimit: RateLimitObservation) => number | undefined;
  /** Per-integration limiter consulted before each call and corrected after it. */
  readonly bucket?: TokenBucket;
  /**
   * The budget of the endpoint a call goes to, for vendors that limit endpoints separately
   * (Klaviyo); taken before the call and told the answer's rate-limit headers and declared windows.
   */
  readonly budgetFor?: (method: string, url: URL) => EndpointBudget | undefined;
  /** Total attempts per call for 5xx, network errors and 429s (default 4). */
  readonly maxAttempts?: number;
  /** First backoff delay (default 500 ms), doubled per attempt with full jitter, capped at maxDelayMs. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A 429 asking to wait longer than this fails with kind 'rate_limit' instead of blocking (default 120 s). */
  readonly maxRetryAfterMs?: number;
  /** Per-attempt timeout (default 30 s). */
  readonly timeoutMs?: number;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** Parses Retry-After: delay seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function headerNumber(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  if (value === null || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * A reset header in seconds: vendors send either seconds until reset or an epoch time in seconds;
 * values after the year 2001 in epoch seconds are read as epoch.
 */
export function resetSecondsToMs(value: number | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (value > 1_000_000_000) return Math.max(0, value * 1000 - now);
  return Math.max(0, value * 1000);
}

/** Retry-After plus the common X-RateLimit-* and IETF RateLimit-* headers. */
export function defaultRateLimit(headers: Headers, now: number): RateLimitObservation {
  const remaining = headerNumber(headers, 'x-ratelimit-remaining') ?? headerNumber(headers, 'ratelimit-remaining');
  const limit = headerNumber(headers, 'x-ratelimit-limit') ?? headerNumber(headers, 'ratelimit-limit');
  const resetMs = resetSecondsToMs(
    headerNumber(headers, 'x-ratelimit-reset') ?? headerNumber(headers, 'ratelimit-reset'),
    now,
  );
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'), now);
  return strip({ remaining, limit, resetMs, retryAfterMs });
}

export function strip(observation: {
  -readonly [K in keyof RateLimitObservation]: RateLimitObservation[K] | undefined;
}): RateLimitObservation {
  const out: { -readonly [K in keyof RateLimitObservation]?: number } = {};
  for (const [key, value] of Object.entries(observation))
    if (value !== undefined) out[key as keyof RateLimitObservation] = value;
  return out;
}

function defaultErrorMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 300) || undefined;
  if (Array.isArray(body))
    return (
      body
        .map((item) => defaultErrorMessage(item))
        .filter(Boolean)
        .join('; ') || undefined
    );
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.error === 'string' && typeof b.error_description === 'string')
      return `${b.error}: ${b.error_description}`;
    const code = [b.errorCode, b.code, b.category].find((c) => typeof c === 'string' && c);
    if (code && typeof b.message === 'string') return `${code}: ${b.message}`;
    for (const key of ['message', 'error_description', 'error', 'detail', 'title']) {
      const value = b[key];
      if (typeof value === 'string' && value) return value;
      if (value && typeof value === 'object') return defaultErrorMessage(value);
    }
    for (const key of ['errors', 'data']) if (b[key]) return defaultErrorMessage(b[key]);
  }
  return undefined;
}

export function buildUrl(baseUrl: string, path: string, query?: Query): URL {
  const url = /^https?:\/\//.test(path)
    ? new URL(path)
    : new URL(baseUrl.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`));
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) url.searchParams.append(key, String(item));
    else url.searchParams.set(key, String(value));
  }
  return url;
}

export class VendorHttp {
  readonly baseUrl: string;
  private readonly integration: string;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly maxAttempts: number;

  constructor(private readonly options: VendorHttpOptions) {
    this.baseUrl = options.baseUrl;
    this.integration = options.integration;
    // Called through a closure: workerd rejects a fetch invoked with any receiver but globalThis.
    this.fetchImpl = options.context?.fetch ?? ((input, init) => fetch(input, init));
    this.sleep = options.context?.sleep ?? realSleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  }

  /** The response body of a successful call. */
  async json<T>(request: VendorRequest): Promise<T> {
    return (await this.request<T>(request)).body;
  }

  async request<T = unknown>(request: VendorRequest): Promise<VendorResponse<T>> {
    const url = buildUrl(this.baseUrl, request.path, request.query);
    const method = request.method ?? (request.json !== undefined || request.body !== undefined ? 'POST' : 'GET');
    const retryable = request.retry ?? true;
    let refreshed = false;
    const budget = this.options.budgetFor?.(method, url);
    for (let attempt = 1; ; attempt++) {
      await budget?.acquire();
      await this.options.bucket?.acquire();
      await this.options.context?.acquire?.();
      const headers: Record<string, string> = {
        accept: 'application/json',
        ...(await this.options.auth?.({ method, url })),
        ...request.headers,
      };
      let body: string | Buffer | undefined = request.body;
      if (request.json !== undefined) {
        body = JSON.stringify(request.json);
        headers['content-type'] ??= 'application/json';
      }
      const started = this.now();
      let response: Response;
      let read: ReadBody;
      try {
        response = await this.fetchImpl(url, {
          method,
          headers,
          body: typeof body === 'string' || body === undefined ? body : new Uint8Array(body),
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
        });
        // The body is part of the attempt: a connection cut mid-body fails like one cut before the headers.
        read = await readBody(response).catch((error: Error) => {
          throw new Error(`response body cut off: ${error.message}`);
        });
      } catch (error) {
        if (retryable && attempt < this.maxAttempts) {
          await this.sleep(this.backoff(attempt));
          continue;
        }
        throw new IntegrationError(
          this.integration,
          'unavailable',
          `${method} ${url.pathname} failed after ${attempt} attempt(s): ${(error as Error).message}`,
        );
      }
      const latencyMs = this.now() - started;
      const rateLimit = (this.options.parseRateLimit ?? defaultRateLimit)(response.headers, this.now());
      this.options.bucket?.observe(rateLimit);
      await budget?.observe(rateLimit, parseRateLimitPolicy(response.headers.get('ratelimit-limit')));
      this.options.context?.observe?.({ status: response.status, latencyMs, rateLimit });
      const parsed = read.body;

      if ((response.status >= 200 && response.status < 300) || request.accept?.includes(response.status)) {
        if (read.invalidJson) {
          // A success whose JSON does not parse was mangled on the way (truncated by a proxy, an HTML
          // error page with a JSON type): retried like a 5xx, never handed to the connector as text.
          if (retryable && attempt < this.maxAttempts) {
            await this.sleep(this.backoff(attempt));
            continue;
          }
          throw new IntegrationError(
            this.integration,
            'unavailable',
            `${method} ${url.pathname} -> ${response.status} with a body that is not valid JSON, after ${attempt} attempt(s)`,
            response.status,
          );
        }
        return { status: response.status, headers: response.headers, body: parsed as T, rateLimit };
      }
      const vendorMessage =
        (this.options.errorMessage ?? defaultErrorMessage)(parsed, response.status) ?? response.statusText;
      const describe = `${method} ${url.pathname} -> ${response.status}${vendorMessage ? `: ${vendorMessage}` : ''}`;

      const kind = this.options.classifyError?.(response.status, parsed);
      if (kind === 'unavailable' && retryable && attempt < this.maxAttempts) {
        await this.sleep(rateLimit.retryAfterMs ?? this.backoff(attempt));
        continue;
      }
      if (kind === 'auth' && this.options.onUnauthorized && !refreshed) {
        refreshed = true;
        if (await this.options.onUnauthorized()) {
          attempt--;
          continue;
        }
      }
      if (kind) throw new IntegrationError(this.integration, kind, describe, response.status);
      if (response.status === 401 && !refreshed && this.options.onUnauthorized) {
        refreshed = true;
        if (await this.options.onUnauthorized()) {
          attempt--;
          continue;
        }
      }
      if (response.status === 401 || response.status === 403) {
        throw new IntegrationError(this.integration, 'auth', describe, response.status);
      }
      if (response.status === 429) {
        const waitMs =
          rateLimit.retryAfterMs ??
          this.options.tooManyRequestsWaitMs?.(parsed, rateLimit) ??
          rateLimit.resetMs ??
          this.backoff(attempt);
        if (attempt < this.maxAttempts && waitMs <= (this.options.maxRetryAfterMs ?? 120_000)) {
          await this.sleep(waitMs);
          continue;
        }
        throw new IntegrationError(
          this.integration,
          'rate_limit',
          `${describe}${Number.isFinite(waitMs) ? ` (retry after ${waitMs} ms)` : ''}`,
          429,
        );
      }
      if (response.status >= 500 || response.status === 408) {
        if (retryable && attempt < this.maxAttempts) {
          await this.sleep(rateLimit.retryAfterMs ?? this.backoff(attempt));
          continue;
        }
        throw new IntegrationError(
          this.integration,
          'unavailable',
          `${describe} after ${attempt} attempt(s)`,
          response.status,
        );
      }
      if (response.status === 404) throw new IntegrationError(this.integration, 'not_found', describe, 404);
      throw new IntegrationError(this.integration, 'vendor_error', describe, response.status);
    }
  }

  /** Full-jitter exponential backoff: uniform in [base/2, min(max, base * 2^(attempt-1))]. */
  backoff(attempt: number): number {
    const base = this.options.baseDelayMs ?? 500;
    const ceiling = Math.min(this.options.maxDelayMs ?? 30_000, base * 2 ** (attempt - 1));
    return Math.round(base / 2 + this.random() * Math.max(0, ceiling - base / 2));
  }
}

interface ReadBody {
  /** Parsed JSON when the response is JSON, the text otherwise, undefined when empty. */
  readonly body: unknown;
  /** The response says JSON but its text does not parse (body is then the text). */
  readonly invalidJson: boolean;
}

async function readBody(response: Response): Promise<ReadBody> {
  const text = await response.text();
  if (text === '') return { body: undefined, invalidJson: false };
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) {
    try {
      return { body: JSON.parse(text), invalidJson: false };
    } catch {
      return { body: text, invalidJson: true };
    }
  }
  return { body: text, invalidJson: false };
}
