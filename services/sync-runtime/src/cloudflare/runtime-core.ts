/**
 * The production Worker core: the runtime's own engine, integration store and job handlers (the same
 * assembleRuntime as every Node entry point), over PostgreSQL through the Hyperdrive binding (pg on Cloudflare sockets), with the JOBS queue as
 * the engine's queue; what the engine writes to the event outbox is published onto the event queues. One core per request or batch (workerd sockets cannot outlive their request;
 * Hyperdrive keeps the pooled connections to the database). Migrations run once per isolate, and an
 * advisory lock serialises isolates.
 */
import pino, { type Logger } from 'pino';
import { migrate, openPostgres, type Db } from '@data-sync/pipelines/db';
import { writeAudit } from '../store/audit-repository';
import { createOutboxRepository } from '../store/outbox-repository';
import { cloudflareEventQueues, createCloudflareQueueBus } from '../events/cloudflare';
import { eventSourceFromEnv } from '../events/open-bus';
import { createEventPublisher } from '../events/publisher';
import { REDACT_PATHS } from '../logger';
import type { DeadLetter, Job, NewJob, QueueBinding, QueueDepth } from '../queue/binding';
import { Keyring } from '../security/crypto';
import { assembleRuntime } from '../runtime/assemble';
import { MIGRATIONS } from '../store/migrations';
import { finishXAuthorization } from '../social/x-authorization-flow';
import { sendJob } from './env-core';
import type { WorkerCore, WorkerEnv } from './types';

const REDACTED_KEYS = new Set(
  REDACT_PATHS.map((p) =>
    p
      .split('.')
      .pop()!
      .replace(/^\["|"\]$/g, '')
      .toLowerCase(),
  ),
);

/** Drops every key the runtime's logger redacts, at any depth, before a line reaches the Workers log. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { type: value.name, message: value.message };
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !REDACTED_KEYS.has(k.toLowerCase()))
      .map(([k, v]) => [k, redact(v, depth + 1)]),
  );
}

function workerLogger(level: string): Logger {
  return pino({
    level,
    browser: { asObject: true, write: (entry: object) => console.log(JSON.stringify(redact(entry))) },
  });
}

const unavailable = (operation: string) =>
  new Error(
    `${operation} is not available on Cloudflare Queues from a Worker: messages are pushed to the consumer, and dead letters live in the dead-letter queue (see docs/runbooks/dead-letter-replay.md)`,
  );

/**
 * The engine's queue over the JOBS producer. Cloudflare pushes messages to the consumer (which acks,
 * retries and dead-letters them), so only enqueue exists here; the pull operations say so.
 */
export function jobsQueue(env: WorkerEnv): QueueBinding {
  return {
    name: 'cloudflare-queues',
    enqueue: (job: NewJob, options?: { delayMs?: number }) => sendJob(env, job, options?.delayMs),
    claim: async (): Promise<Job[]> => Promise.reject(unavailable('claim')),
    ack: async () => Promise.reject(unavailable('ack')),
    ackMany: async () => Promise.reject(unavailable('ackMany')),
    fail: async (): Promise<'retry' | 'dead'> => Promise.reject(unavailable('fail')),
    extend: async () => Promise.reject(unavailable('extend')),
    listDeadLetters: async (): Promise<DeadLetter[]> => Promise.reject(unavailable('listDeadLetters')),
    redrive: async (): Promise<number> => Promise.reject(unavailable('redrive')),
    depth: async (): Promise<QueueDepth> => Promise.reject(unavailable('depth')),
    close: async () => undefined,
  };
}

interface HyperdriveBinding {
  readonly connectionString: string;
}

let migrated: Promise<void> | null = null;

/** Builds the core from the bindings; throws naming the binding that is missing or wrong. */
export async function runtimeCore(env: WorkerEnv): Promise<WorkerCore> {
  const hyperdrive = env.HYPERDRIVE as HyperdriveBinding | undefined;
  if (!hyperdrive?.connectionString)
    throw new Error('the HYPERDRIVE binding (PostgreSQL through Hyperdrive) is missing');
  if (typeof env.DATA_SYNC_ENCRYPTION_KEY !== 'string' || !env.DATA_SYNC_ENCRYPTION_KEY)
    throw new Error('the DATA_SYNC_ENCRYPTION_KEY secret is missing');
  // Comma-separated when rotating, new key first: the same format as the Node runtime's variable.
  const keyring = Keyring.fromBase64(env.DATA_SYNC_ENCRYPTION_KEY.split(',').map((k) => k.trim()));
  const logger = workerLogger(typeof env.LOG_LEVEL === 'string' ? env.LOG_LEVEL : 'info');
  const db: Db = openPostgres(hyperdrive.connectionString, { max: 3 });
  try {
    migrated ??= migrate(db, MIGRATIONS).then(() => undefined);
    await migrated;
  } catch (error) {
    migrated = null;
    await db.close();
    throw error;
  }
  // Credential references resolve against the Worker's secrets (string bindings).
  const secrets = Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')) as NodeJS.ProcessEnv;
  const { integrations, engine, xAuthorizations } = assembleRuntime({
    db,
    queue: jobsQueue(env),
    keyring,
    logger,
    env: secrets,
  });
  return {
    async integration(name) {
      const found = await integrations.getByNameCached(name);
      // The config resolves when read: an unresolvable credential reference throws EnvRefError there.
      return (
        found && {
          name: found.name,
          system: found.system,
          enabled: found.enabled,
          webhookAllowlist: found.webhookAllowlist,
          get config() {
            return integrations.resolvedConfig(found);
          },
        }
      );
    },
    audit: (entry) => writeAudit(db, entry),
    trigger: (integration, { actor, full }) => engine.trigger(integration, { actor, full }),
    handle: (job) => engine.handle(job),
    // The container runtime's publisher over the same outbox: leases keep concurrent invocations from sending an event twice at once.
    publishEvents: () =>
      createEventPublisher({
        outbox: createOutboxRepository(db),
        bus: createCloudflareQueueBus(cloudflareEventQueues(env)),
        source: eventSourceFromEnv(
          env,
          typeof env.DATA_SYNC_ENVIRONMENT === 'string' ? env.DATA_SYNC_ENVIRONMENT : undefined,
        ),
        logger,
      }).drain(),
    finishXAuthorization: (query) =>
      finishXAuthorization(
        { store: xAuthorizations, integrations, audit: (entry) => writeAudit(db, entry), now: Date.now },
        query,
      ),
    close: () => db.close(),
  };
}
