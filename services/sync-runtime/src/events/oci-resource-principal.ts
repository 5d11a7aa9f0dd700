/**
 * The signing key of the resource principal OCI gives a container instance (resource principal version
 * 2.2, as the OCI SDKs read it): OCI_RESOURCE_PRINCIPAL_RPST holds the session token and
 * OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM its private key, each either the value itself or an absolute path
 * to a file the platform rewrites when it renews them, so files are read again for every request.
 */
import { createPrivateKey } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { OciSigningKey } from './oci-request-signing';

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
