/**
 * Boots a stack's runtime process as its platform would: the image's files (assembled from the
 * Dockerfile), the container's command, the environment the stack gives it with each secret the
 * platform injects given a test value, and the database, queue and n8n endpoints pointed at local
 * services. HOST and PORT are the only other overrides (several processes share loopback here).
 */
import { type ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CONFIG_VARIABLES, SECRET_FILE_VARIABLES } from '@data-sync/sync-runtime/src/config';
import { EVENT_BUS_VARIABLES } from '@data-sync/sync-runtime/src/events/open-bus';
import { CLOUD_QUEUE_VARIABLES } from '@data-sync/sync-runtime/src/queue/cloud-bindings';
import { AWS_SECRET_VARIABLES } from '@data-sync/sync-runtime/src/security/aws-secrets';
import { REFERABLE_VARIABLES } from '@data-sync/sync-runtime/src/security/env-refs';
import { RUNTIME_ROLE } from '../../../constructs/database/roles';
import { assembleImage, envOf, readDockerfile } from '../../support/runtime-image';
import type { RuntimeProcess } from './runtime-process';

/** Where the processes of one stack find their dependencies here. */
export interface LocalServices {
  /** The database as its owner (the owner role's DATABASE_MIGRATION_URL; every URL without servingUrl). */
  readonly databaseUrl: string;
  /** The same database as a login with no rights of its own, for the stacks' serving role (RUNTIME_ROLE). */
  readonly servingUrl?: string;
  readonly n8nUrl: string;
  readonly n8nApiKey: string;
  readonly encryptionKey: string;
  /** Queue URLs by the stack's variable (the SQS binding's), and extra variables (its endpoint). */
  readonly queue?: { readonly variables: Readonly<Record<string, string>>; readonly extra: Record<string, string> };
}

/**
 * Every variable a runtime bundle reads: its configuration, secret files, AWS secret ARNs, the cloud
 * queue bindings' and event buses', integration credentials (and their files), and what libraries it loads read.
 */
export const RUNTIME_READS: ReadonlySet<string> = new Set([
  ...CONFIG_VARIABLES,
  ...SECRET_FILE_VARIABLES.map((name) => `${name}_FILE`),
  ...AWS_SECRET_VARIABLES,
  ...Object.values(CLOUD_QUEUE_VARIABLES).flat(),
  ...EVENT_BUS_VARIABLES,
  ...REFERABLE_VARIABLES,
  ...[...REFERABLE_VARIABLES].map((name) => `${name}_FILE`),
  // pg reads the password and the pgpass file itself; the AWS SDK reads its endpoint override; Node reads
  // the extra CA certificates it trusts (the Lambda's Amazon CA bundle, RDS's roots among them).
  'NODE_EXTRA_CA_CERTS',
  'PGUSER',
  'PGPASSWORD',
  'PGPASSFILE',
  'HOST',
  'PORT',
  'NODE_ENV',
]);

/** A test value for a secret variable (the platform would read it from its secret manager). */
export function testSecret(name: string, local: LocalServices): string {
  // The serving and the owner role are one login here: the migration runs, the grant is skipped.
  if (name === 'DATABASE_URL' || name === 'DATABASE_MIGRATION_URL') return local.databaseUrl;
  // The user the local server knows (the URL's, or the one pg defaults to).
  if (name === 'PGUSER') return decodeURIComponent(new URL(local.databaseUrl).username) || os.userInfo().username;
  if (name === 'DATA_SYNC_ENCRYPTION_KEY') return local.encryptionKey;
  if (name === 'N8N_API_KEY') return local.n8nApiKey;
  // The local server trusts loopback connections: any password is accepted.
  if (name === 'PGPASSWORD' || name === 'DATABASE_PASSWORD') return 'boot-test-password';
  return `boot-test-${name.toLowerCase().replace(/_/g, '-')}`;
}

/**
 * A deployment-time value for a Terraform reference the runtime only passes on (ids, names, ARNs),
 * distinct per reference so two secrets never share one.
 */
const placeholder = (reference: string): string => {
  if (/client_id$/.test(reference)) return '00000000-0000-4000-8000-000000000000';
  if (/^var\.gcp_project$/.test(reference)) return 'boot-test-project';
  if (/^azurerm_servicebus_namespace\.\w+\.endpoint$/.test(reference))
    return 'https://boot-test-namespace.servicebus.windows.net:443/';
  const name = reference.replace(/[^A-Za-z0-9-]+/g, '-');
  if (/(\.arn|secret_arn)$/.test(reference)) return `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}`;
  return `boot-test-${name}`;
};

/** A reference, or the string functions the stacks wrap references in (trimprefix, trimsuffix). */
function evaluate(expression: string): string {
  const call = /^(trimprefix|trimsuffix)\((.*),\s*"([^"]*)"\)$/.exec(expression.trim());
  if (!call) return placeholder(expression.trim());
  const [, fn, inner, affix] = call;
  const value = evaluate(inner);
  if (fn === 'trimprefix') return value.startsWith(affix) ? value.slice(affix.length) : value;
  return value.endsWith(affix) ? value.slice(0, value.length - affix.length) : value;
}

/** The value `name` takes here: local endpoints for the store, queue and n8n; references resolved. */
export function localValue(name: string, value: string, local: LocalServices): string {
  // The serving role gets only what the owner's migration run grants it.
  if (name === 'DATABASE_URL' && local.servingUrl && value.startsWith(`postgres://${RUNTIME_ROLE}@`))
    return local.servingUrl;
  if (name === 'DATABASE_URL' || name === 'DATABASE_MIGRATION_URL') return local.databaseUrl;
  // The local server has no TLS, and DATABASE_CA makes the runtime verify-full: empty reads as unset. The
  // stacks' verification is the policy's (common/db-tls-verified) and store/database-tls.integration.test.ts's.
  if (name === 'DATABASE_CA') return '';
  // The user the local server knows (the URL's, or the one pg defaults to).
  if (name === 'PGUSER') return decodeURIComponent(new URL(local.databaseUrl).username) || os.userInfo().username;
  if (name === 'N8N_URL') return local.n8nUrl;
  const queueUrl = local.queue?.variables[name];
  if (queueUrl) return queueUrl;
  return value.replace(/\$\{([^}]+)\}/g, (_, expression: string) => evaluate(expression));
}

export interface BootedProcess {
  readonly process: RuntimeProcess;
  /** The API's URL when the process serves one (role api or all). */
  readonly url: string | null;
  readonly env: Readonly<Record<string, string>>;
  output(): string;
  stop(): Promise<void>;
}

let image: { dir: string; appDir: string; env: Record<string, string> } | undefined;

/** The image's file system, assembled once per test file from the Dockerfile and dist/runtime. */
export function runtimeImage() {
  if (!image) {
    const stages = readDockerfile();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boot-image-'));
    image = { dir, appDir: assembleImage(path.join(dir, 'fs'), stages), env: envOf(stages[stages.length - 1]) };
  }
  return image;
}

/** Starts `process`; resolves once it listens (API) or its worker started, rejects with its output if it exits. */
export async function bootProcess(process_: RuntimeProcess, local: LocalServices): Promise<BootedProcess> {
  const { appDir, env: imageEnv, dir } = runtimeImage();
  const secretsDir = fs.mkdtempSync(path.join(dir, 'secrets-'));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...imageEnv };
  for (const [name, value] of Object.entries(process_.env)) env[name] = localValue(name, value, local);
  for (const name of Object.keys(process_.secrets)) env[name] = testSecret(name, local);
  // A secrets sidecar's files, written where the app's variables point (here under a temporary folder).
  for (const file of Object.keys(process_.files ?? {})) {
    const base = path.basename(file);
    const local_ = path.join(secretsDir, base);
    const database = new URL(local.databaseUrl);
    const content =
      base === 'pgpass'
        ? `${database.hostname}:${database.port || 5432}:*:${decodeURIComponent(database.username || 'postgres')}:boot-test-password\n`
        : testSecret(base, local);
    fs.writeFileSync(local_, content, { mode: 0o600 });
  }
  for (const [name, value] of Object.entries(env))
    if (value.startsWith('/secrets/')) env[name] = path.join(secretsDir, path.basename(value));
  Object.assign(env, local.queue?.extra ?? {}, { HOST: '127.0.0.1', PORT: '0', DATA_SYNC_DATA_DIR: secretsDir });
  const [command, ...args] = process_.command;
  const child: ChildProcess = spawn(command === 'node' ? process.execPath : command, args, {
    cwd: appDir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // A worker serves no HTTP and may log nothing at the stack's level: the probe job shows it works.
  const serves = env.DATA_SYNC_ROLE !== 'worker';
  const url = await new Promise<string | null>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      const listening = /listening on (http:\/\/\S+) /.exec(output);
      if (listening) resolve(listening[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${process_.name} exited with ${code}:\n${output}`)));
    if (!serves) resolve(null);
  });
  child.removeAllListeners('exit');
  return {
    process: process_,
    url,
    env,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A fresh test encryption key. */
export const newEncryptionKey = () => randomBytes(32).toString('base64');
