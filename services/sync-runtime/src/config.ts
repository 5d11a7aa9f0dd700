/**
 * Runtime configuration from environment variables, validated once at start-up: a bad value stops
 * the process with a message naming the variable.
 */
import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { ConfigError } from './config-error';
import { DEFAULT_BATCH_SIZE as DEFAULT_WORKER_BATCH_SIZE } from './engine/worker';
import {
  CLOUD_QUEUE_KINDS,
  type CloudBindingOptions,
  type CloudQueueKind,
  cloudBindingOptionsFromEnv,
} from './queue/cloud-bindings';
import { eventBusOptionsFromEnv, type EventBusOptions } from './events/open-bus';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const url = (protocols: readonly string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
  );

const optional = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const SCHEMA = z.object({
  PORT: z.preprocess(
    (v) => (v === undefined || v === '' ? '3000' : v),
    z
      .string()
      .regex(/^[0-9]+$/, 'must be a port number')
      .transform(Number)
      .pipe(z.number().int().min(0).max(65535)),
  ),
  HOST: z.preprocess((v) => (v === undefined || v === '' ? '127.0.0.1' : v), z.string().min(1)),
  DATABASE_URL: optional(url(['postgres:', 'postgresql:'])),
  DATABASE_MIGRATION_URL: optional(url(['postgres:', 'postgresql:'])),
  DATA_SYNC_MIGRATIONS: z.preprocess((v) => (v === undefined || v === '' ? 'apply' : v), z.enum(['apply', 'check'])),
  DATABASE_CA: optional(z.string().min(1)),
  DATA_SYNC_ENVIRONMENT: optional(
    z
      .string()
      .trim()
      .regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be an environment name such as dev, staging or prod'),
  ),
  DATA_SYNC_DATA_DIR: z.preprocess((v) => (v === undefined || v === '' ? '.data' : v), z.string().min(1)),
  REDIS_URL: optional(url(['redis:', 'rediss:'])),
  DATA_SYNC_QUEUE: optional(z.enum(['store', 'redis', ...CLOUD_QUEUE_KINDS])),
  DATA_SYNC_SLOT: optional(z.enum(['blue', 'green'])),
  DATA_SYNC_ROLE: z.preprocess((v) => (v === undefined || v === '' ? 'all' : v), z.enum(['api', 'worker', 'all'])),
  DATA_SYNC_ENCRYPTION_KEY: optional(z.string()),
  N8N_URL: optional(url(['http:', 'https:'])),
  DATA_SYNC_PUBSUB_PUSH_AUDIENCE: optional(z.string().trim().min(1)),
  DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT: optional(
    z
      .string()
      .trim()
      .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, "must be the push service account's email"),
  ),
  N8N_API_KEY: optional(z.string().min(1)),
  N8N_WEBHOOK_TOKEN: optional(z.string().min(1)),
  LOG_LEVEL: z.preprocess((v) => (v === undefined || v === '' ? 'info' : v), z.enum(LOG_LEVELS)),
  DATA_SYNC_RATE_LIMIT: z.preprocess(
    (v) => (v === undefined || v === '' ? '600' : v),
    z
      .string()
      .regex(/^[1-9][0-9]*$/, 'must be a positive integer (requests per minute per client)')
      .transform(Number),
  ),
  DATA_SYNC_AUTH_FAILURE_LIMIT: z.preprocess(
    (v) => (v === undefined || v === '' ? '20' : v),
    z
      .string()
      .regex(/^[1-9][0-9]*$/, 'must be a positive integer (failed authentication attempts per minute per address)')
      .transform(Number),
  ),
  DATA_SYNC_WEBHOOK_RATE_LIMIT: z.preprocess(
    (v) => (v === undefined || v === '' ? '12000' : v),
    z
      .string()
      .regex(/^[1-9][0-9]*$/, 'must be a positive integer (webhook requests per minute per sender address)')
      .transform(Number),
  ),
  DATA_SYNC_WORKER_CONCURRENCY: z.preprocess(
    (v) => (v === undefined || v === '' ? '4' : v),
    z
      .string()
      .regex(/^[1-9][0-9]*$/, 'must be a positive integer')
      .transform(Number),
  ),
  DATA_SYNC_WORKER_BATCH_SIZE: z.preprocess(
    (v) => (v === undefined || v === '' ? String(DEFAULT_WORKER_BATCH_SIZE) : v),
    z
      .string()
      .regex(/^[1-9][0-9]*$/, 'must be a positive integer (webhook jobs handled as one batch)')
      .transform(Number),
  ),
  DATA_SYNC_TRUST_PROXY: z.preprocess(
    (v) => (v === undefined || v === '' || v === 'false' ? '0' : v),
    // `true` would take the client's own X-Forwarded-For, so only a count of the proxies in front is accepted.
    z
      .string()
      .regex(
        /^(0|[1-9][0-9]?)$/,
        'must be the count of proxies in front of the runtime (1 behind one balancer) or false',
      )
      .transform(Number),
  ),
  DATA_SYNC_REDIS_ALLOW_VOLATILE: z.preprocess(
    (v) => (v === undefined || v === '' ? 'false' : v),
    z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true'),
  ),
  DATA_SYNC_ALLOW_LOCAL_VENDORS: z.preprocess(
    (v) => (v === undefined || v === '' ? 'false' : v),
    z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true'),
  ),
  DATA_SYNC_DEMO: z.preprocess(
    (v) => (v === undefined || v === '' ? 'false' : v),
    z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true'),
  ),
  DATA_SYNC_ADMIN_TOKEN: optional(z.string().trim().min(16, 'must be at least 16 characters (`openssl rand -hex 32`)')),
  // One secret per endpoint: a signature for an opt-out never passes the deletion webhook.
  DATA_SYNC_GDPR_WEBHOOK_SECRET: optional(
    z.string().min(16, 'must be at least 16 characters (`openssl rand -hex 32`)'),
  ),
  DATA_SYNC_CCPA_WEBHOOK_SECRET: optional(
    z.string().min(16, 'must be at least 16 characters (`openssl rand -hex 32`)'),
  ),
  DATA_SYNC_METRICS_REMOTE_WRITE_URL: optional(url(['https:', 'http:'])),
  DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN: optional(z.string().trim().min(1)),
  DATA_SYNC_SHUTDOWN_MS: z.preprocess(
    (v) => (v === undefined || v === '' ? '10000' : v),
    z
      .string()
      .regex(/^[0-9]+$/, 'must be milliseconds')
      .transform(Number),
  ),
});

export interface RuntimeConfig {
  readonly port: number;
  readonly host: string;
  /** PostgreSQL; absent: PGlite in `dataDir`. */
  readonly databaseUrl?: string;
  /**
   * The owner role's PostgreSQL URL (DATABASE_MIGRATION_URL): migrations run as it, and the DATABASE_URL role
   * is granted DML only. Absent: DATABASE_URL's role migrates (development, single-role databases).
   */
  readonly databaseMigrationUrl?: string;
  /**
   * What a start does with the store's migrations (DATA_SYNC_MIGRATIONS): `apply` them, or, in a process given
   * no migration rights (the AWS Lambda worker), `check` that the schema has every one and refuse to start if not.
   */
  readonly migrations: 'apply' | 'check';
  /** The database server's CA (DATABASE_CA: PEM or its base64): both URLs then verify-full against it. */
  readonly databaseCa?: string;
  readonly dataDir: string;
  /** The deployed environment the stacks name (dev, staging, prod); absent on a developer machine. */
  readonly environment?: string;
  readonly redisUrl?: string;
  /** Accept a Redis without persistence for the Redis queue binding (DATA_SYNC_REDIS_ALLOW_VOLATILE). */
  readonly redisAllowVolatile: boolean;
  /**
   * Let integration configs point at loopback and private addresses over http (vendor fakes; the demo turns it
   * on): DATA_SYNC_ALLOW_LOCAL_VENDORS, logged at start and in the audit entry of each config that uses it.
   */
  readonly allowLocalVendors: boolean;
  readonly queue: 'store' | 'redis' | CloudQueueKind;
  /** The cloud binding's options (queue URLs, topic and subscriptions, namespace), when `queue` is a cloud queue. */
  readonly cloudQueue?: CloudBindingOptions[CloudQueueKind];
  readonly role: 'api' | 'worker' | 'all';
  /** The blue-green slot this instance serves (the stacks set it), reported by GET /health. */
  readonly slot?: 'blue' | 'green';
  /** Base64 keys, comma separated: the first encrypts, all decrypt (rotation). Absent: dev key file in dataDir. */
  readonly encryptionKeys?: readonly string[];
  readonly n8nUrl?: string;
  readonly n8nApiKey?: string;
  /** Sent in n8n/webhooks' header on every webhook call (/api/workflows/execute); n8n's webhooks refuse calls without it. */
  readonly n8nWebhookToken?: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** Inbound requests per minute per client (token, or IP for webhooks and health). */
  readonly rateLimitPerMinute: number;
  /** Failed authentication attempts per minute per client address, before any token is verified. */
  readonly authFailuresPerMinute: number;
  /** Webhook requests per minute per sender address (vendors burst from a few addresses). */
  readonly webhookRateLimitPerMinute: number;
  readonly workerConcurrency: number;
  /** Webhook jobs of one integration handled, and claimed, as one batch while a backlog lasts. */
  readonly workerBatchSize: number;
  /** Proxies in front of the runtime whose X-Forwarded-* entries are trusted (client address, scheme); 0: none. */
  readonly trustProxy: number;
  /** Demo mode: local vendor fakes, one integration each, synced at start. */
  readonly demo: boolean;
  /** How long SIGTERM waits for in-flight jobs before releasing them. */
  readonly shutdownMs: number;
  /** The secret signing the GDPR deletion webhook (DATA_SYNC_GDPR_WEBHOOK_SECRET); absent: it answers 503. */
  readonly gdprWebhookSecret?: string;
  /** The secret signing the CCPA opt-out webhook (DATA_SYNC_CCPA_WEBHOOK_SECRET); absent: it answers 503. */
  readonly ccpaWebhookSecret?: string;
  /** The admin API token from the secret manager (DATA_SYNC_ADMIN_TOKEN); absent in development, where one is printed. */
  readonly adminToken?: string;
  /** Pub/Sub push (GCP): the OIDC audience and push identity `/pubsub/push` accepts; absent: it answers 503. */
  readonly pubsubPush?: { readonly audience: string; readonly serviceAccount: string };
  /** Where the outbox's CloudEvents go (DATA_SYNC_EVENTS and its variables, events/open-bus.ts). */
  readonly events: EventBusOptions;
  /**
   * The Prometheus remote-write endpoint the process sends its catalog metrics to, with its bearer token
   * (DATA_SYNC_METRICS_REMOTE_WRITE_URL and _TOKEN): where nothing scrapes /metrics (IBM Code Engine).
   */
  readonly metricsRemoteWrite?: { readonly url: string; readonly token: string };
}

export { ConfigError };

/** The variables loadConfig reads itself (the cloud bindings read theirs: CLOUD_QUEUE_VARIABLES). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(SCHEMA.shape);

/** Secrets that may also come from a file named by `<NAME>_FILE` (mounted secrets: OCI, Docker, Kubernetes). */
export const SECRET_FILE_VARIABLES = [
  'DATABASE_URL',
  'DATABASE_MIGRATION_URL',
  'DATABASE_CA',
  'REDIS_URL',
  'DATA_SYNC_ENCRYPTION_KEY',
  'N8N_API_KEY',
  'DATA_SYNC_GDPR_WEBHOOK_SECRET',
  'DATA_SYNC_CCPA_WEBHOOK_SECRET',
  'N8N_WEBHOOK_TOKEN',
  'DATA_SYNC_SERVICEBUS_CONNECTION_STRING',
  'DATA_SYNC_ADMIN_TOKEN',
  'DATA_SYNC_EVENTS_WEBHOOK_SECRET',
  'DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN',
] as const;

/** `env` with each secret read from its `<NAME>_FILE` (one trailing newline dropped) when only the file is given. */
function withSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const resolved = { ...env };
  for (const name of SECRET_FILE_VARIABLES) {
    const file = env[`${name}_FILE`]?.trim();
    if (!file) continue;
    if (env[name]) throw new ConfigError(`${name}_FILE`, `is set together with ${name}: set one of them`);
    try {
      resolved[name] = fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new ConfigError(
        `${name}_FILE`,
        `names a file that cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): ${file}`,
      );
    }
  }
  return resolved;
}

/** Reads and validates the runtime configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(rawEnv: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const env = withSecretFiles(rawEnv);
  const parsed = SCHEMA.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue.path[0]), issue.message);
  }
  const e = parsed.data;
  // PGlite keeps its data inside the container, where a restart or a second instance loses it.
  if (e.DATA_SYNC_ENVIRONMENT && !e.DATABASE_URL)
    throw new ConfigError(
      'DATABASE_URL',
      `is required in a deployed environment (DATA_SYNC_ENVIRONMENT=${e.DATA_SYNC_ENVIRONMENT}): the embedded PGlite store is for development only`,
    );
  if (e.DATABASE_MIGRATION_URL && !e.DATABASE_URL)
    throw new ConfigError('DATABASE_MIGRATION_URL', 'is set without DATABASE_URL, the role the runtime serves as');
  if (e.DATA_SYNC_MIGRATIONS === 'check' && e.DATABASE_MIGRATION_URL)
    throw new ConfigError(
      'DATA_SYNC_MIGRATIONS',
      'is "check" but DATABASE_MIGRATION_URL is set: a process given the owner role applies the migrations',
    );
  const queue = e.DATA_SYNC_QUEUE ?? (e.REDIS_URL ? 'redis' : 'store');
  if (queue === 'redis' && !e.REDIS_URL)
    throw new ConfigError('DATA_SYNC_QUEUE', 'is "redis" but REDIS_URL is not set');
  const cloudQueue = queue === 'store' || queue === 'redis' ? undefined : cloudBindingOptionsFromEnv(queue, env);
  // Either alone would be unusable (no audience) or unsafe (any Google account can mint a token for an audience).
  if (e.DATA_SYNC_PUBSUB_PUSH_AUDIENCE && !e.DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT)
    throw new ConfigError(
      'DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT',
      'is required when DATA_SYNC_PUBSUB_PUSH_AUDIENCE is set',
    );
  if (e.DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT && !e.DATA_SYNC_PUBSUB_PUSH_AUDIENCE)
    throw new ConfigError(
      'DATA_SYNC_PUBSUB_PUSH_AUDIENCE',
      'is required when DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT is set',
    );
  if (e.N8N_URL && !e.N8N_API_KEY) throw new ConfigError('N8N_API_KEY', 'is required when N8N_URL is set');
  const allowLocalVendors = e.DATA_SYNC_ALLOW_LOCAL_VENDORS || e.DATA_SYNC_DEMO;
  if (e.DATA_SYNC_METRICS_REMOTE_WRITE_URL) {
    // The bearer token would cross the network in the clear.
    if (new URL(e.DATA_SYNC_METRICS_REMOTE_WRITE_URL).protocol !== 'https:' && !allowLocalVendors)
      throw new ConfigError(
        'DATA_SYNC_METRICS_REMOTE_WRITE_URL',
        'must be an https:// URL (http:// only with DATA_SYNC_ALLOW_LOCAL_VENDORS=true, for a local receiver)',
      );
    if (!e.DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN)
      throw new ConfigError(
        'DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN',
        "is required when DATA_SYNC_METRICS_REMOTE_WRITE_URL is set (the endpoint's bearer token, e.g. a Monitor API token)",
      );
  } else if (e.DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN)
    throw new ConfigError(
      'DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN',
      'is set without DATA_SYNC_METRICS_REMOTE_WRITE_URL, the endpoint it is for',
    );
  let encryptionKeys: string[] | undefined;
  if (e.DATA_SYNC_ENCRYPTION_KEY !== undefined) {
    encryptionKeys = e.DATA_SYNC_ENCRYPTION_KEY.split(',').map((k) => k.trim());
    for (const key of encryptionKeys) {
      if (Buffer.from(key, 'base64').length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(key)) {
        throw new ConfigError(
          'DATA_SYNC_ENCRYPTION_KEY',
          'must be base64 of exactly 32 bytes (comma-separated when rotating: new key first); generate one with `openssl rand -base64 32`',
        );
      }
    }
  }
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseMigrationUrl: e.DATABASE_MIGRATION_URL,
    migrations: e.DATA_SYNC_MIGRATIONS,
    databaseCa: e.DATABASE_CA,
    dataDir: path.resolve(e.DATA_SYNC_DATA_DIR),
    environment: e.DATA_SYNC_ENVIRONMENT,
    redisUrl: e.REDIS_URL,
    redisAllowVolatile: e.DATA_SYNC_REDIS_ALLOW_VOLATILE,
    // The demo's fakes listen on loopback.
    allowLocalVendors,
    queue,
    cloudQueue,
    role: e.DATA_SYNC_ROLE,
    slot: e.DATA_SYNC_SLOT,
    encryptionKeys,
    n8nUrl: e.N8N_URL,
    n8nApiKey: e.N8N_API_KEY,
    n8nWebhookToken: e.N8N_WEBHOOK_TOKEN,
    logLevel: e.LOG_LEVEL,
    rateLimitPerMinute: e.DATA_SYNC_RATE_LIMIT,
    authFailuresPerMinute: e.DATA_SYNC_AUTH_FAILURE_LIMIT,
    webhookRateLimitPerMinute: e.DATA_SYNC_WEBHOOK_RATE_LIMIT,
    workerConcurrency: e.DATA_SYNC_WORKER_CONCURRENCY,
    workerBatchSize: e.DATA_SYNC_WORKER_BATCH_SIZE,
    shutdownMs: e.DATA_SYNC_SHUTDOWN_MS,
    demo: e.DATA_SYNC_DEMO,
    trustProxy: e.DATA_SYNC_TRUST_PROXY,
    gdprWebhookSecret: e.DATA_SYNC_GDPR_WEBHOOK_SECRET,
    ccpaWebhookSecret: e.DATA_SYNC_CCPA_WEBHOOK_SECRET,
    adminToken: e.DATA_SYNC_ADMIN_TOKEN,
    events: eventBusOptionsFromEnv(env, e.DATA_SYNC_ENVIRONMENT),
    ...(e.DATA_SYNC_METRICS_REMOTE_WRITE_URL && e.DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN
      ? {
          metricsRemoteWrite: {
            url: e.DATA_SYNC_METRICS_REMOTE_WRITE_URL,
            token: e.DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN,
          },
        }
      : {}),
    ...(e.DATA_SYNC_PUBSUB_PUSH_AUDIENCE && e.DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT
      ? {
          pubsubPush: {
            audience: e.DATA_SYNC_PUBSUB_PUSH_AUDIENCE,
            serviceAccount: e.DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT,
          },
        }
      : {}),
  };
}
