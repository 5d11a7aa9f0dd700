/**
 * The runtime's entry point: API, worker and scheduler in one process (`all`, the `npm run dev` default
 * on PGlite + the in-store queue), or `api` / `worker` alone in production (DATA_SYNC_ROLE).
 */
import type { FastifyInstance } from 'fastify';
import IORedis from 'ioredis';
import type { Logger } from 'pino';
import { intervalMinutes } from '../../../config/integrations';
import { CONNECTORS } from '../../../integrations/registry';
import type { ConnectorModule } from '../../../integrations/connector';
import { createN8nClient } from '../../../n8n/client';
import { DataDirLockedError, migrate, openDb } from '../../../pipelines/db';
import { FieldCipher } from '../../../pipelines';
import { buildApi } from './api/app';
import { createIntegrationStore } from './api/integration-store';
import { createPipelineJobHandler, createWebhookJobHandler } from './api/jobs';
import { createPipelinesApi } from './api/pipelines-adapter';
import { ConfigError, RuntimeConfig, loadConfig } from './config';
import { createScheduler, createSyncEngine, createWorker, EngineMetrics, IntegrationSource } from './engine';
import { createErasureJobHandler, startRetention } from './engine/erasure';
import { createLogger } from './logger';
import { createMetrics, RuntimeMetrics } from './metrics';
import { openQueue } from './queue/open-queue';
import { startN8nProbe } from './n8n-probe';
import { startDemo } from './demo';
import { Keyring, loadDevKeyring } from './security/crypto';
import { createGoogleOidcVerifier } from './security/google-oidc';
import { createTokenStore } from './security/token-store';
import { MIGRATIONS } from './store/migrations';

export interface Runtime {
  readonly config: RuntimeConfig;
  /** The listening API (role api or all). */
  readonly app: FastifyInstance | null;
  /** http://host:port when the API listens. */
  readonly url: string | null;
  /** The admin token generated on this first start (shown once), else null. */
  readonly adminToken: string | null;
  stop(): Promise<void>;
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
  if (config.databaseUrl) throw new ConfigError('DATA_SYNC_ENCRYPTION_KEY', 'is required with DATABASE_URL (base64 of 32 bytes; `openssl rand -base64 32`)');
  const { keyring, created, file } = loadDevKeyring(config.dataDir);
  if (created) logger.warn({ file }, 'generated a development encryption key; set DATA_SYNC_ENCRYPTION_KEY in production');
  return keyring;
}

export async function start(options: { env?: NodeJS.ProcessEnv; logger?: Logger; print?: (line: string) => void } = {}): Promise<Runtime> {
  const config = loadConfig(options.env ?? process.env);
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  const print = options.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const closers: (() => Promise<unknown>)[] = [() => db.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((error) => logger.error({ err: error }, 'shutdown step failed'));
  };
  try {
    const applied = await migrate(db, MIGRATIONS);
    if (applied.length) logger.info({ applied }, 'migrations applied');
    const keyring = loadKeyring(config, logger);
    const queue = openQueue(config, db);
    closers.push(() => queue.close());
    const metrics = createMetrics();
    metrics.m.up.set({ role: config.role }, 1);
    const connectors: Readonly<Record<string, ConnectorModule>> = CONNECTORS;
    const integrations = createIntegrationStore(db, keyring);
    const tokens = createTokenStore(db);
    const n8n = config.n8nUrl ? createN8nClient({ baseUrl: config.n8nUrl, apiKey: config.n8nApiKey! }) : null;
    const pipelines = createPipelinesApi({ cipher: new FieldCipher(keyring.primaryKey) });
    if (n8n) {
      const probe = startN8nProbe({ ping: () => n8n.ping(), gauge: metrics.m.n8nUp, logger });
      closers.push(async () => probe.stop());
    }

    const engine = createSyncEngine({ db, queue, integrations: integrations.source, connectors: (system) => connectors[system], logger, metrics: engineMetrics(metrics) });
    engine.registerHandler('webhook', createWebhookJobHandler({ db, engine, logger }));
    engine.registerHandler('pipeline', createPipelineJobHandler({ db, pipelines, logger }));
    engine.registerHandler('erasure', createErasureJobHandler({ db, integrations: integrations.source, connectors: (system) => connectors[system], logger }));

    let app: FastifyInstance | null = null;
    let url: string | null = null;
    let adminToken: string | null = null;
    if (config.role !== 'worker') {
      // With Redis configured, every API instance counts against the same inbound limits.
      const rateLimitRedis = config.redisUrl ? new IORedis(config.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false }) : undefined;
      if (rateLimitRedis) closers.push(() => rateLimitRedis.quit());
      app = await buildApi({ db, queue, engine, connectors, integrations, tokens, metrics, n8n, pipelines, logger, rateLimitPerMinute: config.rateLimitPerMinute, webhookRateLimitPerMinute: config.webhookRateLimitPerMinute, rateLimitRedis, role: config.role, slot: config.slot, trustProxy: config.trustProxy,
        pubsubPush: config.pubsubPush ? { verifier: createGoogleOidcVerifier(config.pubsubPush), handle: (job) => engine.handle(job) } : null, complianceWebhookSecret: config.complianceWebhookSecret });
      const listening = app;
      closers.push(() => listening.close());
      const address = await app.listen({ port: config.port, host: config.host });
      url = address;
      adminToken = await tokens.bootstrapAdmin();
      print(`Data Sync Service listening on ${url} (API docs: ${url}/docs)`);
      if (adminToken) print(`First start: admin API token (shown once, only its hash is stored):\n  ${adminToken}`);
    }
    if (config.role !== 'api') {
      const worker = createWorker({ queue, engine, concurrency: config.workerConcurrency, logger, metrics: engineMetrics(metrics) });
      // The scheduler reads each integration's interval from the list it has just loaded.
      const intervals = new Map<string, number>();
      const source: IntegrationSource = {
        get: (name) => integrations.source.get(name),
        async list() {
          const all = (await integrations.list()).filter((i) => i.enabled);
          intervals.clear();
          for (const i of all) intervals.set(i.name, intervalMinutes(i.syncInterval));
          return all.map(integrations.toSource);
        },
      };
      const scheduler = createScheduler({ db, engine, integrations: source, intervals: (name) => intervals.get(name), logger });
      worker.start();
      scheduler.start();
      // Reverse order on close: the scheduler stops first, then in-flight jobs finish or are released.
      closers.push(() => worker.stop(config.shutdownMs));
      closers.push(async () => scheduler.stop());
      const retention = startRetention({ db, logger });
      closers.push(async () => retention.stop());
      logger.info({ queue: queue.name, concurrency: config.workerConcurrency }, 'worker and scheduler started');
    }
    if (config.demo) {
      const demo = await startDemo({ integrations, engine, print });
      closers.push(() => demo.close());
    }
    return { config, app, url, adminToken, stop: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Runs the process: clear messages for bad configuration and a PGlite directory in use; SIGTERM drains. */
async function run(): Promise<void> {
  let runtime: Runtime;
  try {
    runtime = await start();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof DataDirLockedError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: start-up failed: ${(error as Error).stack ?? error}\n`);
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: shutting down (in-flight jobs get ${runtime.config.shutdownMs} ms)\n`);
    runtime.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) void run();
