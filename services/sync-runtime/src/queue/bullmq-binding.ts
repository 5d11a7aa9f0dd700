import { randomUUID } from 'crypto';
import IORedis, { type Redis } from 'ioredis';
import { Job as BullJob, Queue, UnrecoverableError, Worker } from 'bullmq';
import { DeadLetter, Job, JobKind, JobState, LeaseLostError, NewJob, QueueBinding, RetryPolicy } from './binding';
import { type QueueTransport, createQueueBinding } from './core/core';
import { type Pending, groupCommit } from './core/group-commit';

export interface BullmqBindingOptions {
  /** Redis URL (REDIS_URL). */
  readonly url: string;
  /** BullMQ queue name. @default 'data-sync' */
  readonly queue?: string;
  /** Redis key prefix; tests use one per file so they never collide. @default 'bull' */
  readonly prefix?: string;
  /** Attempts and backoff. @default DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
  /** How often jobs whose lease expired are looked for and made ready again. @default 30000 */
  readonly stalledIntervalMs?: number;
  /** Random source for backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** Accept a Redis that keeps nothing on disk (DATA_SYNC_REDIS_ALLOW_VOLATILE): a restart loses every queued job. @default false */
  readonly allowVolatile?: boolean;
  /** Longest wait for any Redis command, so that a paused or half-open Redis fails requests instead of freezing them. @default 5000 */
  readonly commandTimeoutMs?: number;
}

interface JobData {
  kind: JobKind;
  integration?: string;
  payload: unknown;
  dedupeKey?: string;
}

interface Delivery {
  readonly job: BullJob;
  readonly token: string;
}

/** BullMQ's answers when a job is no longer this delivery's: acknowledged elsewhere, redelivered, or gone. */
const STALE = /^(Missing (key|lock) for job|Job \S+ is not in the \S+ state|Lock mismatch for job)/;
const isStale = (error: unknown) => error instanceof Error && STALE.test(error.message);

/** Enqueues per addBulk, and addBulks at once: one in flight is group commit, as the store binding does. */
const MAX_BATCH = 500;

/**
 * Attempts and stalls are counted by the core (which dead-letters with UnrecoverableError), so
 * BullMQ's own limits must never be reached first.
 */
const UNLIMITED = 2 ** 31 - 1;

/** The lock BullMQ takes with each job it hands out: the worker's default lease, so a claim need not extend it. */
const LOCK_MS = 30_000;

/** A failure the core retries: BullMQ's backoff strategy reads the core's delay from it. */
class RetryLater extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/**
 * Why a Redis would lose acknowledged enqueues on restart, or null when it keeps them: neither an
 * append-only file nor RDB snapshots. A Redis that refuses CONFIG (some managed ones) cannot be checked.
 */
export async function redisVolatility(redis: Redis): Promise<string | null> {
  let appendonly: string;
  let save: string;
  try {
    appendonly = ((await redis.config('GET', 'appendonly')) as string[])[1] ?? '';
    save = ((await redis.config('GET', 'save')) as string[])[1] ?? '';
  } catch (error) {
    return `its persistence could not be checked (CONFIG GET answered: ${(error as Error).message})`;
  }
  if (appendonly === 'yes' || save.trim() !== '') return null;
  return 'it keeps nothing on disk (appendonly no, save "")';
}

/**
 * The Redis transport: a BullMQ queue processed manually (getNextJob with a lock token per delivery),
 * so the worker loop, leases and acknowledgements look exactly like the other bindings'. A lease is
 * BullMQ's job lock; BullMQ's stalled-job checker makes a job whose lock expired ready again; the
 * core decides retries (moveToFailed with its delay) and dead letters (UnrecoverableError). A
 * delivery's progress is BullMQ's job progress: the attempt that made it.
 */
export function createBullmqBinding(options: BullmqBindingOptions): QueueBinding {
  const name = options.queue ?? 'data-sync';
  const prefix = options.prefix ?? 'bull';
  // BullMQ requires maxRetriesPerRequest null on connections its workers use; the binding never blocks
  // (getNextJob without block), so every command may have a timeout.
  const connection = new IORedis(options.url, {
    maxRetriesPerRequest: null,
    commandTimeout: options.commandTimeoutMs ?? 5000,
  });
  const queue = new Queue(name, { connection, prefix });
  const worker = new Worker(name, null, {
    connection,
    prefix,
    autorun: false,
    lockDuration: LOCK_MS,
    maxStalledCount: UNLIMITED,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    settings: {
      backoffStrategy: (_made: number, _type?: string, error?: Error) =>
        error instanceof RetryLater ? error.delayMs : 0,
    },
  });
  // Worker errors (a lost connection during the stalled check) are retried by BullMQ; they must not crash the process.
  worker.on('error', () => undefined);
  queue.on('error', () => undefined);
  let stalledCheckStarted = false;

  let checked: Promise<void> | undefined;
  const ready = () =>
    (checked ??= redisVolatility(connection).then((problem) => {
      if (problem && !options.allowVolatile) {
        throw new Error(
          `the Redis queue refuses this Redis: ${problem}, so a restart would lose every job already answered 202. ` +
            'Turn on appendonly (or RDB snapshots), or set DATA_SYNC_REDIS_ALLOW_VOLATILE=true to accept the loss.',
        );
      }
    }));

  const toJob = (job: BullJob): Job => {
    const data = job.data as JobData;
    return {
      id: String(job.id),
      kind: data.kind,
      ...(data.integration !== undefined ? { integration: data.integration } : {}),
      payload: data.payload,
      ...(data.dedupeKey !== undefined ? { dedupeKey: data.dedupeKey } : {}),
      attempts: job.attemptsStarted,
      enqueuedAt: new Date(job.timestamp),
    };
  };
  /**
   * Runs `send` with the connection's socket corked until the next turn of the event loop: the scripts it
   * sends (each written once BullMQ's own promises resolve) leave in one write instead of one each.
   */
  const corked = <T>(send: () => Promise<T>): Promise<T> => {
    const socket = (connection as unknown as { stream?: { cork(): void; uncork(): void } }).stream;
    socket?.cork();
    setImmediate(() => socket?.uncork());
    return send();
  };
  const progressOf = (job: BullJob) => (typeof job.progress === 'number' ? job.progress : 0);

  /** Runs a settle of a delivery; false when BullMQ says the delivery is stale. */
  const settle = (op: Promise<unknown>) =>
    op.then(
      () => true,
      (error) => {
        if (isStale(error)) return false;
        throw error;
      },
    );

  const adds = groupCommit<{ job: NewJob; delayMs: number }, string>(
    async (batch: Pending<{ job: NewJob; delayMs: number }, string>[]) => {
      const added = await queue.addBulk(
        batch.map(({ item: { job, delayMs } }) => ({
          name: job.kind,
          data: {
            kind: job.kind,
            payload: job.payload ?? null,
            ...(job.integration !== undefined ? { integration: job.integration } : {}),
            ...(job.dedupeKey !== undefined ? { dedupeKey: job.dedupeKey } : {}),
          } satisfies JobData,
          opts: {
            attempts: UNLIMITED,
            // Not a BullMQ strategy: the worker's backoffStrategy answers with the core's delay.
            backoff: { type: 'core' },
            delay: delayMs,
            removeOnComplete: true,
            removeOnFail: false,
            ...(job.dedupeKey !== undefined ? { deduplication: { id: job.dedupeKey } } : {}),
          },
        })),
      );
      batch.forEach((pending, i) => pending.resolve(String(added[i].id)));
    },
    MAX_BATCH,
  );

  const transport: QueueTransport<Delivery> = {
    name: `bullmq:${name}`,
    ready,

    async send(job, delayMs) {
      await ready();
      return adds.add({ job, delayMs });
    },

    async receive(max, leaseMs) {
      await ready();
      if (!stalledCheckStarted) {
        stalledCheckStarted = true;
        await worker.startStalledCheckTimer();
      }
      if (max <= 0) return [];
      const next = async (): Promise<Delivery | undefined> => {
        const token = randomUUID();
        const job = (await worker.getNextJob(token, { block: false })) as BullJob | undefined;
        return job ? { job, token } : undefined;
      };
      // One first, so that an empty queue costs one script; then the rest sent together: Redis runs them in
      // the order sent (oldest first), and a drained queue answers the surplus with nothing.
      const first = await next();
      if (!first) return [];
      const rest = max > 1 ? await corked(() => Promise.all(Array.from({ length: max - 1 }, next))) : [];
      const taken = [first, ...rest].filter((d): d is Delivery => d !== undefined);
      const lease = Math.max(1, Math.round(leaseMs));
      // Each job costs a script to take; another to set its lease only when that differs from the lock it came with.
      if (lease !== LOCK_MS) await Promise.all(taken.map(({ job, token }) => job.extendLock(token, lease)));
      return taken.map((delivery) => ({
        delivery,
        job: toJob(delivery.job),
        progressedAt: progressOf(delivery.job),
      }));
    },

    ack: ({ job, token }) => settle(job.moveToCompleted(null, token, false)),

    // BullMQ completes one job per script; sent together, they share the connection's round trips.
    ackMany: (deliveries) =>
      corked(() =>
        Promise.all(deliveries.map(({ delivery: { job, token } }) => settle(job.moveToCompleted(null, token, false)))),
      ),

    async retryLater({ job, token }, _job, delayMs, error, progressedAt) {
      if (progressedAt !== progressOf(job)) await job.updateProgress(progressedAt);
      await settle(job.moveToFailed(new RetryLater(error, delayMs), token, false));
    },

    bury: ({ job, token }, _job, reason) => settle(job.moveToFailed(new UnrecoverableError(reason), token, false)),

    async extend({ job, token }, mapped, leaseMs) {
      const extended = await job.extendLock(token, Math.max(1, Math.round(leaseMs))).catch((error) => {
        if (!isStale(error)) throw error;
        return 0;
      });
      if (!extended) throw new LeaseLostError(mapped.id);
    },

    progress: async ({ job }) => {
      await job.updateProgress(job.attemptsStarted);
    },

    async release({ job, token }) {
      await settle(job.moveToWait(token));
    },

    async listDeadLetters(limit): Promise<DeadLetter[]> {
      const failed = await queue.getFailed(0, Math.max(0, limit - 1));
      return failed.filter(Boolean).map((job) => ({
        ...toJob(job),
        lastError: job.failedReason ?? '',
        deadAt: new Date(job.finishedOn ?? job.timestamp),
      }));
    },

    async redrive(ids) {
      const jobs =
        ids === undefined ? await queue.getFailed(0, -1) : await Promise.all(ids.map((id) => queue.getJob(id)));
      let moved = 0;
      for (const job of jobs) {
        if (!job || (await job.getState()) !== 'failed') continue;
        // Fresh attempts: the progress mark of the old ones goes too.
        await job.updateProgress(0);
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        moved++;
      }
      return moved;
    },

    async jobState(jobId): Promise<JobState> {
      // Completed jobs are removed (removeOnComplete), so 'completed' is as good as gone; 'failed' is the dead-letter set.
      const state = await queue.getJobState(jobId);
      if (state === 'active') return 'active';
      if (state === 'failed') return 'dead';
      return state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children'
        ? 'queued'
        : 'unknown';
    },

    async depth() {
      const counts = await queue.getJobCounts('wait', 'prioritized', 'active', 'delayed', 'failed');
      return {
        ready: (counts.wait ?? 0) + (counts.prioritized ?? 0),
        inFlight: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        dead: counts.failed ?? 0,
      };
    },

    async close() {
      await adds.drain();
      await worker.close(true);
      await queue.close();
      await connection.quit().catch(() => undefined);
    },
  };
  return createQueueBinding(transport, options);
}
