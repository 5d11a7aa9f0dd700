/**
 * The queue-binding core: attempts, backoff with jitter, dead letters, dedupe, progress and the
 * dead-letter hook, over a thin transport per broker (the store's table, BullMQ, SQS, Pub/Sub,
 * Service Bus). A transport moves messages; every decision about them is taken here, once.
 */
import { randomUUID } from 'crypto';
import type { Queryable } from '@data-sync/pipelines/db';
import {
  checkJob,
  type DeadLetter,
  type DeadLetterListener,
  type Job,
  LeaseLostError,
  type JobState,
  type NewJob,
  type QueueBinding,
  type QueueDepth,
} from '../binding';
import { type DedupeRegistry, processDedupe } from './dedupe';
import { DEFAULT_RETRY, type RetryPolicy, afterFailure, leaseBudgetSpent, retrying, stalledDeliveries } from './policy';

/** A message the transport received, with its delivery handle `D` (a receipt, a lock token, a row's identity). */
export interface Received<D> {
  readonly delivery: D;
  /** The job, with `attempts` counting this delivery. */
  readonly job: Job;
  /** The attempt of the last delivery that reported progress (0: none). */
  readonly progressedAt: number;
}

/** A message that is not a job: it can never succeed, so it goes to the dead letters as it is. */
export interface Unreadable<D> {
  readonly delivery: D;
  readonly unreadable: string;
}

/** What a broker must do for the core; each method moves messages and decides nothing. */
export interface QueueTransport<D> {
  readonly name: string;
  /** Resolves once the broker can keep the binding's promises (durability checked); rejects with why not. */
  ready?(): Promise<void>;
  /**
   * Where the core's dedupe registry keeps this queue's keys (its URL or name). Absent when the
   * transport keeps one pending job per dedupe key itself (the store's unique index, BullMQ).
   */
  readonly dedupeScope?: string;
  /** Sends a checked job, due after `delayMs`; `id` is given when the core reserved a dedupe key for it. Returns its id. */
  send(job: NewJob, delayMs: number, id?: string): Promise<string>;
  /** Only transports in the store: sends inside the caller's transaction. */
  sendWithin?(tx: Queryable, job: NewJob, delayMs: number): Promise<string>;
  /** Receives up to `max` messages, each leased for `leaseMs`. */
  receive(max: number, leaseMs: number): Promise<Array<Received<D> | Unreadable<D>>>;
  /** Deletes a delivered job; false when the delivery was stale (its lease lost), so nothing changed. */
  ack(delivery: D, job: Job): Promise<boolean>;
  /**
   * Deletes several delivered jobs in one request, answering as ack() for each, in order. Without it the
   * core acknowledges them one by one. Must be safe to repeat: the core tries it again after a blip.
   */
  ackMany?(deliveries: ReadonlyArray<{ readonly delivery: D; readonly job: Job }>): Promise<boolean[]>;
  /** Makes the job due again after `delayMs`, remembering `progressedAt`; throws LeaseLostError for a stale delivery. */
  retryLater(delivery: D, job: Job, delayMs: number, error: string, progressedAt: number): Promise<void>;
  /** Moves a delivery (`job` null: an unreadable message) to the dead letters with `reason`; false when it was stale. */
  bury(delivery: D, job: Job | null, reason: string): Promise<boolean>;
  /** Extends the lease; throws LeaseLostError when it was lost. */
  extend(delivery: D, job: Job, leaseMs: number): Promise<void>;
  /** Records durably that this delivery made progress, where the broker can hold it (else the core remembers it until fail). */
  progress?(delivery: D, job: Job): Promise<void>;
  /** Hands the delivery back unfinished, without counting it as an attempt where the broker allows. */
  release(delivery: D, job: Job): Promise<void>;
  listDeadLetters(limit: number): Promise<DeadLetter[]>;
  redrive(ids?: readonly string[]): Promise<number>;
  depth(): Promise<QueueDepth>;
  /** Where job `jobId` is, for transports that can look one up (run reconciliation). */
  jobState?(jobId: string): Promise<JobState>;
  close(): Promise<void>;
}

export interface QueueCoreOptions {
  /** Attempts and backoff. @default DEFAULT_RETRY */
  readonly retry?: RetryPolicy;
  /** Random source for backoff jitter (tests make it deterministic). @default Math.random */
  readonly random?: () => number;
  /** Dedupe keys of transports that have a `dedupeScope`. @default processDedupe */
  readonly dedupe?: DedupeRegistry;
}

interface Tracked<D> {
  readonly delivery: D;
  readonly progressedAt: number;
  progressed: boolean;
}

/** A settle refused by a blip is tried again; a lost lease is final. */
const transient = (error: unknown) => !(error instanceof LeaseLostError);

const leaseExpiredReason = (stalled: number) =>
  `lease expired after ${stalled} deliveries without progress or acknowledgement (worker crashed or stalled)`;

/** The QueueBinding over `transport`. */
export function createQueueBinding<D>(transport: QueueTransport<D>, options: QueueCoreOptions = {}): QueueBinding {
  const retry = options.retry ?? DEFAULT_RETRY;
  const random = options.random ?? Math.random;
  const dedupe = options.dedupe ?? processDedupe;
  const scope = transport.dedupeScope;
  const tracked = new WeakMap<Job, Tracked<D>>();
  const listeners = new Set<DeadLetterListener>();

  const delivery = (job: Job) => {
    const found = tracked.get(job);
    if (!found)
      throw new Error(`job ${job.id} (delivery ${job.attempts}) was not claimed through the ${transport.name} binding`);
    return found;
  };
  const releaseKey = (job: Job) =>
    scope !== undefined && job.dedupeKey !== undefined ? dedupe.release(scope, job.dedupeKey, job.id) : undefined;
  // Listeners own their errors (the runtime's logs them): one that fails must not stop a claim or a fail.
  const deadLettered = async (job: Job, reason: string) => {
    await releaseKey(job);
    await Promise.allSettled([...listeners].map(async (listener) => listener(job, reason)));
  };

  const track = (received: Received<D>): Job => {
    const entry: Tracked<D> = { delivery: received.delivery, progressedAt: received.progressedAt, progressed: false };
    const job: Job = {
      ...received.job,
      progress: async () => {
        if (tracked.get(job) !== entry) return;
        entry.progressed = true;
        // Best effort: this delivery's own fail() carries the progress anyway; only a crash right after loses it.
        await transport.progress?.(entry.delivery, job).catch(() => undefined);
      },
    };
    tracked.set(job, entry);
    return job;
  };

  const ack = async (job: Job) => {
    const entry = delivery(job);
    const acked = await retrying(() => transport.ack(entry.delivery, job), transient);
    tracked.delete(job);
    if (acked) await releaseKey(job);
  };

  return {
    name: transport.name,
    ...(transport.ready ? { ready: () => transport.ready!() } : {}),

    async enqueue(job, opts) {
      checkJob(job);
      const delayMs = Math.max(0, Math.round(opts?.delayMs ?? 0));
      if (scope === undefined || job.dedupeKey === undefined) return transport.send(job, delayMs);
      const id = randomUUID();
      const owner = await dedupe.reserve(scope, job.dedupeKey, id);
      if (owner !== id) return owner;
      try {
        return await transport.send(job, delayMs, id);
      } catch (error) {
        await dedupe.release(scope, job.dedupeKey, id);
        throw error;
      }
    },

    ...(transport.sendWithin
      ? {
          enqueueWithin: async (tx: Queryable, job: NewJob, opts?: { delayMs?: number }) => {
            checkJob(job);
            return transport.sendWithin!(tx, job, Math.max(0, Math.round(opts?.delayMs ?? 0)));
          },
        }
      : {}),

    async claim(max, leaseMs) {
      const jobs: Job[] = [];
      while (jobs.length < max) {
        const batch = await transport.receive(max - jobs.length, leaseMs);
        let buried = 0;
        for (const received of batch) {
          if ('unreadable' in received) {
            await transport.bury(received.delivery, null, received.unreadable);
            buried++;
          } else if (leaseBudgetSpent(received.job.attempts, received.progressedAt, retry)) {
            // Every delivery since the last progress let its lease expire (the worker crashed each time).
            const reason = leaseExpiredReason(stalledDeliveries(received.job.attempts - 1, received.progressedAt));
            if (await transport.bury(received.delivery, received.job, reason)) await deadLettered(received.job, reason);
            buried++;
          } else {
            jobs.push(track(received));
          }
        }
        // Only what was buried leaves room to fill: otherwise the transport gave all it had.
        if (buried === 0) break;
      }
      return jobs;
    },

    ack,

    async ackMany(jobs) {
      if (!transport.ackMany) {
        const settled = await Promise.allSettled(jobs.map(ack));
        const refused = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (refused) throw refused.reason;
        return;
      }
      const deliveries = jobs.map((job) => ({ delivery: delivery(job).delivery, job }));
      if (deliveries.length === 0) return;
      const acked = await retrying(() => transport.ackMany!(deliveries), transient);
      for (const job of jobs) tracked.delete(job);
      await Promise.all(jobs.map((job, i) => (acked[i] ? releaseKey(job) : undefined)));
    },

    async fail(job, error) {
      const entry = delivery(job);
      const progressedAt = entry.progressed ? job.attempts : entry.progressedAt;
      const next = afterFailure(job.attempts, progressedAt, retry, random);
      if (next.outcome === 'dead') {
        const buried = await retrying(() => transport.bury(entry.delivery, job, error), transient);
        tracked.delete(job);
        if (buried) await deadLettered(job, error);
        return 'dead';
      }
      await retrying(() => transport.retryLater(entry.delivery, job, next.delayMs, error, progressedAt), transient);
      tracked.delete(job);
      return 'retry';
    },

    async extend(job, leaseMs) {
      await transport.extend(delivery(job).delivery, job, leaseMs);
    },

    async release(job) {
      const entry = delivery(job);
      tracked.delete(job);
      await retrying(() => transport.release(entry.delivery, job), transient).catch((error) => {
        if (!(error instanceof LeaseLostError)) throw error;
      });
    },

    onDeadLetter(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    listDeadLetters: (limit = 100) => transport.listDeadLetters(limit),
    redrive: (ids) => transport.redrive(ids),
    depth: () => transport.depth(),
    ...(transport.jobState ? { jobState: (jobId: string) => transport.jobState!(jobId) } : {}),
    close: () => transport.close(),
  };
}
