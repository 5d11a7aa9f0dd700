/** What the HTTP API needs, as interfaces: the runtime wires the real ones, tests may pass fakes. */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '@data-sync/pipelines/db';
import type { ConnectorModule } from '@data-sync/integrations/connector';
import type { N8nClient } from '@data-sync/n8n/client';
import type { Job, QueueBinding } from '../queue/binding';
import type { RuntimeMetrics } from '../metrics';
import type { GoogleOidcVerifier } from '../security/oidc-verifier';
import type { Repositories } from '../store/repositories';
import type { ChangeStreamOptions } from './routes/change-stream';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** The part of the sync engine (engine/index.ts) the routes call. */
export interface EngineApi {
  trigger(
    integration: string,
    opts: { actor: string; full?: boolean; direction?: 'pull' | 'push' },
  ): Promise<{ runId: string; jobId: string }>;
  reset(
    integration: string,
    opts: { actor: string; purge: boolean },
  ): Promise<{ cursorsCleared: number; purgedRecords: number }>;
  probe(): Promise<{ ok: boolean; runId: string; timings: Readonly<Record<string, number>>; error?: string }>;
  status(): Promise<
    readonly { integration: string; lastRun: unknown; cursors: Record<string, string | null>; running: boolean }[]
  >;
  history(q: {
    integration?: string;
    status?: RunStatus;
    direction?: 'pull' | 'push';
    limit: number;
    offset: number;
  }): Promise<{ runs: readonly unknown[]; total: number }>;
  /** Queues records through the pipeline as a 'pipeline' job with its pipeline_runs row. */
  ingest(input: {
    integration: string;
    mapping: string;
    records: readonly Record<string, unknown>[];
    actor: string;
  }): Promise<{ runId: string; jobId: string }>;
}

export interface BatchCounts {
  readonly received: number;
  readonly accepted: number;
  readonly quarantined: number;
  readonly duplicates: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
}

/** The stages of pipelines/index.ts the routes and the 'pipeline' job call. */
export interface PipelinesApi {
  /** Names of the mappings (`salesforce_to_internal.Contact`, ...). */
  mappingNames(): readonly string[];
  /** Which way a mapping runs: ingest takes inbound ones only. */
  direction(mapping: string): 'inbound' | 'outbound';
  validateRecords(
    mapping: string,
    records: readonly Record<string, unknown>[],
  ): {
    valid: Record<string, unknown>[];
    invalid: {
      index: number;
      record: Record<string, unknown>;
      errors: { field: string; rule: string; reason: string }[];
    }[];
  };
  transformRecords(mapping: string, records: readonly Record<string, unknown>[]): Record<string, unknown>[];
  runBatch(
    db: Db,
    input: { integration: string; mapping: string; records: readonly Record<string, unknown>[]; runId?: string },
  ): Promise<BatchCounts>;
  listQuarantine(
    db: Db,
    q: { integration?: string; limit: number; offset: number },
  ): Promise<{ items: readonly unknown[]; total: number }>;
  /** Runs quarantined records (the given ids, or all) through the pipeline again. */
  replayQuarantine(db: Db, ids?: readonly string[]): Promise<BatchCounts>;
  /** GDPR erasure of a subject from the store; queues one vendor erasure per name in `vendors`. */
  eraseSubject(
    db: Db,
    email: string,
    opts: { actor: string; vendors?: readonly string[] },
  ): Promise<{ erased: Record<string, number>; vendorErasures: string[] }>;
  optOut(db: Db, email: string, opts: { actor: string }): Promise<void>;
  isOptedOut(db: Db, email: string): Promise<boolean>;
  /** A copy of `record` safe to show `role` (sensitive fields redacted, PII masked below operator). */
  maskPii<T extends Record<string, unknown>>(record: T, role: 'viewer' | 'operator' | 'admin' | 'service'): T;
}

/** The API's settings: limits, the slot it serves, proxy trust, the compliance webhooks' secret. */
export interface ApiConfig {
  /** The blue-green slot this instance serves, reported by GET /health. @default none */
  readonly slot?: 'blue' | 'green';
  /** Inbound limit per client and minute. @default 600 */
  readonly rateLimitPerMinute?: number;
  /** Failed authentication attempts per client address and minute, checked before a token is verified. @default 20 */
  readonly authFailuresPerMinute?: number;
  /** Shares the inbound rate-limit counters between instances (REDIS_URL). @default in-process counters */
  readonly rateLimitRedis?: Redis;
  /** Webhook requests per minute per sender address. @default 12000 */
  readonly webhookRateLimitPerMinute?: number;
  /** Largest accepted body in bytes. @default 1 MiB */
  readonly bodyLimit?: number;
  /** The GDPR deletion webhook's secret (DATA_SYNC_GDPR_WEBHOOK_SECRET). @default null: it answers 503 */
  readonly gdprWebhookSecret?: string | null;
  /** The CCPA opt-out webhook's secret (DATA_SYNC_CCPA_WEBHOOK_SECRET), never the GDPR one. @default null: it answers 503 */
  readonly ccpaWebhookSecret?: string | null;
  /** The clock webhook signatures and push tokens are checked against. @default Date.now */
  readonly now?: () => number;
  /** Proxy hops whose X-Forwarded-* entries are trusted (client address, scheme); @default 0, none */
  readonly trustProxy?: number;
  /** Page size, poll interval and heartbeat of GET /api/changes/stream. @default streamChanges' defaults */
  readonly changeStream?: ChangeStreamOptions;
  /** The benchmark turns Fastify's per-request log lines off. @default false */
  readonly disableRequestLogging?: boolean;
}

/** What the HTTP API is built from: each route plugin takes only the parts it uses (app.ts). */
export interface ApiDeps {
  /** The store, as repositories (store/repositories.ts). */
  readonly repositories: Repositories;
  readonly engine: EngineApi;
  readonly queue: QueueBinding;
  readonly connectors: Readonly<Record<string, ConnectorModule>>;
  /** The pipeline stages (map, validate, mask). @default null: the pipeline routes answer 501 */
  readonly pipelines?: PipelinesApi | null;
  /** null: N8N_URL is not set, and the workflow routes answer 503. */
  readonly n8n: N8nClient | null;
  /** Pub/Sub push delivery (GCP): who may push and what runs a job. @default null: `/pubsub/push` answers 503 */
  readonly pubsubPush?: { readonly verifier: GoogleOidcVerifier; handle(job: Job): Promise<void> } | null;
  readonly metrics: RuntimeMetrics;
  readonly logger: Logger;
  /** @default every setting's own default */
  readonly config?: ApiConfig;
}
