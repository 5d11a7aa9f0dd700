/**
 * One stack's runtime processes booted together on one fresh database: each answers /health/ready
 * with 200 (API) and a probe job sent through an API is taken by a worker (POST /api/sync/test, the
 * deploy smoke test). Also checks the stack's variables: none listed twice, none the runtime ignores.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ENVIRONMENTS, type EnvironmentName } from '@data-sync/config/environments';
import { startFakeN8n } from '@data-sync/n8n/fake-server';
import { type Db, openPostgres } from '@data-sync/pipelines/db';
import { createTokenStore } from '@data-sync/sync-runtime/src/store/tokens-repository';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { buildApp } from '../../../app';
import { type BootedProcess, type LocalServices, RUNTIME_READS, bootProcess, newEncryptionKey } from './boot';
import type { RuntimeProcess } from './runtime-process';

export { ENVIRONMENTS };

const synthesized = new Map<string, string>();

/** The folder of `data-sync-<cloud>-<environment>` in cdktf.out (the app synthesized once per environment). */
export function stackDirOf(cloud: string, environment: EnvironmentName): string {
  let outdir = synthesized.get(environment);
  if (!outdir) {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), `boot-cdktf-${environment}-`));
    buildApp({ context: { environment }, outdir }).app.synth();
    synthesized.set(environment, outdir);
  }
  return path.join(outdir, 'stacks', `data-sync-${cloud}-${environment}`);
}

/** The synthesized `cdk.tf.json` of `data-sync-<cloud>-<environment>`. */
export function stackOf(cloud: string, environment: EnvironmentName): any {
  return JSON.parse(fs.readFileSync(path.join(stackDirOf(cloud, environment), 'cdk.tf.json'), 'utf8'));
}

/** Each process lists every variable once, and every variable it sets is one the runtime reads. */
export function expectVariablesWired(processes: readonly RuntimeProcess[]): void {
  for (const p of processes) {
    const twice = p.listed.filter((name, i) => p.listed.indexOf(name) !== i);
    expect({ process: p.name, twice }).toEqual({ process: p.name, twice: [] });
    const unread = p.listed.filter((name) => !RUNTIME_READS.has(name));
    expect({ process: p.name, unread }).toEqual({ process: p.name, unread: [] });
  }
}

export interface StackBoot {
  readonly booted: readonly BootedProcess[];
  readonly local: LocalServices;
  /** An operator token for the stack's database. */
  readonly token: string;
}

/**
 * Boots `processes` (the first alone, so it applies the migrations), runs `check`, stops everything.
 * `queue` points the stack's queue variables at a local emulator. With `servingRole`, the stack's serving
 * role logs in as a role of its own, created here with no rights: it has only what the migration run grants.
 */
export async function withBootedStack(
  name: string,
  processes: readonly RuntimeProcess[],
  check: (boot: StackBoot) => Promise<void>,
  queue?: LocalServices['queue'],
  options: { readonly servingRole?: boolean } = {},
): Promise<void> {
  const scratch = scratchDatabase(`boot_${name.replace(/\W/g, '_')}`);
  await scratch.create();
  const serving = options.servingRole ? `${new URL(scratch.url).pathname.slice(1)}_app` : undefined;
  const servingUrl = serving ? await createLogin(serving, scratch.url) : undefined;
  const n8nApiKey = 'boot-test-n8n-key';
  const n8n = await startFakeN8n({ apiKey: n8nApiKey });
  const local: LocalServices = {
    databaseUrl: scratch.url,
    ...(servingUrl ? { servingUrl } : {}),
    n8nUrl: n8n.url,
    n8nApiKey,
    encryptionKey: newEncryptionKey(),
    ...(queue ? { queue } : {}),
  };
  const booted: BootedProcess[] = [];
  const db = openPostgres(scratch.url, { max: 2 });
  try {
    const [first, ...rest] = processes;
    booted.push(await bootProcess(first, local));
    booted.push(...(await Promise.all(rest.map((p) => bootProcess(p, local)))));
    const { token } = await createTokenStore(db).create('boot-test', 'operator');
    await check({ booted, local, token });
  } catch (error) {
    const outputs = booted.map((b) => `--- ${b.process.name}\n${b.output().slice(-3000)}`).join('\n');
    throw new Error(`${(error as Error).message}\n${outputs}`, { cause: error });
  } finally {
    await Promise.all(booted.map((b) => b.stop()));
    await db.close();
    await n8n.close();
    await scratch.drop();
    if (serving) await asAdmin((admin) => admin.exec(`DROP ROLE IF EXISTS ${serving}`));
  }
}

async function asAdmin<T>(use: (admin: Db) => Promise<T>): Promise<T> {
  const admin = openPostgres(TEST_DATABASE_URL, { max: 1 });
  try {
    return await use(admin);
  } finally {
    await admin.close();
  }
}

/** A login role `role` with no grants, and `databaseUrl` logging in as it (the local server trusts loopback). */
async function createLogin(role: string, databaseUrl: string): Promise<string> {
  await asAdmin(async (admin) => {
    await admin.exec(`DROP ROLE IF EXISTS ${role}`);
    await admin.exec(`CREATE ROLE ${role} LOGIN`);
  });
  const url = new URL(databaseUrl);
  url.username = role;
  return url.toString();
}

/** Every API answers /health/ready with 200, and a probe job through the first API is taken by a worker. */
export async function expectReadyAndJobTaken({ booted, token }: StackBoot): Promise<void> {
  const apis = booted.filter((b) => b.url);
  expect(apis.length).toBeGreaterThan(0);
  for (const api of apis) {
    const ready = await fetch(`${api.url}/health/ready`);
    expect({ process: api.process.name, status: ready.status, body: await ready.json() }).toMatchObject({
      process: api.process.name,
      status: 200,
    });
  }
  const probe = await fetch(`${apis[0].url}/api/sync/test`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  expect({ status: probe.status, body: await probe.json() }).toMatchObject({ status: 200, body: { ok: true } });
}

/** A local stand-in for a stack's event bus: the variables that point the processes at it, and its check. */
export interface LocalBus {
  /** Values of the stack's bus variables here, by name. */
  readonly variables: Readonly<Record<string, string>>;
  /** Variables the platform gives the processes besides the stack's (credentials). */
  readonly extra: Record<string, string>;
  /** Puts an event in the stack's outbox and resolves once the stand-in has it from a process. */
  expectEventDelivered(boot: StackBoot): Promise<void>;
  /** Where the processes push their metrics (IBM): resolves once every process's have arrived. @default none */
  expectMetricsArrived?(boot: StackBoot): Promise<void>;
  close(): Promise<void>;
}

/**
 * The boot test of a cloud whose jobs stay in the store's queue (GCP, OCI, IBM): for every environment,
 * its processes run its bundle, each API is ready and a worker takes a probe job; with `startBus`, the
 * processes publish to its stand-in and an outbox event reaches it.
 */
export function describeStoreQueueBoot(
  cloud: 'gcp' | 'oci' | 'ibm',
  processesOf: (stack: any) => RuntimeProcess[],
  startBus?: () => Promise<LocalBus>,
): void {
  describeWithService(
    `${cloud.toUpperCase()} runtime processes boot with what the stack gives them`,
    TEST_DATABASE_URL,
    () => {
      test.each(ENVIRONMENTS)(
        `%s: every process starts, each API is ready, and a worker takes a probe job${startBus ? '; an outbox event reaches the bus' : ''}`,
        async (environment) => {
          const processes = processesOf(stackOf(cloud, environment));
          expect(processes.length).toBeGreaterThan(0);
          expect(processes.map((p) => p.command)).toEqual(processes.map(() => ['node', `dist/runtime/${cloud}.js`]));
          expectVariablesWired(processes);
          const bus = await startBus?.();
          try {
            await withBootedStack(
              `${cloud}-${environment}`,
              processes,
              async (boot) => {
                await expectReadyAndJobTaken(boot);
                await bus?.expectEventDelivered(boot);
                await bus?.expectMetricsArrived?.(boot);
              },
              bus && { variables: bus.variables, extra: bus.extra },
            );
          } finally {
            await bus?.close();
          }
        },
        180_000,
      );
    },
  );
}
