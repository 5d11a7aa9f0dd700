/**
 * The built runtime bundle (dist/runtime/main.js, which jest's global setup builds) as a child process, the
 * way a container runs it: the fault suite kills it, restarts it, and reads its JSON log lines.
 */
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../../..');
const BUNDLE = path.join(ROOT, 'dist', 'runtime', 'main.js');

/** The admin token every fault-suite runtime takes from its environment (DATA_SYNC_ADMIN_TOKEN). */
export const FAULT_ADMIN_TOKEN = 'dst_fault-suite-admin-token-0123456789';

export interface RuntimeChild {
  readonly url: string;
  readonly pid: number;
  /** Every JSON log line so far, parsed. */
  readonly logs: readonly Record<string, unknown>[];
  /** Resolves with the first log line (already written or still to come) `match` accepts. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Rejects with the exit status and stderr if the process exits without kill(): a test races its waits against it. */
  readonly crashed: Promise<never>;
  /** Sends `signal` and resolves once the process exited (a SIGTERM left unanswered for 15 s becomes a SIGKILL). */
  kill(signal: NodeJS.Signals): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kills every runtime still running: a failed test must not leave one behind. */
export async function killAllRuntimes(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** Starts the bundle with `env` over the suite's defaults; resolves once the API listens. */
export function startRuntime(env: Record<string, string>): Promise<RuntimeChild> {
  const child = spawn(process.execPath, [BUNDLE], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      PORT: '0',
      LOG_LEVEL: 'info',
      DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
      DATA_SYNC_ADMIN_TOKEN: FAULT_ADMIN_TOKEN,
      // The vendor fakes listen on loopback.
      DATA_SYNC_ALLOW_LOCAL_VENDORS: 'true',
      // The suite polls and floods from one address: the inbound limits are not under test here.
      DATA_SYNC_RATE_LIMIT: '1000000',
      DATA_SYNC_WEBHOOK_RATE_LIMIT: '100000000',
      DATA_SYNC_SHUTDOWN_MS: '2000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let killing = false;
  let onCrash: (error: Error) => void = () => undefined;
  const crashed = new Promise<never>((_, reject) => (onCrash = reject));
  // Only a test that races against it observes the rejection.
  crashed.catch(() => undefined);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      if (!killing) onCrash(new Error(`the runtime exited unasked (${code ?? signal}): ${stderr.slice(-4000)}`));
      resolve();
    }),
  );
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<{
    match: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }>();
  let pending = '';
  let stderr = '';
  let url: string | undefined;
  let onListening: ((url: string) => void) | undefined;
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  child.stdout!.on('data', (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const text of lines) {
      const listening = /listening on (http:\/\/\S+) /.exec(text);
      if (listening) {
        url = listening[1];
        onListening?.(url);
      }
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      logs.push(line);
      for (const waiter of waiters)
        if (waiter.match(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
    }
  });
  const handle: Omit<RuntimeChild, 'url'> = {
    pid: child.pid!,
    logs,
    crashed,
    waitForLog(match, timeoutMs = 60_000) {
      const found = logs.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no such log line within ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        const waiter = {
          match,
          resolve: (line: Record<string, unknown>) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        waiters.add(waiter);
      });
    },
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killing = true;
      const fallback = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.kill(signal);
      await exited;
      clearTimeout(fallback);
    },
  };
  return new Promise((resolve, reject) => {
    onListening = (listeningUrl) => resolve({ ...handle, url: listeningUrl });
    if (url) onListening(url);
    void exited.then(() => reject(new Error(`the runtime exited before listening: ${stderr}`)));
  });
}
