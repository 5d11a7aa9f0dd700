import { randomUUID } from 'crypto';
import IORedis from 'ioredis';
import { Job as BullJob, Queue, Worker } from 'bullmq';
import {
  DEFAULT_RETRY,
  DeadLetter,
  Job,
  JobKind,
  LeaseLostError,
  NewJob,
  QueueBinding,
  RetryPolicy,
  backoffMs,
  checkJob,
} from './binding';

export interface BullmqBindingOptions {
  /** Redis URL (REDIS_URL). */
  readonly url: string;
  /** BullMQ queue name (default 'data-sync'). */
  readonly queue?: string;
  /** Redis key prefix (default 'bull'); tests use one per file so they never collide. */
  readonly prefix?: string;
  readonly retry?: RetryPolicy;
  /** How often jobs whose lease expired are looked for and made ready again (default 30 s). */
  readonly stalledIntervalMs?: number;
  readonly random?: () => number;
}

interface JobData {
  kind: JobKind;
  integration?: string;
  payload: unknown;
  dedupeKey?: string;
}

/** BullMQ's answers when a job is no longer this delivery's: acknowledged elsewhere, redelivered, or gone. */
const STALE = /^(Missing (key|lock) for job|Job \S+ is not in the \S+ state|Lock mismatch for job)/;

/**
 * The Redis binding: a BullMQ queue processed manually (getNextJob with a lock token per delivery),
 * so the worker loop, leases and acknowledgements look exactly like the other bindings'.
 * A lease is BullMQ's job lock; BullMQ's stalled-job checker makes a job whose lock expired ready
 * again. Durability is Redis's: run it with appendonly for enqueues to survive a Redis restart.
 */
export function createBullmqBinding(options: BullmqBindingOptions): QueueBinding {
  const retry = options.retry ?? DEFAULT_RETRY;
  const random = options.random ?? Math.random;
  const name = options.queue ?? 'data-sync';
  const prefix = options.prefix ?? 'bull';
  // BullMQ requires maxRetriesPerRequest null on connections its workers use.
  const connection = new IORedis(options.url, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection, prefix });
  const worker = new Worker(name, null, {
    connection,
    prefix,
    autorun: false,
    // Deliveries before the dead-letter queue count crashed ones too (checked in claim).
    maxStartedAttempts: retry.maxAttempts,
    maxStalledCount: retry.maxAttempts,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    settings: { backoffStrategy: (attemptsMade: number) => backoffMs(attemptsMade, retry, random) },
  });
  // Worker errors (a lost connection during the stalled check) are retried by BullMQ; they must not crash the process.
  worker.on('error', () => undefined);
  queue.on('error', () => undefined);
  let stalledCheckStarted = false;
  const deliveries = new Map<string, { job: BullJob; token: string }>();
  const key = (job: Job) => `${job.id}:${job.attempts}`;

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

  const delivery = (job: Job) => {
    const found = deliveries.get(key(job));
    if (!found) throw new Error(`job ${job.id} (delivery ${job.attempts}) was not claimed through this binding`);
    return found;
  };

  const ignoreStale = (error: unknown) => {
    if (!(error instanceof Error && STALE.test(error.message))) throw error;
  };

  return {
    name: `bullmq:${name}`,

    async enqueue(job: NewJob, opts) {
      checkJob(job);
      const data: JobData = {
        kind: job.kind,
        payload: job.payload ?? null,
        ...(job.integration !== undefined ? { integration: job.integration } : {}),
        ...(job.dedupeKey !== undefined ? { dedupeKey: job.dedupeKey } : {}),
      };
      const added = await queue.add(job.kind, data, {
        attempts: retry.maxAttempts,
        backoff: { type: 'jitter' },
        delay: Math.max(0, Math.round(opts?.delayMs ?? 0)),
        removeOnComplete: true,
        removeOnFail: false,
        ...(job.dedupeKey !== undefined ? { deduplication: { id: job.dedupeKey } } : {}),
      });
      return String(added.id);
    },

    async claim(max, leaseMs) {
      if (!stalledCheckStarted) {
        stalledCheckStarted = true;
        await worker.startStalledCheckTimer();
      }
      const claimed: Job[] = [];
      while (claimed.length < max) {
        const token = randomUUID();
        const job = (await worker.getNextJob(token, { block: false })) as BullJob | undefined;
        if (!job) break;
        if (job.attemptsStarted > retry.maxAttempts) {
          // Its lease expired on the last allowed delivery (the worker crashed every time): dead letter.
          await job.moveToFailed(
            new Error(`lease expired after ${job.attemptsStarted - 1} deliveries (worker crashed or stalled)`),
            token,
          );
          continue;
        }
        await job.extendLock(token, Math.max(1, Math.round(leaseMs)));
        const mapped = toJob(job);
        deliveries.set(key(mapped), { job, token });
        claimed.push(mapped);
      }
      return claimed;
    },

    async ack(job) {
      const { job: bull, token } = delivery(job);
      deliveries.delete(key(job));
      await bull.moveToCompleted(null, token, false).catch(ignoreStale);
    },

    async fail(job, error) {
      const { job: bull, token } = delivery(job);
      deliveries.delete(key(job));
      await bull.moveToFailed(new Error(error), token, false).catch(ignoreStale);
      return (await bull.getState()) === 'failed' ? 'dead' : 'retry';
    },

    async extend(job, leaseMs) {
      const { job: bull, token } = delivery(job);
      const extended = await bull.extendLock(token, Math.max(1, Math.round(leaseMs))).catch((error) => {
        ignoreStale(error);
        return 0;
      });
      if (!extended) throw new LeaseLostError(job.id);
    },

    async release(job) {
      const { job: bull, token } = delivery(job);
      deliveries.delete(key(job));
      await bull.moveToWait(token).catch(ignoreStale);
    },

    async listDeadLetters(limit = 100): Promise<DeadLetter[]> {
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
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        moved++;
      }
      return moved;
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
      await worker.close(true);
      await queue.close();
      await connection.quit().catch(() => undefined);
    },
  };
}
