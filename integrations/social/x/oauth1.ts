/**
 * OAuth 1.0a request signing (RFC 5849, HMAC-SHA1), which X's Ads API requires for the custom
 * audience calls: the signature covers the method, the URL without its query, and the sorted oauth_*
 * and query parameters (a JSON body is not part of it).
 */
import { createHmac, randomBytes } from 'crypto';

/** RFC 3986 percent-encoding (encodeURIComponent leaves !'()* alone). */
export const rfc3986 = (value: string) =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export interface OAuth1Credentials {
  readonly consumerKey: string;
  readonly consumerSecret: string;
  readonly token: string;
  readonly tokenSecret: string;
}

export function oauth1Signature(
  method: string,
  url: URL,
  oauth: Record<string, string>,
  consumerSecret: string,
  tokenSecret: string,
): string {
  const params = [...url.searchParams.entries(), ...Object.entries(oauth).filter(([k]) => k !== 'oauth_signature')]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const base = [method.toUpperCase(), rfc3986(`${url.origin}${url.pathname}`), rfc3986(params)].join('&');
  return createHmac('sha1', `${rfc3986(consumerSecret)}&${rfc3986(tokenSecret)}`)
    .update(base)
    .digest('base64');
}

/** The Authorization header of one request. */
export function oauth1Header(method: string, url: URL, credentials: OAuth1Credentials, now = Date.now()): string {
  const oauth: Record<string, string> = {
    oauth_consumer_key: credentials.consumerKey,
    oauth_nonce: randomBytes(16).toString('hex'),
    oauth_signature_method: 'HMAC-SHA1',
    oauth_timestamp: String(Math.floor(now / 1000)),
    oauth_token: credentials.token,
    oauth_version: '1.0',
  };
  oauth.oauth_signature = oauth1Signature(method, url, oauth, credentials.consumerSecret, credentials.tokenSecret);
  return `OAuth ${Object.entries(oauth)
    .map(([k, v]) => `${rfc3986(k)}="${rfc3986(v)}"`)
    .join(', ')}`;
}

/** The oauth_* parameters of an Authorization header (for the fake's check). */
export function parseOAuth1Header(header: string | undefined): Record<string, string> | null {
  if (!header?.startsWith('OAuth ')) return null;
  const out: Record<string, string> = {};
  for (const part of header.slice(6).split(',')) {
    const match = /^\s*([^=]+)="([^"]*)"\s*$/.exec(part);
    if (!match) return null;
    out[decodeURIComponent(match[1])] = decodeURIComponent(match[2]);
  }
  return out;
}
