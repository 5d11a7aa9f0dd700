/**
 * The AWS Lambda SQS worker: each message is one job, handled by the same engine job handler as the
 * worker process, against DATABASE_URL. Messages that fail are reported as batch item failures
 * (ReportBatchItemFailures), so SQS redelivers only those and dead-letters them after maxReceiveCount.
 */
import type { Logger } from 'pino';
import { parseJobText } from '@data-sync/config/job-message';
import { openPostgres } from '@data-sync/pipelines/db';
import { ConfigError, loadConfig } from './config';
import type { SyncEngine } from './engine';
import { createLogger } from './logger';
import { Job } from './queue/binding';
import type { QueueOpeners } from './queue/open-queue';
import { sqsQueue } from './queue/openers/sqs';
import { createRuntime } from './runtime/runtime';
import { withAwsSecrets } from './security/aws-secrets';

/** The SQS event (the subset the worker reads). */
export interface SqsRecord {
  readonly messageId: string;
  readonly body: string;
  readonly attributes?: { readonly ApproximateReceiveCount?: string; readonly SentTimestamp?: string };
}
export interface SqsEvent {
  readonly Records: readonly SqsRecord[];
}
export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/**
 * The job a message carries: the SQS binding's body (queue/sqs-binding.ts), where a retried or
 * redriven job is a new message that carries the deliveries it had before, or a stack's schedule
 * message (no id: the message id is the job's). Throws naming the problem when the body is not one.
 */
export function jobFromSqsRecord(record: SqsRecord): Job {
  const message = parseJobText(record.body, `message ${record.messageId}`);
  const { id, kind, integration, payload, dedupeKey, enqueuedAt, attemptsBefore } = message;
  const received = Number(record.attributes?.ApproximateReceiveCount ?? '1');
  const sent = Number(record.attributes?.SentTimestamp);
  return {
    id: id ?? record.messageId,
    kind,
    ...(integration !== undefined ? { integration } : {}),
    payload,
    ...(dedupeKey !== undefined ? { dedupeKey } : {}),
    attempts: (attemptsBefore ?? 0) + (Number.isInteger(received) && received > 0 ? received : 1),
    enqueuedAt: new Date(enqueuedAt ?? (Number.isFinite(sent) ? sent : Date.now())),
  };
}

/** The handler over an engine: records run concurrently; each failure is reported for that message only. */
export function createSqsHandler(deps: { engine: () => Promise<Pick<SyncEngine, 'handle'>>; logger: Logger }) {
  return async (event: SqsEvent): Promise<SqsBatchResponse> => {
    // Without an engine (database unreachable) every message fails: the whole batch is retried.
    const engine = await deps.engine();
    const outcomes = await Promise.allSettled(
      event.Records.map(async (record) => engine.handle(jobFromSqsRecord(record))),
    );
    const batchItemFailures: { itemIdentifier: string }[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') return;
      const messageId = event.Records[i].messageId;
      deps.logger.warn(
        { messageId, err: outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason) },
        'job failed; SQS redelivers it',
      );
      batchItemFailures.push({ itemIdentifier: messageId });
    });
    return { batchItemFailures };
  };
}

/**
 * The engine as the worker process builds it, from the environment (DATABASE_URL and
 * DATA_SYNC_ENCRYPTION_KEY required: a Lambda cannot use PGlite or a key file), with the secrets the
 * stack names by ARN read from Secrets Manager first.
 */
export interface LambdaOptions {
  /** The queue bindings the Lambda may open. @default SQS only: follow-up jobs must reach the queue that triggers it */
  readonly queues?: QueueOpeners;
}

export async function bootLambdaEngine(
  rawEnv: NodeJS.ProcessEnv,
  logger?: Logger,
  options: LambdaOptions = {},
): Promise<{ engine: SyncEngine; close(): Promise<void> }> {
  const env = await withAwsSecrets(rawEnv);
  const config = loadConfig(env);
  if (!config.databaseUrl)
    throw new ConfigError(
      'DATABASE_URL',
      'is required by the Lambda worker (PGlite cannot be shared between Lambda instances)',
    );
  if (!config.encryptionKeys)
    throw new ConfigError('DATA_SYNC_ENCRYPTION_KEY', 'is required by the Lambda worker (base64 of 32 bytes)');
  const log = logger ?? createLogger({ level: config.logLevel });
  // A small pool per instance: Lambda scales by instances, each handling one batch at a time.
  const db = openPostgres(config.databaseUrl, { max: 4 });
  try {
    // The queue is the configured binding: the engine enqueues from handlers (a webhook job triggers a sync).
    const runtime = await createRuntime(config, {
      db,
      env,
      logger: log,
      queues: options.queues ?? { sqs: sqsQueue },
    });
    return {
      engine: runtime.engine,
      async close() {
        await runtime.close();
        await db.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

/**
 * A Lambda handler that boots the engine from `env` on its first event and keeps it for the next ones. A boot
 * that fails (a schema still lacking migrations, under DATA_SYNC_MIGRATIONS=check) fails that batch, which SQS
 * redelivers, and is tried again on the next.
 */
export function createLambdaHandler(env: NodeJS.ProcessEnv, logger?: Logger, options: LambdaOptions = {}) {
  let booted: Promise<{ engine: SyncEngine; close(): Promise<void> }> | null = null;
  const boot = () => {
    booted ??= bootLambdaEngine(env, logger, options).catch((error) => {
      booted = null;
      throw error;
    });
    return booted;
  };
  const handle = createSqsHandler({
    engine: async () => (await boot()).engine,
    logger: logger ?? createLogger({ level: 'info' }),
  });
  return Object.assign(handle, {
    async close() {
      if (booted) await (await booted).close();
      booted = null;
    },
  });
}

export const handler = createLambdaHandler(process.env);
