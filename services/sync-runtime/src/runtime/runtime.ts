/**
 * createRuntime(config): what every Node entry point (main.ts, lambda.ts, the API test harness) needs
 * from the runtime configuration: the database (given or opened) with its migrations applied (or checked), the
 * keyring, the queue, the metrics, and the parts assembleRuntime wires with every job handler. The
 * Workers core assembles the same parts over its own bindings (cloudflare/runtime-core.ts).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ConnectorModule } from '@data-sync/integrations/connector';
import { RedisWindowBudget } from '@data-sync/integrations/http/redis-token-bucket';
import { type Db, migrate, openDb, openPostgres, pendingMigrations } from '@data-sync/pipelines/db';
import { ConfigError, type RuntimeConfig } from '../config';
import type { EngineMetrics } from '../engine';
import { createMetrics, type RuntimeMetrics } from '../metrics';
import type { QueueBinding } from '../queue/binding';
import { openQueue, type QueueOpeners } from '../queue/open-queue';
import { storeQueue } from '../queue/openers/store';
import { Keyring, loadDevKeyring } from '../security/crypto';
import { createVendorFetch } from '../security/vendor-fetch';
import { MIGRATIONS } from '../store/migrations';
import { currentRole, grantRuntimeRole } from '../store/database-roles';
import { withDatabaseCa } from '../store/database-ca';
import { createOutboxRepository } from '../store/outbox-repository';
import type { EventBus } from '../events/bus';
import { openEventBus } from '../events/open-bus';
import { BASE_EVENT_BUSES, type EventBusOpeners } from '../events/openers';
import { createEventPublisher, type EventPublisher } from '../events/publisher';
import { type AssembledRuntime, assembleRuntime } from './assemble';
import { openRedisClient } from './redis-client';

export interface RuntimeOptions {
  /** Where every part logs. */
  readonly logger: Logger;
  /** An open database, which close() leaves open. @default opened from config.databaseUrl (else PGlite in config.dataDir) and closed by close() */
  readonly db?: Db;
  /** The keyring. @default loadKeyring(config, logger) */
  readonly keyring?: Keyring;
  /** Opens the queue over the database; close() closes it. @default openQueue(config, db, queues) */
  readonly queue?: (db: Db) => QueueBinding;
  /** The queue bindings this entry point carries (DATA_SYNC_QUEUE picks one). @default the store's only */
  readonly queues?: QueueOpeners;
  /** What credential references resolve against. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Connector modules by system. @default CONNECTORS */
  readonly connectors?: Readonly<Record<string, ConnectorModule>>;
  /** The prom-client instruments. @default createMetrics() */
  readonly metrics?: RuntimeMetrics;
  /** Where the outbox's events go. @default openEventBus(config.events, eventBuses) */
  readonly eventBus?: EventBus;
  /** The event buses this entry point carries (DATA_SYNC_EVENTS picks one). @default in-process and webhook */
  readonly eventBuses?: EventBusOpeners;
}

export interface SyncRuntime extends AssembledRuntime {
  readonly config: RuntimeConfig;
  readonly db: Db;
  readonly keyring: Keyring;
  readonly queue: QueueBinding;
  readonly metrics: RuntimeMetrics;
  readonly logger: Logger;
  /** The event bus and the outbox publisher draining onto it (started by the worker role, main.ts). */
  readonly events: { readonly bus: EventBus; readonly publisher: EventPublisher };
  /** Migrations this start applied (empty when the schema was current). */
  readonly applied: readonly string[];
  /** Closes the queue, then the database when createRuntime opened it. */
  close(): Promise<void>;
}

/** The engine's metrics interface over the prom-client instruments. */
export function engineMetrics(metrics: RuntimeMetrics): EngineMetrics {
  const { m } = metrics;
  return {
    inc: (metric, labels, value = 1) => m[metric].inc({ ...labels }, value),
    observe: (metric, labels, value) => m[metric].observe({ ...labels }, value),
    set: (metric, labels, value) => m[metric].set({ ...labels }, value),
  };
}

/** The keyring: DATA_SYNC_ENCRYPTION_KEY, or in development (PGlite) a key file generated in the data directory. */
export function loadKeyring(config: RuntimeConfig, logger: Logger): Keyring {
  if (config.encryptionKeys) return Keyring.fromBase64(config.encryptionKeys);
  if (config.databaseUrl)
    throw new ConfigError(
      'DATA_SYNC_ENCRYPTION_KEY',
      'is required with DATABASE_URL (base64 of 32 bytes; `openssl rand -base64 32`)',
    );
  const { keyring, created, file } = loadDevKeyring(config.dataDir);
  if (created)
    logger.warn({ file }, 'generated a development encryption key; set DATA_SYNC_ENCRYPTION_KEY in production');
  return keyring;
}

/** A start refused because the schema lacks migrations this bundle carries, which this process may not apply. */
export class SchemaNotMigratedError extends Error {
  constructor(readonly missing: readonly string[]) {
    super(
      `the database schema lacks ${missing.length} migration(s) this bundle carries: ${missing.join(', ')}. ` +
        'This process has no migration rights (DATA_SYNC_MIGRATIONS=check); the process given DATABASE_MIGRATION_URL ' +
        '(on AWS the ECS API) applies them at its start, after which this one starts',
    );
    this.name = 'SchemaNotMigratedError';
  }
}

/**
 * Applies the migrations: as the owner role when DATABASE_MIGRATION_URL is set, then granting the serving role
 * (DATABASE_URL's) DML only; otherwise over the serving connection itself. With DATA_SYNC_MIGRATIONS=check it
 * applies none and refuses a schema that lacks any (serving on an older schema would fail job by job).
 */
async function migrateAsOwner(config: RuntimeConfig, db: Db): Promise<string[]> {
  if (config.migrations === 'check') {
    const missing = await pendingMigrations(db, MIGRATIONS);
    if (missing.length) throw new SchemaNotMigratedError(missing);
    return [];
  }
  if (!config.databaseMigrationUrl) return migrate(db, MIGRATIONS);
  const ownerUrl = config.databaseCa
    ? withDatabaseCa(config.databaseMigrationUrl, config.databaseCa)
    : config.databaseMigrationUrl;
  const owner = openPostgres(ownerUrl, { max: 1 });
  try {
    const applied = await migrate(owner, MIGRATIONS);
    const [ownerRole, runtimeRole] = [await currentRole(owner), await currentRole(db)];
    if (ownerRole !== runtimeRole) await grantRuntimeRole(owner, runtimeRole);
    return applied;
  } finally {
    await owner.close();
  }
}

/** Opens (or takes) the database, migrates (or checks) it, and wires every part; on failure closes what it opened. */
export async function createRuntime(config: RuntimeConfig, options: RuntimeOptions): Promise<SyncRuntime> {
  const { logger } = options;
  const databaseUrl =
    config.databaseUrl && config.databaseCa
      ? withDatabaseCa(config.databaseUrl, config.databaseCa)
      : config.databaseUrl;
  const db = options.db ?? (await openDb({ databaseUrl, dataDir: config.dataDir }));
  const closeDb = options.db ? async () => undefined : () => db.close();
  let queue: QueueBinding | undefined;
  let budgetRedis: Redis | undefined;
  try {
    const applied = await migrateAsOwner(config, db);
    if (applied.length) logger.info({ applied }, 'migrations applied');
    const keyring = options.keyring ?? loadKeyring(config, logger);
    const metrics = options.metrics ?? createMetrics();
    const opened = (queue = options.queue
      ? options.queue(db)
      : await openQueue(config, db, options.queues ?? { store: storeQueue }));
    // A binding that cannot keep its promises (a Redis without persistence) stops the start here, with its reason.
    await opened.ready?.();
    if (config.allowLocalVendors)
      logger.warn(
        'DATA_SYNC_ALLOW_LOCAL_VENDORS is on: integrations may call loopback and private addresses (vendor fakes only)',
      );
    // With Redis configured, every process draws on one budget per vendor endpoint (the keys expire by themselves).
    const redis = (budgetRedis = config.redisUrl
      ? await openRedisClient(config.redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 2000 })
      : undefined);
    const parts = assembleRuntime({
      budget: redis && ((key, windows) => new RedisWindowBudget(redis, `ratelimit:${key}`, windows)),
      db,
      queue: opened,
      keyring,
      logger,
      env: options.env,
      allowLocalVendors: config.allowLocalVendors,
      // Every vendor call is checked against the system's hosts and its resolved address as the socket connects.
      vendorFetch: (system) => createVendorFetch({ system, allowLocal: config.allowLocalVendors }),
      connectors: options.connectors,
      engineMetrics: engineMetrics(metrics),
    });
    const bus = options.eventBus ?? openEventBus(config.events, options.eventBuses ?? BASE_EVENT_BUSES);
    const publisher = createEventPublisher({
      outbox: createOutboxRepository(db),
      bus,
      source: config.events.source,
      leaseMs: config.events.leaseMs,
      logger,
    });
    return {
      ...parts,
      config,
      db,
      keyring,
      queue: opened,
      metrics,
      logger,
      applied,
      events: { bus, publisher },
      async close() {
        try {
          await publisher.stop();
          await bus.close();
          await opened.close();
          await redis?.quit();
        } finally {
          await closeDb();
        }
      },
    };
  } catch (error) {
    await queue?.close().catch(() => undefined);
    budgetRedis?.disconnect();
    await closeDb();
    throw error;
  }
}
