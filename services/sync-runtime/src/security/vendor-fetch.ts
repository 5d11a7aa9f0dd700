/**
 * The fetch the Node runtime gives connectors: every call (next-page links and redirects included) is checked
 * against the integration's vendor hosts (vendor-hosts.ts), and the address a name resolves to is checked when
 * the socket connects, from the same lookup the socket uses, so a vendor-looking name that resolves (or is
 * re-bound after the config check) to a loopback, private or metadata address is refused before a byte is sent.
 * Built on node:http(s) because the built-in fetch cannot be given a lookup without the undici package.
 */
import * as dns from 'dns';
import * as http from 'http';
import * as https from 'https';
import type { LookupFunction } from 'net';
import { Readable } from 'stream';
import { addressClass, vendorUrlProblem } from './vendor-hosts';

export interface VendorFetchOptions {
  /** The integration's system, whose catalog hosts it may reach. */
  readonly system: string;
  /** The local-vendor override (DATA_SYNC_ALLOW_LOCAL_VENDORS): loopback and private addresses allowed. */
  readonly allowLocal: boolean;
  /** Resolves names (tests resolve a vendor name to a local address). @default dns.lookup */
  readonly lookup?: typeof dns.lookup;
}

/** A refused vendor call: the URL or the address it resolved to is not the vendor's. */
export class VendorEgressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VendorEgressError';
  }
}

const MAX_REDIRECTS = 5;
const NULL_BODY = new Set([101, 204, 205, 304]);

/** A socket lookup that resolves every address of the name and refuses the name if any one is not allowed. */
function guardedLookup(resolve: typeof dns.lookup, allowLocal: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { all: true, family: options.family ?? 0 }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const refused = addresses.find((a) => {
        const kind = addressClass(a.address);
        return kind === 'forbidden' || (kind === 'local' && !allowLocal);
      });
      if (refused)
        return callback(
          new VendorEgressError(`${hostname} resolves to ${refused.address}, which vendor calls may not reach`),
          '',
          0,
        );
      if (options.all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(headers).forEach((value, key) => (out[key] = value));
  return out;
}

function bodyBytes(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (body instanceof URLSearchParams) return Buffer.from(body.toString());
  throw new TypeError('vendor fetch sends string, Uint8Array or URLSearchParams bodies only');
}

/** A fetch limited to `system`'s vendor hosts (see the module comment). */
export function createVendorFetch(options: VendorFetchOptions): typeof fetch {
  const lookup = guardedLookup(options.lookup ?? dns.lookup, options.allowLocal);

  const once = (
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    signal?: AbortSignal | null,
  ) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const problem = vendorUrlProblem(options.system, url, options.allowLocal);
      if (problem) return reject(new VendorEgressError(`${url.origin} refused: ${problem}`));
      const client = url.protocol === 'https:' ? https : http;
      const req = client.request(url, {
        method,
        headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
        lookup,
        signal: signal ?? undefined,
      });
      req.once('response', resolve);
      req.once('error', reject);
      req.end(body);
    });

  return async (input, init = {}) => {
    const request = input instanceof Request ? input : undefined;
    let url = new URL(request ? request.url : input.toString());
    let method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    const headers = headerRecord(init.headers ?? request?.headers);
    let body = bodyBytes(init.body);
    for (let redirects = 0; ; redirects++) {
      const response = await once(url, method, headers, body, init.signal);
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && location && init.redirect !== 'manual') {
        response.resume();
        if (redirects >= MAX_REDIRECTS)
          throw new VendorEgressError(`more than ${MAX_REDIRECTS} redirects from ${url.origin}`);
        url = new URL(location, url);
        // As fetch does: 303, and 301/302 after a POST, continue as a GET without the body.
        if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          delete headers['content-type'];
        }
        continue;
      }
      const responseHeaders = new Headers();
      for (const [name, value] of Object.entries(response.headers))
        for (const item of Array.isArray(value) ? value : value === undefined ? [] : [value])
          responseHeaders.append(name, item);
      const empty = NULL_BODY.has(status) || method === 'HEAD';
      if (empty) response.resume();
      return new Response(empty ? null : (Readable.toWeb(response) as ReadableStream<Uint8Array>), {
        status,
        statusText: response.statusMessage,
        headers: responseHeaders,
      });
    }
  };
}
