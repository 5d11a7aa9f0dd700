/**
 * A whole API over an in-memory PGlite with the real engine, store queue, token and integration stores,
 * and the demo connector: what the API tests drive through `app.inject`.
 */
import { Writable } from 'stream';
import type { Redis } from 'ioredis';
import type { FastifyInstance } from 'fastify';
import { openPglite, Db } from '@data-sync/pipelines/db';
import type { ConnectorModule } from '@data-sync/integrations/connector';
import type { N8nClient } from '@data-sync/n8n/client';
import { buildApi } from '../app';
import type { IntegrationStore } from '../../store/integrations-repository';
import { loadConfig } from '../../config';
import { createWorker, SyncEngine } from '../../engine';
import { createLogger } from '../../logger';
import { createMetrics, RuntimeMetrics } from '../../metrics';
import type { QueueBinding } from '../../queue/binding';
import { createStoreBinding } from '../../queue/store-binding';
import { createRuntime } from '../../runtime/runtime';
import { Keyring, generateKey } from '../../security/crypto';
import type { Repositories } from '../../store/repositories';
import type { TokenStore } from '../../store/tokens-repository';
import { demoConnector } from './demo-connector';

export interface Reply {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  json(): any;
}

export interface RequestSpec {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string or Buffer as is. */
  payload?: unknown;
}

/**
 * One HTTP request to a listening server. (Fastify's inject goes through light-my-request, whose
 * ESM-only cookie dependency jest cannot load here; a real socket is closer to production anyway.)
 */
export async function request(base: string, spec: RequestSpec): Promise<Reply> {
  const headers: Record<string, string> = { ...(spec.headers ?? {}) };
  let body: string | Buffer | undefined;
  if (spec.payload !== undefined) {
    if (typeof spec.payload === 'string' || Buffer.isBuffer(spec.payload)) body = spec.payload;
    else {
      body = JSON.stringify(spec.payload);
      if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
    }
  }
  const res = await fetch(base + spec.url, {
    method: spec.method,
    headers,
    body: Buffer.isBuffer(body) ? new Uint8Array(body) : body,
  });
  const text = await res.text();
  const out: Record<string, string> = {};
  res.headers.forEach((value, key) => (out[key] = value));
  return { statusCode: res.status, headers: out, body: text, json: () => JSON.parse(text) };
}

export interface Harness {
  app: FastifyInstance;
  /** The listening base URL (http://127.0.0.1:port). */
  url: string;
  inject(spec: RequestSpec): Promise<Reply>;
  db: Db;
  queue: QueueBinding;
  engine: SyncEngine;
  repositories: Repositories;
  integrations: IntegrationStore;
  tokens: TokenStore;
  metrics: RuntimeMetrics;
  keyring: Keyring;
  encryptionKey: string;
  /** One token per role. */
  auth: { viewer: string; operator: string; admin: string; service: string };
  /** Everything the logger wrote (JSON lines). */
  logs: () => string;
  /** Claims and handles every ready job (the worker, run synchronously). */
  drain: () => Promise<number>;
  close: () => Promise<void>;
}

export async function createHarness(
  options: {
    rateLimitRedis?: Redis;
    logLevel?: string;
    queue?: (db: Db) => QueueBinding;
    worker?: boolean;
    n8n?: N8nClient | null;
    rateLimitPerMinute?: number;
    /** Failed authentication attempts per address and minute. @default 1000000 (tests send many on purpose) */
    authFailuresPerMinute?: number;
    bodyLimit?: number;
    db?: Db;
    connectors?: Record<string, ConnectorModule>;
    env?: NodeJS.ProcessEnv;
    slot?: 'blue' | 'green';
    trustProxy?: number;
    /** The local-vendor override the tests' fakes need (DATA_SYNC_ALLOW_LOCAL_VENDORS). @default true */
    allowLocalVendors?: boolean;
    /** The API's clock (signatures, expiries). @default Date.now */
    now?: () => number;
  } = {},
): Promise<Harness> {
  const db = options.db ?? (await openPglite());
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  const logger = createLogger({ level: options.logLevel ?? 'debug', destination });
  const encryptionKey = generateKey();
  const keyring = Keyring.fromBase64([encryptionKey]);
  // The production wiring (every job handler) over this test's database, key, queue and connectors.
  const config = loadConfig({ DATA_SYNC_ALLOW_LOCAL_VENDORS: String(options.allowLocalVendors ?? true) });
  const runtime = await createRuntime(config, {
    db,
    keyring,
    logger,
    queue:
      options.queue ??
      ((store) =>
        createStoreBinding({
          db: store,
          queue: `api-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
          retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
        })),
    metrics: createMetrics({ defaultMetrics: false }),
    connectors: options.connectors ?? { demo: demoConnector },
    env: options.env ?? {},
  });
  const { queue, metrics, connectors, integrations, tokens, pipelines, engine, repositories } = runtime;
  const app = await buildApi({
    repositories,
    queue,
    engine,
    connectors,
    metrics,
    logger,
    pipelines,
    n8n: options.n8n ?? null,
    config: {
      slot: options.slot,
      rateLimitPerMinute: options.rateLimitPerMinute ?? 1_000_000,
      webhookRateLimitPerMinute: options.rateLimitPerMinute ?? 1_000_000,
      authFailuresPerMinute: options.authFailuresPerMinute ?? 1_000_000,
      bodyLimit: options.bodyLimit,
      rateLimitRedis: options.rateLimitRedis,
      trustProxy: options.trustProxy,
      now: options.now,
    },
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const worker = options.worker
    ? createWorker({ queue, engine, logger, concurrency: 2, pollMs: 10, leaseMs: 30_000 })
    : null;
  worker?.start();
  const suffix = Math.random().toString(36).slice(2, 8);
  const auth = {
    viewer: (await tokens.create(`viewer-${suffix}`, 'viewer')).token,
    operator: (await tokens.create(`operator-${suffix}`, 'operator')).token,
    admin: (await tokens.create(`admin-${suffix}`, 'admin')).token,
    service: (await tokens.create(`service-${suffix}`, 'service')).token,
  };
  return {
    app,
    url,
    inject: (spec) => request(url, spec),
    db,
    queue,
    engine,
    repositories,
    integrations,
    tokens,
    metrics,
    keyring,
    encryptionKey,
    auth,
    logs: () => lines.join(''),
    async drain() {
      let handled = 0;
      for (;;) {
        const jobs = await queue.claim(10, 30_000);
        if (jobs.length === 0) return handled;
        for (const job of jobs) {
          try {
            await engine.handle(job);
            await queue.ack(job);
          } catch (error) {
            await queue.fail(job, (error as Error).message);
          }
          handled++;
        }
      }
    },
    async close() {
      await worker?.stop(1000);
      await app.close();
      await runtime.close();
      if (!options.db) await db.close();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
