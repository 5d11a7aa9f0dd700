/**
 * Klaviyo's JSON:API over the shared VendorHttp: the API key and `revision` on every call, JSON:API
 * media types, a token bucket per account sized to the endpoint tier (RateLimit-* headers and
 * Retry-After correct it), and `errors[].detail` as the error message.
 */
import { createHash } from 'crypto';
import { IntegrationError, type ConnectorContext } from '../../connector';
import { sharedWindowBudget, type EndpointBudget, type RateWindow } from '../../http/rate-windows';
import { VendorHttp, type VendorRequest, type VendorResponse } from '../../http/vendor-http';
import type { KlaviyoConfig } from './config';

export function klaviyoErrorMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 300) || undefined;
  const list = (
    body as { errors?: { code?: string; detail?: string; title?: string; source?: { pointer?: string } }[] } | undefined
  )?.errors;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return list.map((e) => [e.code, e.detail ?? e.title, e.source?.pointer].filter(Boolean).join(': ')).join('; ');
}

/**
 * Klaviyo limits each endpoint on its own, per account (x-klaviyo-ratelimit in Klaviyo's OpenAPI
 * description, revision 2026-07-15): burst per second and steady per minute. Paths are matched
 * after the account's ids are taken out.
 */
export const ENDPOINT_LIMITS: readonly {
  readonly pattern: RegExp;
  readonly name: string;
  readonly burst: number;
  readonly steady: number;
}[] = [
  { pattern: /^\/api\/accounts$/, name: 'accounts', burst: 1, steady: 15 },
  { pattern: /^\/api\/metrics$/, name: 'metrics', burst: 10, steady: 150 },
  { pattern: /^\/api\/events$/, name: 'events', burst: 350, steady: 3500 },
  {
    pattern: /^\/api\/profile-bulk-import-jobs(\/[^/]+(\/import-errors)?)?$/,
    name: 'profile-bulk-import-jobs',
    burst: 10,
    steady: 150,
  },
  { pattern: /^\/api\/data-privacy-deletion-jobs$/, name: 'data-privacy-deletion-jobs', burst: 3, steady: 60 },
  { pattern: /^\/api\/profiles$/, name: 'profiles', burst: 75, steady: 750 },
  { pattern: /^\/api\/profile-import$/, name: 'profile-import', burst: 75, steady: 750 },
];

export class KlaviyoClient {
  readonly http: VendorHttp;
  private readonly origin: string;
  private readonly account: string;

  constructor(
    readonly config: KlaviyoConfig,
    readonly context: ConnectorContext = {},
  ) {
    this.origin = new URL(config.baseUrl).origin;
    this.account = createHash('sha256').update(`${config.apiKey}\n${this.origin}`).digest('hex').slice(0, 16);
    this.http = new VendorHttp({
      integration: 'klaviyo',
      baseUrl: config.baseUrl,
      context,
      auth: () => ({
        authorization: `Klaviyo-API-Key ${config.apiKey}`,
        revision: config.revision,
        accept: 'application/vnd.api+json',
      }),
      errorMessage: klaviyoErrorMessage,
      budgetFor: (method, url) => this.budget(method, url.pathname),
    });
  }

  /** The budget of the endpoint `path` belongs to; the profile endpoints take the configured tier. */
  private budget(method: string, path: string): EndpointBudget | undefined {
    const endpoint = ENDPOINT_LIMITS.find((e) => e.pattern.test(path.replace(/\/+$/, '')));
    if (!endpoint) return undefined;
    const profiles = endpoint.name === 'profiles' || endpoint.name === 'profile-import';
    const burst = profiles ? Math.min(endpoint.burst, this.config.burstPerSecond) : endpoint.burst;
    const steady = profiles ? Math.min(endpoint.steady, this.config.steadyPerMinute) : endpoint.steady;
    const windows: RateWindow[] = [
      { limit: burst, windowMs: 1000 },
      { limit: steady, windowMs: 60_000 },
    ];
    const key = `klaviyo:${this.account}:${method === 'GET' ? 'read' : 'write'}:${endpoint.name}`;
    return this.context.budget?.(key, windows) ?? sharedWindowBudget(key, { windows, sleep: this.context.sleep });
  }

  request<T>(request: VendorRequest): Promise<VendorResponse<T>> {
    const headers =
      request.json !== undefined ? { 'content-type': 'application/vnd.api+json', ...request.headers } : request.headers;
    return this.http.request<T>({ ...request, headers });
  }

  async json<T>(request: VendorRequest): Promise<T> {
    return (await this.request<T>(request)).body;
  }

  /** A `links.next` URL from a stored cursor, refused unless it points at the configured API host. */
  nextLink(link: string): string {
    let url: URL;
    try {
      url = new URL(link);
    } catch {
      throw new IntegrationError(
        'klaviyo',
        'invalid_config',
        'cursor holds a next link that is not a URL; reset the sync state',
      );
    }
    if (url.origin !== this.origin)
      throw new IntegrationError(
        'klaviyo',
        'invalid_config',
        `cursor's next link points at ${url.origin}, not ${this.origin}; reset the sync state`,
      );
    return url.toString();
  }
}
