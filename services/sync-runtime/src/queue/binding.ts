/**
 * The queue-binding interface every provider implements (in-store, Redis/BullMQ, SQS, Pub/Sub,
 * Service Bus, Cloudflare Queues), and that one contract suite tests.
 */
import type { Queryable } from '@data-sync/pipelines/db';
import { JOB_KINDS, parseJobEnvelope, type JobKind } from '@data-sync/config/job-message';

export { JOB_KINDS, type JobKind };

export interface NewJob {
  readonly kind: JobKind;
  /** Integration the job belongs to, when it has one. */
  readonly integration?: string;
  readonly payload: unknown;
  /** Enqueuing the same key again while the first is pending returns the first job's id. */
  readonly dedupeKey?: string;
}

/** Checks a job's envelope (config/job-message.ts) before any binding stores it; throws naming the bad field. */
export function checkJob(job: NewJob): void {
  parseJobEnvelope(
    { kind: job.kind, integration: job.integration, payload: job.payload, dedupeKey: job.dedupeKey },
    `${job.kind} job`,
  );
}

export interface Job extends NewJob {
  readonly id: string;
  /** Deliveries so far, including this one (1 on the first claim). */
  readonly attempts: number;
  readonly enqueuedAt: Date;
}

export interface DeadLetter extends Job {
  readonly lastError: string;
  readonly deadAt: Date;
}

export interface QueueDepth {
  readonly ready: number;
  readonly inFlight: number;
  readonly delayed: number;
  readonly dead: number;
}

export interface QueueBinding {
  readonly name: string;
  /** Durable once resolved: a crash after this loses nothing. Returns the job id. */
  enqueue(job: NewJob, options?: { delayMs?: number }): Promise<string>;
  /**
   * Only bindings that live in the store: enqueues inside the caller's open transaction `tx` (on the
   * same database), so the job exists exactly when the caller's other writes commit.
   */
  enqueueWithin?(tx: Queryable, job: NewJob, options?: { delayMs?: number }): Promise<string>;
  /** Claims up to `max` ready jobs for `leaseMs`; an unacknowledged job is redelivered after its lease. */
  claim(max: number, leaseMs: number): Promise<Job[]>;
  /** Marks a claimed job done. */
  ack(job: Job): Promise<void>;
  /** Marks a claimed job failed: retried with exponential backoff and jitter, dead-lettered after maxAttempts. */
  fail(job: Job, error: string): Promise<'retry' | 'dead'>;
  /** Extends a claimed job's lease while it is still being worked on; throws LeaseLostError when it was lost. */
  extend(job: Job, leaseMs: number): Promise<void>;
  /**
   * Optional: hands a claimed job back unfinished (graceful shutdown), ready for another worker at once.
   * Without it, a job that is not acknowledged is redelivered when its lease expires.
   */
  release?(job: Job): Promise<void>;
  listDeadLetters(limit?: number): Promise<DeadLetter[]>;
  /** Moves dead letters (all, or the given ids) back to the queue with fresh attempts. Returns how many. */
  redrive(ids?: readonly string[]): Promise<number>;
  depth(): Promise<QueueDepth>;
  close(): Promise<void>;
}

/** The job's lease expired and another delivery (or the dead-letter queue) owns it now. */
export class LeaseLostError extends Error {
  constructor(readonly jobId: string) {
    super(`lease of job ${jobId} was lost: it expired and the job was delivered again or dead-lettered`);
    this.name = 'LeaseLostError';
  }
}

/** Retry policy shared by bindings. */
export interface RetryPolicy {
  /** Deliveries before a job is dead-lettered (default 5). */
  readonly maxAttempts: number;
  /** First retry delay in ms (default 1000); doubles each attempt. */
  readonly baseDelayMs: number;
  /** Longest retry delay in ms (default 300000). */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 300_000 };

/** Exponential backoff with full jitter: a random delay in [0, min(max, base * 2^(attempt-1))]. */
export function backoffMs(attempt: number, policy: RetryPolicy = DEFAULT_RETRY, random = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}
