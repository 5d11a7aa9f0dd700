/**
 * The runtime process every container bundle runs: API, worker and scheduler in one process (`all`,
 * the `npm run dev` default on PGlite + the in-store queue), or `api` / `worker` alone in production
 * (DATA_SYNC_ROLE). The entry points (main.ts, bundles/<cloud>.ts) say which queue bindings it carries.
 */
import * as os from 'os';
import type { FastifyInstance } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { intervalMinutes } from '@data-sync/config/integrations';
import { DataDirLockedError } from '@data-sync/pipelines/db';
import { buildApi } from './api/app';
import { openRateLimitRedis } from './api/rate-limit-redis';
import { ConfigError, RuntimeConfig, loadConfig } from './config';
import { createScheduler, createWorker, IntegrationSource } from './engine';
import { startRetention } from './engine/erasure';
import { createLogger } from './logger';
import { createRuntime, engineMetrics, type SyncRuntime } from './runtime/runtime';
import { n8nClientFor, type N8nAuthFactory } from './n8n-client';
import { startMetricsPush } from './metrics-push';
import { startN8nProbe } from './n8n-probe';
import type { QueueOpeners } from './queue/open-queue';
import type { EventBusOpeners } from './events/openers';
import type { GoogleOidcOptions } from './security/google-oidc';
import type { GoogleOidcVerifier } from './security/oidc-verifier';
import type { Job } from './queue/binding';

export interface Runtime {
  readonly config: RuntimeConfig;
  /** The listening API (role api or all). */
  readonly app: FastifyInstance | null;
  /** http://host:port when the API listens. */
  readonly url: string | null;
  /** The admin token generated on this first start (shown once), else null. */
  readonly adminToken: string | null;
  /** The event bus the outbox publisher delivers to (the in-process one by default, for embedded consumers). */
  readonly events: SyncRuntime['events'];
  stop(): Promise<void>;
}

export interface ProcessOptions {
  /** The queue bindings this bundle carries; DATA_SYNC_QUEUE must name one of them. */
  readonly queues: QueueOpeners;
  /** The event buses this bundle carries (DATA_SYNC_EVENTS picks one). @default in-process and webhook */
  readonly eventBuses?: EventBusOpeners;
  /** Verifies Pub/Sub push tokens (the GCP bundle); without it DATA_SYNC_PUBSUB_PUSH_* is refused. @default none */
  readonly pubsubPushVerifier?: (options: GoogleOidcOptions) => GoogleOidcVerifier;
  /** Headers every n8n call carries for the platform in front of n8n (the GCP bundle: a Google ID token). @default none */
  readonly n8nAuth?: N8nAuthFactory;
  /** The configuration's source. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Where every part logs. @default pino at LOG_LEVEL to logDestination */
  readonly logger?: Logger;
  /** Where the default logger writes, given stdout. @default JSON lines on stdout */
  readonly logDestination?: (stdout: NodeJS.WriteStream) => DestinationStream | undefined;
  /** Prints the start-up lines (the URL, the first admin token). @default stdout */
  readonly print?: (line: string) => void;
}

export async function startProcess(options: ProcessOptions): Promise<Runtime> {
  const config = loadConfig(options.env ?? process.env);
  const verifyPush = options.pubsubPushVerifier;
  if (config.pubsubPush && !verifyPush)
    throw new ConfigError(
      'DATA_SYNC_PUBSUB_PUSH_AUDIENCE',
      'is set, but this bundle does not take Pub/Sub pushes; run the GCP bundle (dist/runtime/gcp.js)',
    );
  const logger =
    options.logger ?? createLogger({ level: config.logLevel, destination: options.logDestination?.(process.stdout) });
  const print = options.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const runtime = await createRuntime(config, { logger, queues: options.queues, eventBuses: options.eventBuses });
  const { db, queue, engine, connectors, integrations, tokens, metrics, pipelines, repositories } = runtime;
  const closers: (() => Promise<unknown>)[] = [() => runtime.close()];
  const closeAll = async () => {
    for (const close of closers.reverse())
      await close().catch((error) => logger.error({ err: error }, 'shutdown step failed'));
  };
  try {
    metrics.m.up.set({ role: config.role }, 1);
    const n8n = n8nClientFor(config, options.n8nAuth);
    if (n8n) {
      const probe = startN8nProbe({ ping: () => n8n.ping(), gauge: metrics.m.n8nUp, logger });
      closers.push(async () => probe.stop());
    }
    if (config.metricsRemoteWrite) {
      // The hostname is the instance's own on Code Engine (an app revision's or a job run's pod name).
      const push = startMetricsPush({
        target: config.metricsRemoteWrite,
        registry: metrics.registry,
        instance: os.hostname(),
        refresh: () => metrics.refreshQueue(queue),
        logger,
      });
      closers.push(() => push.stop());
    }

    let app: FastifyInstance | null = null;
    let url: string | null = null;
    let adminToken: string | null = null;
    if (config.role !== 'worker') {
      // With Redis configured, every API instance counts against the same inbound limits.
      const rateLimitRedis = config.redisUrl ? await openRateLimitRedis(config.redisUrl) : undefined;
      if (rateLimitRedis) closers.push(() => rateLimitRedis.quit());
      const pubsubPush =
        config.pubsubPush && verifyPush
          ? { verifier: verifyPush(config.pubsubPush), handle: (job: Job) => engine.handle(job) }
          : null;
      app = await buildApi({
        repositories,
        queue,
        engine,
        connectors,
        metrics,
        n8n,
        pipelines,
        logger,
        pubsubPush,
        config: {
          rateLimitPerMinute: config.rateLimitPerMinute,
          authFailuresPerMinute: config.authFailuresPerMinute,
          webhookRateLimitPerMinute: config.webhookRateLimitPerMinute,
          rateLimitRedis,
          slot: config.slot,
          trustProxy: config.trustProxy,
          gdprWebhookSecret: config.gdprWebhookSecret,
          ccpaWebhookSecret: config.ccpaWebhookSecret,
        },
      });
      const listening = app;
      closers.push(() => listening.close());
      const address = await app.listen({ port: config.port, host: config.host });
      url = address;
      // Deployed environments take the admin token from the secret manager: a printed one would land in the
      // cloud's logs. Only a development start (no DATA_SYNC_ENVIRONMENT) generates and prints one.
      if (config.adminToken) await tokens.ensureAdmin(config.adminToken);
      else if (!config.environment) adminToken = await tokens.bootstrapAdmin();
      else if ((await tokens.list()).length === 0)
        logger.warn(
          'no API token exists and DATA_SYNC_ADMIN_TOKEN is not set: fill the admin token secret the stack declares and restart',
        );
      print(`Data Sync Service listening on ${url} (API docs: ${url}/docs)`);
      if (adminToken) print(`First start: admin API token (shown once, only its hash is stored):\n  ${adminToken}`);
    }
    if (config.role !== 'api') {
      const worker = createWorker({
        queue,
        engine,
        concurrency: config.workerConcurrency,
        batchSize: config.workerBatchSize,
        logger,
        metrics: engineMetrics(metrics),
      });
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
      const scheduler = createScheduler({
        db,
        engine,
        integrations: source,
        intervals: (name) => intervals.get(name),
        logger,
      });
      worker.start();
      scheduler.start();
      // Reverse order on close: the scheduler stops first, then in-flight jobs finish or are released.
      closers.push(() => worker.stop(config.shutdownMs));
      closers.push(async () => scheduler.stop());
      const retention = startRetention({ db, logger });
      closers.push(async () => retention.stop());
      logger.info({ queue: queue.name, concurrency: config.workerConcurrency }, 'worker and scheduler started');
    }
    // Every long-running instance drains the outbox (leases keep two from sending an event at once). A deployed
    // environment without a bus keeps its events in the outbox, none lost, rather than handing them to nobody.
    if (config.events.kind !== 'inprocess' || !config.environment) {
      runtime.events.publisher.start();
      closers.push(() => runtime.events.publisher.stop());
    }
    if (config.demo) {
      // Loaded only in demo mode: the vendor fakes stay out of the production bundles (scripts/build-runtime.js).
      const { startDemo } = await import('./demo').catch((error: Error) => {
        throw new ConfigError(
          'DATA_SYNC_DEMO',
          `needs the vendor fakes, which only the source tree has (npm run dev:demo), not a production bundle: ${error.message}`,
        );
      });
      const demo = await startDemo({ integrations, engine, print });
      closers.push(() => demo.close());
    }
    return { config, app, url, adminToken, events: runtime.events, stop: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Runs the process: clear messages for bad configuration and a PGlite directory in use; SIGTERM drains. */
export async function runProcess(options: ProcessOptions): Promise<void> {
  let runtime: Runtime;
  try {
    runtime = await startProcess(options);
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
