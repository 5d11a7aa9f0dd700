/**
 * OCI's request signature (the HTTP Signatures draft, version 1, rsa-sha256), as the OCI SDKs sign:
 * `(request-target)`, `date` and `host` always, plus `x-content-sha256`, `content-type` and
 * `content-length` for a request with a body, in an `authorization: Signature version="1",…` header; and
 * the signing key of the resource principal OCI gives a container instance (version 2.2, as the OCI SDKs
 * read it): OCI_RESOURCE_PRINCIPAL_RPST holds the session token and OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM its
 * private key, each either the value itself or an absolute path to a file the platform rewrites when it
 * renews them, so files are read again for every request. Shared by the runtime's OCI Notifications bus
 * and the metrics relay sidecar; written on node:crypto because the OCI SDK's common package alone is
 * larger than the runtime bundle's budget allows.
 */
import { createHash, createPrivateKey, createSign, type KeyObject } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

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

export const OCI_RESOURCE_PRINCIPAL_ENV = {
  version: 'OCI_RESOURCE_PRINCIPAL_VERSION',
  token: 'OCI_RESOURCE_PRINCIPAL_RPST',
  privateKey: 'OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM',
  passphrase: 'OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM_PASSPHRASE',
} as const;

/** A variable's value, or the file it names when it is an absolute path. */
function valueOrFile(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  if (!value || !path.isAbsolute(value)) return value || undefined;
  try {
    return fs.readFileSync(value, 'utf8').trim();
  } catch (error) {
    throw new Error(`${name} names ${value}, which cannot be read (${(error as NodeJS.ErrnoException).code})`, {
      cause: error,
    });
  }
}

/** The resource principal's current signing key; throws naming what is missing outside a resource with one. */
export function resourcePrincipalKey(env: NodeJS.ProcessEnv = process.env): OciSigningKey {
  const E = OCI_RESOURCE_PRINCIPAL_ENV;
  if (env[E.version]?.trim() !== '2.2')
    throw new Error(
      `${E.version} is ${JSON.stringify(env[E.version] ?? null)}, not "2.2": no OCI resource principal here (is this a container instance with its resource principal enabled?)`,
    );
  const token = valueOrFile(env, E.token);
  const pem = valueOrFile(env, E.privateKey);
  if (!token) throw new Error(`${E.token} is not set`);
  if (!pem) throw new Error(`${E.privateKey} is not set`);
  const passphrase = valueOrFile(env, E.passphrase);
  return { keyId: `ST$${token}`, privateKey: createPrivateKey({ key: pem, ...(passphrase ? { passphrase } : {}) }) };
}
