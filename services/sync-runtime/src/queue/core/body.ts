/**
 * A job as a broker message body (SQS, Pub/Sub, Service Bus, Cloudflare Queues): JSON with the fields
 * lambda.ts's JOB_BODY reads (id, kind, integration, payload, dedupeKey), plus when it was first
 * enqueued, the deliveries it had before it was last re-sent (a retry or a redrive starts a new
 * message, whose broker-side delivery count starts again) and the last of those that made progress.
 */
import { randomUUID } from 'crypto';
import { parseJobEnvelope } from '@data-sync/config/job-message';
import { checkJob, type DeadLetter, type Job, type JobKind, type NewJob } from '../binding';

export interface JobBody {
  readonly id: string;
  readonly kind: JobKind;
  readonly integration?: string;
  readonly payload: unknown;
  readonly dedupeKey?: string;
  readonly enqueuedAt: number;
  readonly attemptsBefore: number;
  /** The attempt of the last delivery that reported progress (0: none). */
  readonly progressedAt?: number;
}

/** A dead letter's body: the job's body with why and when it died. */
export interface DeadBody extends JobBody {
  readonly lastError: string;
  readonly deadAt: number;
}

export function newJobBody(job: NewJob, id: string = randomUUID(), now = Date.now()): JobBody {
  checkJob(job);
  return {
    id,
    kind: job.kind,
    ...(job.integration !== undefined ? { integration: job.integration } : {}),
    payload: job.payload ?? null,
    ...(job.dedupeKey !== undefined ? { dedupeKey: job.dedupeKey } : {}),
    enqueuedAt: now,
    attemptsBefore: 0,
  };
}

/**
 * Parses a message body (written by newJobBody, a dead letter's, or a stack's schedule message, which
 * has no id and takes the broker's message id) with the job-message contract; throws naming the problem.
 */
export function parseJobBody(text: string, messageId: string, sentAt = Date.now()): DeadBody | JobBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`message ${messageId}: body is not JSON`);
  }
  return jobBodyOf(body, messageId, sentAt);
}

/** The job body of an already decoded message (Cloudflare Queues hands the consumer objects). */
export function jobBodyOf(body: unknown, messageId: string, sentAt = Date.now()): DeadBody | JobBody {
  // Anything but an object is refused by the contract as it is, so the error names what it got.
  if (!body || typeof body !== 'object' || Array.isArray(body)) parseJobEnvelope(body, `message ${messageId}`);
  const { lastError, deadAt, ...message } = body as Record<string, unknown>;
  const job = parseJobEnvelope(message, `message ${messageId}`);
  const jobBody: JobBody = {
    ...job,
    payload: job.payload ?? null,
    id: job.id ?? messageId,
    enqueuedAt: job.enqueuedAt ?? sentAt,
    attemptsBefore: job.attemptsBefore ?? 0,
  };
  if (typeof lastError !== 'string') return jobBody;
  return { ...jobBody, lastError, deadAt: typeof deadAt === 'number' ? deadAt : sentAt };
}

export function jobFromBody(body: JobBody, deliveries: number): Job {
  return {
    id: body.id,
    kind: body.kind,
    ...(body.integration !== undefined ? { integration: body.integration } : {}),
    payload: body.payload,
    ...(body.dedupeKey !== undefined ? { dedupeKey: body.dedupeKey } : {}),
    attempts: body.attemptsBefore + deliveries,
    enqueuedAt: new Date(body.enqueuedAt),
  };
}

export function deadLetterFromBody(
  body: DeadBody | JobBody,
  fallbackError: string,
  fallbackDeadAt: number,
): DeadLetter {
  const dead = body as Partial<DeadBody>;
  return {
    ...jobFromBody(body, 0),
    lastError: dead.lastError ?? fallbackError,
    deadAt: new Date(dead.deadAt ?? fallbackDeadAt),
  };
}

/** The fields a job keeps whatever happens to its messages. */
const identity = ({ id, kind, integration, payload, dedupeKey, enqueuedAt }: JobBody) => ({
  id,
  kind,
  ...(integration !== undefined ? { integration } : {}),
  payload,
  ...(dedupeKey !== undefined ? { dedupeKey } : {}),
  enqueuedAt,
});

/** A job body with its error, ready for the dead-letter queue. */
export function deadBody(body: JobBody, attempts: number, lastError: string): DeadBody {
  return { ...identity(body), attemptsBefore: attempts, lastError, deadAt: Date.now() };
}

/** The body of a retry: a new message that remembers the deliveries so far and the last that made progress. */
export function retryBody(body: JobBody, attempts: number, progressedAt: number): JobBody {
  return { ...identity(body), attemptsBefore: attempts, ...(progressedAt > 0 ? { progressedAt } : {}) };
}

/** A dead letter's body back as a fresh job (same id, attempts start again). */
export function redrivenBody(body: JobBody): JobBody {
  return { ...identity(body), attemptsBefore: 0 };
}

/** A dead letter for a message that is not a job: its text as the payload, for a person to read. */
export function unreadableLetter(id: string, text: unknown, error: string, at: number): DeadLetter {
  return {
    id,
    kind: 'sync',
    payload: text ?? null,
    attempts: 0,
    enqueuedAt: new Date(at),
    lastError: error,
    deadAt: new Date(at),
  };
}

/** Cloud queues' delays and leases are whole seconds: round up, so a job is never early. */
export const toSeconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/** For redrive: the dead letter's job body when it parses and is among `ids` (all when absent), else null (it stays). */
export function redriveFilter(ids?: readonly string[]): (parse: () => JobBody) => JobBody | null {
  const wanted = ids ? new Set(ids) : null;
  return (parse) => {
    let body: JobBody;
    try {
      body = parse();
    } catch {
      return null;
    }
    return !wanted || wanted.has(body.id) ? body : null;
  };
}
