/**
 * OAuth 1.0a request signing (RFC 5849): X's Ads API signs with HMAC-SHA1, NetSuite's token-based
 * authentication with HMAC-SHA256 and the account id as `realm`. The signature covers the method, the
 * URL without its query, and the sorted oauth_* and query parameters (a JSON body is not part of it;
 * `realm` is not either).
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

export type OAuth1Method = 'HMAC-SHA1' | 'HMAC-SHA256';

export function oauth1Signature(
  method: string,
  url: URL,
  oauth: Record<string, string>,
  consumerSecret: string,
  tokenSecret: string,
  signatureMethod: OAuth1Method = 'HMAC-SHA1',
): string {
  const params = [
    ...url.searchParams.entries(),
    ...Object.entries(oauth).filter(([k]) => k !== 'oauth_signature' && k !== 'realm'),
  ]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const base = [method.toUpperCase(), rfc3986(`${url.origin}${url.pathname}`), rfc3986(params)].join('&');
  return createHmac(
    signatureMethod === 'HMAC-SHA256' ? 'sha256' : 'sha1',
    `${rfc3986(consumerSecret)}&${rfc3986(tokenSecret)}`,
  )
    .update(base)
    .digest('base64');
}

export interface OAuth1Options {
  /** @default 'HMAC-SHA1' */
  readonly signatureMethod?: OAuth1Method;
  /** Sent first in the header and not signed (NetSuite: the account id). @default none */
  readonly realm?: string;
  /** Current time in ms. @default Date.now() */
  readonly now?: number;
}

/** The Authorization header of one request. */
export function oauth1Header(
  method: string,
  url: URL,
  credentials: OAuth1Credentials,
  options: OAuth1Options = {},
): string {
  const signatureMethod = options.signatureMethod ?? 'HMAC-SHA1';
  const oauth: Record<string, string> = {
    oauth_consumer_key: credentials.consumerKey,
    oauth_nonce: randomBytes(16).toString('hex'),
    oauth_signature_method: signatureMethod,
    oauth_timestamp: String(Math.floor((options.now ?? Date.now()) / 1000)),
    oauth_token: credentials.token,
    oauth_version: '1.0',
  };
  oauth.oauth_signature = oauth1Signature(
    method,
    url,
    oauth,
    credentials.consumerSecret,
    credentials.tokenSecret,
    signatureMethod,
  );
  const realm = options.realm === undefined ? [] : [`realm="${rfc3986(options.realm)}"`];
  return `OAuth ${[...realm, ...Object.entries(oauth).map(([k, v]) => `${rfc3986(k)}="${rfc3986(v)}"`)].join(', ')}`;
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
