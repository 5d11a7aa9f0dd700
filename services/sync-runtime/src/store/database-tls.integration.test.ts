/**
 * Database TLS as the stacks configure it (sslmode=verify-full with the provider's CA as sslrootcert): the
 * runtime's pg connection verifies the server's chain against that CA and its name against the URL's host,
 * and refuses a server it cannot verify. Against a private PostgreSQL serving a certificate from a CA made here.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import pino from 'pino';
import { loadConfig } from '../config';
import { createRuntime } from '../runtime/runtime';
import {
  privatePostgresAvailable,
  startPrivatePostgres,
  type PrivatePostgres,
} from '../../test/support/private-postgres';

const run = promisify(execFile);
const suite = privatePostgresAvailable() ? describe : describe.skip;
if (!privatePostgresAvailable())
  console.warn('skipping the database TLS test: no PostgreSQL server binaries (set PG_BIN)');

/** A CA and a server certificate it signed for `localhost` only (no IP address in its names). */
async function makeCertificates(dir: string) {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  for (const ca of ['ca', 'other-ca'])
    await openssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${ca}`,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
    );
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  );
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'server.crt',
  );
  return {
    ca: path.join(dir, 'ca.crt'),
    otherCa: path.join(dir, 'other-ca.crt'),
    certFile: path.join(dir, 'server.crt'),
    keyFile: path.join(dir, 'server.key'),
  };
}

suite('database TLS (verify-full)', () => {
  let dir: string;
  let pg: PrivatePostgres;
  let certs: Awaited<ReturnType<typeof makeCertificates>>;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'db-tls-'));
    certs = await makeCertificates(dir);
    pg = await startPrivatePostgres('tls', { tls: certs });
  });
  afterAll(async () => {
    await pg?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The runtime started on DATABASE_URL as a stack gives it: the host, verify-full and a CA file. */
  const startOn = async (host: string, ca: string) => {
    const url = new URL(pg.url);
    url.hostname = host;
    url.search = `?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}`;
    const config = loadConfig({
      DATABASE_URL: url.toString(),
      DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
    });
    const runtime = await createRuntime(config, { logger: pino({ level: 'silent' }) });
    try {
      const { rows } = await runtime.db.query<{ ssl: boolean }>(
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
      );
      return rows[0].ssl;
    } finally {
      await runtime.close();
    }
  };

  test('the runtime connects encrypted when the chain and the name verify', async () => {
    await expect(startOn('localhost', certs.ca)).resolves.toBe(true);
  });

  test('a server whose certificate another CA signed is refused', async () => {
    await expect(startOn('localhost', certs.otherCa)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  test('the CA given as content (DATABASE_CA, PEM or base64 as IBM gives it) verifies the same way', async () => {
    const withCa = async (host: string, ca: string) => {
      const url = new URL(pg.url);
      url.hostname = host;
      const config = loadConfig({
        DATABASE_URL: url.toString(),
        DATABASE_CA: ca,
        DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
      });
      const runtime = await createRuntime(config, { logger: pino({ level: 'silent' }) });
      try {
        const { rows } = await runtime.db.query<{ ssl: boolean }>(
          'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
        );
        return rows[0].ssl;
      } finally {
        await runtime.close();
      }
    };
    const pem = fs.readFileSync(certs.ca, 'utf8');
    await expect(withCa('localhost', pem)).resolves.toBe(true);
    await expect(withCa('localhost', Buffer.from(pem).toString('base64'))).resolves.toBe(true);
    await expect(withCa('localhost', fs.readFileSync(certs.otherCa, 'utf8'))).rejects.toThrow(/certificate/i);
    await expect(withCa('127.0.0.1', pem)).rejects.toThrow(/IP: 127.0.0.1 is not in the cert's list/);
  });

  test('verify-ca in the URL (Cloud SQL on a private IP) checks the chain against DATABASE_CA but not the name', async () => {
    const chainOnly = async (ca: string) => {
      const url = new URL(pg.url);
      url.hostname = '127.0.0.1';
      url.search = '?sslmode=verify-ca';
      const config = loadConfig({
        DATABASE_URL: url.toString(),
        DATABASE_CA: ca,
        DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
      });
      const runtime = await createRuntime(config, { logger: pino({ level: 'silent' }) });
      try {
        const { rows } = await runtime.db.query<{ ssl: boolean }>(
          'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
        );
        return rows[0].ssl;
      } finally {
        await runtime.close();
      }
    };
    await expect(chainOnly(fs.readFileSync(certs.ca, 'utf8'))).resolves.toBe(true);
    await expect(chainOnly(fs.readFileSync(certs.otherCa, 'utf8'))).rejects.toThrow(/certificate/i);
  });

  test('a server whose certificate names another host is refused', async () => {
    await expect(startOn('127.0.0.1', certs.ca)).rejects.toThrow(/IP: 127.0.0.1 is not in the cert's list|altnames/i);
  });
});
