/**
 * A PostgreSQL server of a test's own (initdb + pg_ctl on a temporary directory, about 2 s), which the
 * test may stop and start again: outages without touching the shared test server.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';

const run = promisify(execFile);

/** Where Debian installs the server binaries; override with PG_BIN. */
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  /** Stops the server (fast shutdown: connections are cut, as in an outage). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

export const privatePostgresAvailable = () => fs.existsSync(path.join(PG_BIN, 'initdb'));

/** initdb refuses to run as root: then the server runs as the `postgres` system user. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root and there is no postgres user to run the private PostgreSQL as');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A server certificate and key (PEM files) the private server serves TLS with. */
export interface ServerTls {
  readonly certFile: string;
  readonly keyFile: string;
}

export async function startPrivatePostgres(
  label: string,
  settings: { tls?: ServerTls } = {},
): Promise<PrivatePostgres> {
  const user = runAs();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pg-${label}-`));
  if (user) fs.chownSync(dir, user.uid, user.gid);
  const data = path.join(dir, 'data');
  const port = await freePort();
  const options = { ...(user ?? {}), env: { ...process.env, LC_ALL: 'C' } };
  const pgCtl = (...args: string[]) => run(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-s', ...args], options);
  await run(
    path.join(PG_BIN, 'initdb'),
    ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'],
    options,
  );
  let tlsOptions = '';
  if (settings.tls) {
    // The server reads them as its own user, and refuses a key others may read.
    for (const [from, to] of [
      [settings.tls.certFile, 'server.crt'],
      [settings.tls.keyFile, 'server.key'],
    ]) {
      fs.copyFileSync(from, path.join(dir, to));
      fs.chmodSync(path.join(dir, to), 0o600);
      if (user) fs.chownSync(path.join(dir, to), user.uid, user.gid);
    }
    tlsOptions = ` -c ssl=on -c ssl_cert_file=${path.join(dir, 'server.crt')} -c ssl_key_file=${path.join(dir, 'server.key')}`;
  }
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=30${tlsOptions}`;
  const log = path.join(dir, 'log');
  // pg_ctl only says "Examine the log output": a failed start carries the log's last lines.
  const start = async () =>
    void (await pgCtl('-o', serverOptions, '-l', log, '-w', 'start').catch((error: Error) => {
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`${error.message}\n${tail}`);
    }));
  const stop = async () => void (await pgCtl('-m', 'fast', '-w', 'stop'));
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    async destroy() {
      await stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
