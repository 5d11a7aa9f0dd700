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
  /**
   * Only on jobs a binding delivered: the handler reports that this delivery made lasting progress
   * (the engine, after each committed page). A delivery that made progress does not count against
   * the retry budget, so a long sync that keeps committing pages is never dead-lettered.
   */
  readonly progress?: () => Promise<void>;
}

/** Told of every job a binding dead-letters (a last failure, or a lease that kept expiring), with the reason. */
export type DeadLetterListener = (job: Job, reason: string) => void | Promise<void>;

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

/**
 * Where a job is: waiting (ready or delayed), being worked on, dead-lettered, or 'unknown' when the
 * queue no longer holds it (acknowledged, or lost).
 */
export type JobState = 'queued' | 'active' | 'dead' | 'unknown';

export interface QueueBinding {
  readonly name: string;
  /** Optional: resolves once the binding can keep its promises; rejects with why not (the runtime then refuses to start). */
  ready?(): Promise<void>;
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
  /**
   * Marks several claimed jobs done, as ack() does each, in one request where the broker allows it (else
   * one by one). A stale delivery among them changes nothing, as with ack(); a rejection may leave any of
   * them unacknowledged (redelivered after its lease).
   */
  ackMany(jobs: readonly Job[]): Promise<void>;
  /** Marks a claimed job failed: retried with backoff and jitter, dead-lettered after maxAttempts deliveries without progress. */
  fail(job: Job, error: string): Promise<'retry' | 'dead'>;
  /** Extends a claimed job's lease while it is still being worked on; throws LeaseLostError when it was lost. */
  extend(job: Job, leaseMs: number): Promise<void>;
  /**
   * Optional: hands a claimed job back unfinished (graceful shutdown), ready for another worker at once.
   * Without it, a job that is not acknowledged is redelivered when its lease expires.
   */
  release?(job: Job): Promise<void>;
  /** Optional: calls `listener` for each job this binding dead-letters; returns the unsubscribe. */
  onDeadLetter?(listener: DeadLetterListener): () => void;
  /** Optional: the state of job `jobId`, so runs whose job is gone can be reconciled (engine/reconcile.ts). */
  jobState?(jobId: string): Promise<JobState>;
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

export { DEFAULT_RETRY, backoffMs, type RetryPolicy } from './core/policy';
