/**
 * The database server's CA given as content (DATABASE_CA: PEM, or base64 of the PEM as IBM Cloud Databases
 * give it) rather than as a file in the image: pg reads a CA only from `sslrootcert=<file>` in the URL (a
 * value in the URL overrides any `ssl` option), so the content is written once to a private file and the URL
 * points at it, with verify-full: the chain and the server's name are both checked. A URL that asks for
 * verify-ca keeps it, with libpq's meaning (the chain only; pg alone treats verify-ca as verify-full): for a
 * server whose certificate cannot name the address clients dial, such as Cloud SQL on a private IP, whose
 * per-instance CA signs that one instance's certificates only.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The PEM text of `ca`, decoding base64 when it is not PEM already; throws when neither holds a certificate. */
export function caPem(ca: string): string {
  const text = ca.includes('-----BEGIN CERTIFICATE-----') ? ca : Buffer.from(ca.trim(), 'base64').toString('utf8');
  if (!text.includes('-----BEGIN CERTIFICATE-----'))
    throw new Error('DATABASE_CA is neither a PEM certificate nor the base64 of one');
  return text;
}

/** `databaseUrl` verifying the server against `ca` (sslmode=verify-full, or the URL's verify-ca; sslrootcert at a file holding it). */
export function withDatabaseCa(databaseUrl: string, ca: string, dir = os.tmpdir()): string {
  const pem = caPem(ca);
  const file = path.join(dir, `data-sync-db-ca-${createHash('sha256').update(pem).digest('hex').slice(0, 16)}.pem`);
  fs.writeFileSync(file, pem, { mode: 0o600 });
  const url = new URL(databaseUrl);
  const chainOnly = url.searchParams.get('sslmode') === 'verify-ca';
  url.searchParams.set('sslmode', chainOnly ? 'verify-ca' : 'verify-full');
  if (chainOnly) url.searchParams.set('uselibpqcompat', 'true');
  url.searchParams.set('sslrootcert', file);
  return url.toString();
}
