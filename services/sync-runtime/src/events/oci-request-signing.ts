/**
 * OCI's request signature (the HTTP Signatures draft, version 1, rsa-sha256), as the OCI SDKs sign:
 * `(request-target)`, `date` and `host` always, plus `x-content-sha256`, `content-type` and
 * `content-length` for a request with a body, in an `authorization: Signature version="1",…` header.
 * Written on node:crypto because the OCI SDK's common package alone is larger than this bundle's budget allows.
 */
import { createHash, createSign, type KeyObject } from 'crypto';

/** Who signs: the key id OCI looks up (`ST$<token>` for a resource principal) and its private key. */
export interface OciSigningKey {
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

export interface OciRequest {
  readonly method: string;
  readonly url: string;
  /** The JSON body, if any. */
  readonly body?: string;
  /** Headers besides the signed ones the request carries (they are not signed). @default none */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The headers each signature covers, in the order OCI documents them. */
const ALWAYS = ['(request-target)', 'date', 'host'] as const;
const WITH_BODY = ['x-content-sha256', 'content-type', 'content-length'] as const;

/** The string a signature is computed over: `name: value` lines for `names`, newline-separated. */
export function ociSigningString(names: readonly string[], values: Readonly<Record<string, string>>): string {
  return names.map((name) => `${name}: ${values[name]}`).join('\n');
}

/** Every header `request` must be sent with, the authorization signature included. */
export function signOciRequest(
  request: OciRequest,
  key: OciSigningKey,
  now: Date = new Date(),
): Record<string, string> {
  const url = new URL(request.url);
  const headers: Record<string, string> = {
    ...request.headers,
    date: now.toUTCString(),
    host: url.host,
  };
  const names: string[] = [...ALWAYS];
  if (request.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(Buffer.byteLength(request.body));
    headers['x-content-sha256'] = createHash('sha256').update(request.body).digest('base64');
    names.push(...WITH_BODY);
  }
  const signed = {
    ...headers,
    '(request-target)': `${request.method.toLowerCase()} ${url.pathname}${url.search}`,
  };
  const signature = createSign('RSA-SHA256').update(ociSigningString(names, signed)).sign(key.privateKey, 'base64');
  headers.authorization = `Signature version="1",keyId="${key.keyId}",algorithm="rsa-sha256",headers="${names.join(' ')}",signature="${signature}"`;
  return headers;
}
