/**
 * A Redis server of a test's own (redis-server on a free loopback port and a temporary directory), which the
 * test may pause (SIGSTOP: the socket stays open and nothing answers, as a half-open connection), stop and
 * start again: outages without touching the shared test Redis.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { servicesRequired } from '@data-sync/test-services';

/** The server binary; override with REDIS_SERVER. */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/** Whether a private Redis can be started; under REQUIRE_SERVICES=1 a missing redis-server fails instead of skipping. */
export function privateRedisAvailable(): boolean {
  if (spawnSync(REDIS_SERVER, ['--version']).status === 0) return true;
  if (servicesRequired) throw new Error(`no ${REDIS_SERVER} to start a private Redis (REQUIRE_SERVICES=1)`);
  return false;
}

export interface PrivateRedis {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** SIGSTOP: connections stay open, commands wait unanswered. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** A clean shutdown (SIGTERM: the append-only file is flushed), resolved once the process exited. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and directory (it reloads its append-only file). */
  start(): Promise<void>;
  /** Kills it and removes its directory. */
  destroy(): Promise<void>;
}

export interface PrivateRedisOptions {
  /** 'aof': appendonly yes with an fsync per write; 'none': nothing on disk (save '' and appendonly no). */
  readonly persistence: 'aof' | 'none';
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

export async function startPrivateRedis(label: string, options: PrivateRedisOptions): Promise<PrivateRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `redis-${label}-`));
  const port = await freePort();
  // appendfsync always: a 202 answered after the write is on disk even if the server is cut right after.
  const persistence =
    options.persistence === 'aof' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence];
  let child: ChildProcess | undefined;

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const server = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = server;
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk;
        if (output.includes('Ready to accept connections')) {
          server.stdout!.off('data', onData);
          server.stdout!.resume();
          resolve();
        }
      };
      server.stdout!.on('data', onData);
      server.stderr!.on('data', (chunk) => (output += chunk));
      server.once('exit', (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}): ${output}`)));
    });

  const stopWith = (signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      const server = child;
      if (!server || server.exitCode !== null || server.signalCode !== null) return resolve();
      server.once('exit', () => resolve());
      // A paused server takes no SIGTERM until it runs again.
      server.kill('SIGCONT');
      server.kill(signal);
    });

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    stop: () => stopWith('SIGTERM'),
    start,
    async destroy() {
      await stopWith('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
