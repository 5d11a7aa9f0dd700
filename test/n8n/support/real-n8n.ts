/**
 * A real n8n for the test tier: the pinned version installed into a cache folder on first use
 * (scripts/install-n8n.js), run with its own Node 24 from that cache, offline and on loopback only.
 * `runN8n` starts exactly the command and environment a deployment gives the container.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { N8N_VERSION } from '../../../constructs/shared/n8n-image';

const { installN8n } = require('../../../scripts/install-n8n.js') as {
  installN8n(version: string): { node: string; n8nBin: string; nodeDir: string };
};

/** The pinned n8n, installed when missing (about 7 minutes from empty, then instant). */
export function ensureN8n(): { binDirs: string[]; cacheDir: string } {
  const paths = installN8n(N8N_VERSION);
  const cacheDir = path.resolve(paths.n8nBin, '..', '..', '..', '..');
  return { binDirs: [path.dirname(paths.node), path.join(cacheDir, 'node_modules', '.bin')], cacheDir };
}

/** Settings that keep n8n from calling home (measured: with these it opens no outgoing connection). */
export const OFFLINE_ENV = {
  N8N_LISTEN_ADDRESS: '127.0.0.1',
  N8N_DIAGNOSTICS_ENABLED: 'false',
  N8N_TEMPLATES_ENABLED: 'false',
  N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
  N8N_DISABLED_MODULES: 'mcp-registry',
} as const;

/** Whether `port` can be bound on loopback now. */
function bindable(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free loopback port below the kernel's ephemeral range (32768-60999 here). n8n binds its port about
 * 100 s after it is chosen; a port from the ephemeral range could meanwhile be handed to another test's
 * `listen(0)`, whose answers the readiness probe would then take for n8n's.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await bindable(port)) return port;
  }
  throw new Error('no free loopback port between 20000 and 32000');
}

export interface RunningN8n {
  readonly url: string;
  readonly process: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** The environment n8n's processes get: `env`, with the cached Node and n8n first on PATH. */
export function n8nEnvironment(binDirs: readonly string[], env: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  return { HOME: os.tmpdir(), ...env, PATH: [...binDirs, process.env.PATH].join(path.delimiter) };
}

/**
 * Starts `command` (the container's command: `node -e <start step> start`, `n8n worker`, `n8n webhook`)
 * and resolves once `probe` (a published webhook) refuses a request without its credential: n8n's
 * readiness turns 200 a moment before production webhooks are registered. A worker serves no webhooks:
 * give `readiness` (the port of its health server) to wait for its /healthz/readiness (database and
 * Redis connected) instead. Rejects with n8n's output if it exits first.
 */
export async function runN8n(options: {
  command: readonly string[];
  env: NodeJS.ProcessEnv;
  port: number;
  probe: string;
  timeoutMs: number;
  readiness?: { port: number };
}): Promise<RunningN8n> {
  const [file, ...args] = options.command;
  const child = spawn(file, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  // Also kept in a file, to read what n8n said after a failed run.
  const logFile = path.join(os.tmpdir(), `n8n-${options.port}.log`);
  const collect = (c: Buffer) => {
    output += c.toString('utf8');
    fs.appendFileSync(logFile, c);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${options.port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + options.timeoutMs;
  let ready = false;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  while (!ready && exitCode === undefined && Date.now() < deadline) {
    const probe = options.readiness
      ? fetch(`http://127.0.0.1:${options.readiness.port}/healthz/readiness`)
      : fetch(`${url}/webhook/${options.probe}`, { method: 'POST' });
    const status = await probe.then(
      (r) => r.status,
      () => 0,
    );
    // Ready once the probe webhook is registered and refuses a request without its credential: while n8n is
    // starting it answers 503 ("starting up") and 404 until its workflows are activated, and the requests
    // that followed then met unregistered webhooks and an unmounted owner route (404).
    ready = options.readiness ? status === 200 : status === 401 || status === 403;
    if (!ready) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (!ready) {
    await stop();
    throw new Error(
      `n8n did not get ready on ${options.readiness ? '/healthz/readiness' : `/webhook/${options.probe}`} (${exitCode === undefined ? 'timed out' : `exited ${exitCode}`}):\n${output.slice(-4000)}`,
    );
  }
  return { url, process: child, output: () => output, stop };
}

/**
 * Runs one n8n CLI command to completion with the same environment; rejects with its output on failure.
 * Asynchronous: the fakes it calls live in this process's event loop.
 */
export function n8nCli(binDirs: readonly string[], env: NodeJS.ProcessEnv, args: readonly string[]): Promise<string> {
  const child = spawn('n8n', args, {
    env: { ...env, PATH: [...binDirs, env.PATH].join(path.delimiter) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString('utf8')));
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`n8n ${args.join(' ')} failed (${code ?? signal}):\n${output.slice(-4000)}`)),
    );
  });
}

/** A bcrypt hash with n8n's own bcrypt library, as an operator would make N8N_INSTANCE_OWNER_PASSWORD_HASH. */
export function bcryptHash(cacheDir: string, password: string): string {
  const bcrypt = require(path.join(cacheDir, 'node_modules', 'bcryptjs')) as {
    hashSync(p: string, rounds: number): string;
  };
  return bcrypt.hashSync(password, 10);
}

/** A public API key, made the way an operator would from a script: owner login, then POST /rest/api-keys. */
export async function createApiKey(url: string, email: string, password: string): Promise<string> {
  const browserId = 'data-sync-test';
  const login = await fetch(`${url}/rest/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'browser-id': browserId },
    body: JSON.stringify({ emailOrLdapLoginId: email, password }),
  });
  if (login.status !== 200) throw new Error(`n8n login answered ${login.status}: ${await login.text()}`);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0];
  const headers = { cookie, 'browser-id': browserId, 'content-type': 'application/json' };
  const scopes = ((await (await fetch(`${url}/rest/api-keys/scopes`, { headers })).json()) as { data: string[] }).data;
  // Labels are unique per user.
  const created = await fetch(`${url}/rest/api-keys`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ label: `data-sync test ${Date.now()}-${Math.random()}`, scopes, expiresAt: null }),
  });
  if (created.status !== 200)
    throw new Error(`n8n API key creation answered ${created.status}: ${await created.text()}`);
  return ((await created.json()) as { data: { rawApiKey: string } }).data.rawApiKey;
}

export const tempDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
