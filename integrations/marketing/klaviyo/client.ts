/**
 * Klaviyo's JSON:API over the shared VendorHttp: the API key and `revision` on every call, JSON:API
 * media types, a token bucket per account sized to the endpoint tier (RateLimit-* headers and
 * Retry-After correct it), and `errors[].detail` as the error message.
 */
import { createHash } from 'crypto';
import { IntegrationError, type ConnectorContext } from '../../connector';
import { sharedBucket } from '../../http/token-bucket';
import { VendorHttp, type VendorRequest, type VendorResponse } from '../../http/vendor-http';
import type { KlaviyoConfig } from './config';

export function klaviyoErrorMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body.slice(0, 300) || undefined;
  const list = (body as { errors?: { code?: string; detail?: string; title?: string; source?: { pointer?: string } }[] } | undefined)?.errors;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return list.map((e) => [e.code, e.detail ?? e.title, e.source?.pointer].filter(Boolean).join(': ')).join('; ');
}

export class KlaviyoClient {
  readonly http: VendorHttp;
  private readonly origin: string;

  constructor(readonly config: KlaviyoConfig, readonly context: ConnectorContext = {}) {
    this.origin = new URL(config.baseUrl).origin;
    const account = createHash('sha256').update(`${config.apiKey}\n${this.origin}`).digest('hex').slice(0, 16);
    this.http = new VendorHttp({
      integration: 'klaviyo',
      baseUrl: config.baseUrl,
      context,
      auth: () => ({ authorization: `Klaviyo-API-Key ${config.apiKey}`, revision: config.revision, accept: 'application/vnd.api+json' }),
      errorMessage: klaviyoErrorMessage,
      // Capacity plus one second of refill never exceeds the burst window; the steady window is kept by
      // RateLimit-Remaining/Reset, which the bucket observes after every call.
      bucket: sharedBucket(`klaviyo:${account}`, {
        capacity: Math.max(1, config.burstPerSecond - config.steadyPerMinute / 60),
        refillPerSecond: config.steadyPerMinute / 60,
        sleep: context.sleep,
      }),
    });
  }

  request<T>(request: VendorRequest): Promise<VendorResponse<T>> {
    const headers = request.json !== undefined ? { 'content-type': 'application/vnd.api+json', ...request.headers } : request.headers;
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
      throw new IntegrationError('klaviyo', 'invalid_config', 'cursor holds a next link that is not a URL; reset the sync state');
    }
    if (url.origin !== this.origin) throw new IntegrationError('klaviyo', 'invalid_config', `cursor's next link points at ${url.origin}, not ${this.origin}; reset the sync state`);
    return url.toString();
  }
}
