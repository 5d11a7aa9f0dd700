/**
 * The SQS binding (standard queue + a dead-letter queue), and the pieces the other cloud bindings
 * share with it: the job's message body (the format lambda.ts reads) and the dedupe registry.
 */
import { randomUUID } from 'crypto';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  Message,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { parseJobEnvelope } from '@data-sync/config/job-message';
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

/**
 * A job as a message body: JSON with the fields lambda.ts's JOB_BODY reads (id, kind, integration,
 * payload, dedupeKey), plus when it was first enqueued and the deliveries it had before it was last
 * re-sent (a retry or a redrive starts a new message, whose broker-side delivery count starts again).
 */
export interface JobBody {
  readonly id: string;
  readonly kind: JobKind;
  readonly integration?: string;
  readonly payload: unknown;
  readonly dedupeKey?: string;
  readonly enqueuedAt: number;
  readonly attemptsBefore: number;
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
  const { lastError, deadAt, ...message } = (body && typeof body === 'object' ? body : { body }) as Record<
    string,
    unknown
  >;
  const job = parseJobEnvelope(message, `message ${messageId}`);
  const jobBody: JobBody = {
    ...job,
    payload: job.payload ?? null,
    id: job.id ?? messageId,
    enqueuedAt: job.enqueuedAt ?? sentAt,
    attemptsBefore: job.attemptsBefore ?? 0,
  };
  return typeof lastError === 'string'
    ? { ...jobBody, lastError, deadAt: typeof deadAt === 'number' ? deadAt : sentAt }
    : jobBody;
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

/** A job body with its error, ready for the dead-letter queue. */
export function deadBody(body: JobBody, attempts: number, lastError: string): DeadBody {
  const { id, kind, integration, payload, dedupeKey, enqueuedAt } = body;
  return {
    id,
    kind,
    ...(integration !== undefined ? { integration } : {}),
    payload,
    ...(dedupeKey !== undefined ? { dedupeKey } : {}),
    enqueuedAt,
    attemptsBefore: attempts,
    lastError,
    deadAt: Date.now(),
  };
}

/** A dead letter's body back as a fresh job (same id, attempts start again). */
export function redrivenBody(body: JobBody): JobBody {
  const { id, kind, integration, payload, dedupeKey, enqueuedAt } = body;
  return {
    id,
    kind,
    ...(integration !== undefined ? { integration } : {}),
    payload,
    ...(dedupeKey !== undefined ? { dedupeKey } : {}),
    enqueuedAt,
    attemptsBefore: 0,
  };
}

/** Cloud queues' delays and leases are whole seconds: round up, so a job is never early. */
export const toSeconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

/**
 * Dedupe keys for brokers that have no "one pending job per key" (SQS standard queues, Pub/Sub,
 * Service Bus outside sessions): `reserve` returns the pending job's id when the key is taken, else
 * records `id`; `release` frees the key when that job is acknowledged or dead-lettered.
 */
export interface DedupeRegistry {
  reserve(scope: string, key: string, id: string): Promise<string>;
  release(scope: string, key: string, id: string): Promise<void>;
}

/**
 * The default registry: shared by every binding in this process. It does not span processes, so two
 * processes enqueueing the same key at once can both enqueue; the runtime enqueues scheduled syncs on
 * one instance only, and sinks are idempotent, so a duplicate costs a redundant run, never wrong data.
 */
export class ProcessDedupeRegistry implements DedupeRegistry {
  private readonly keys = new Map<string, string>();
  async reserve(scope: string, key: string, id: string): Promise<string> {
    const k = `${scope}\u0000${key}`;
    const existing = this.keys.get(k);
    if (existing !== undefined) return existing;
    this.keys.set(k, id);
    return id;
  }
  async release(scope: string, key: string, id: string): Promise<void> {
    const k = `${scope}\u0000${key}`;
    if (this.keys.get(k) === id) this.keys.delete(k);
  }
}

export const processDedupe = new ProcessDedupeRegistry();

export interface SqsBindingOptions {
  /** The work queue's URL. */
  readonly queueUrl: string;
  /** The dead-letter queue's URL (a standard queue; the work queue may name it in its RedrivePolicy too). */
  readonly deadLetterQueueUrl: string;
  /** A client to use; otherwise one is made from region/endpoint (credentials from the default chain). */
  readonly client?: SQSClient;
  readonly region?: string;
  readonly endpoint?: string;
  readonly retry?: RetryPolicy;
  readonly random?: () => number;
  /** ReceiveMessage long-poll seconds (0..20, default 0: claim answers at once, the worker loop polls). */
  readonly waitTimeSeconds?: number;
  readonly dedupe?: DedupeRegistry;
}

/** SQS's message size limit (256 KiB). */
const MAX_BODY_BYTES = 256 * 1024;
/** SQS's longest DelaySeconds. */
const MAX_DELAY_SECONDS = 900;
/** SQS's longest visibility timeout (12 hours). */
const MAX_VISIBILITY_SECONDS = 43_200;
/**
 * The answers SQS gives for a receipt handle that is no longer this delivery's (AWS answers an expired
 * one with InvalidParameterValue; the binding never sends an out-of-range timeout, so that is the only cause).
 */
const STALE = ['MessageNotInflight', 'ReceiptHandleIsInvalid', 'InvalidParameterValue'];
const isStale = (error: unknown) => {
  const name = (error as { name?: string })?.name ?? '';
  return STALE.some((s) => name.endsWith(s));
};

interface Delivery {
  readonly receipt: string;
  readonly body: JobBody;
}

/**
 * Jobs on an SQS standard queue.
 * - claim: ReceiveMessage with the lease as VisibilityTimeout; attempts are ApproximateReceiveCount
 *   plus the deliveries the job had before its last retry. A message received more than maxAttempts
 *   times (its workers crashed) is moved to the dead-letter queue with "lease expired".
 * - ack: DeleteMessage. extend / release: ChangeMessageVisibility (to the lease / to 0).
 * - fail: the job is re-sent with DelaySeconds = the backoff, then the delivery deleted. Not
 *   ChangeMessageVisibility: SQS counts such a message as in flight, so a backing-off job would look
 *   like one being worked on, and its delay could not be told from a lease. After maxAttempts the job
 *   is sent to the dead-letter queue with its error (the binding moves it, not the RedrivePolicy,
 *   because SQS's redrive keeps no error and counts receives, not failures).
 * - A RedrivePolicy on the queue stays useful as a safety net for consumers that are not this
 *   binding (the Lambda event source): set its maxReceiveCount above maxAttempts so that it never
 *   pre-empts the binding; letters it moves are listed with a generic error.
 * Standard queues deliver in roughly, not strictly, the order sent; a short poll (waitTimeSeconds 0)
 * may answer empty while messages exist on other SQS hosts: the worker simply polls again.
 */
export function createSqsBinding(options: SqsBindingOptions): QueueBinding {
  const retry = options.retry ?? DEFAULT_RETRY;
  const random = options.random ?? Math.random;
  const dedupe = options.dedupe ?? processDedupe;
  const waitTimeSeconds = options.waitTimeSeconds ?? 0;
  if (!Number.isInteger(waitTimeSeconds) || waitTimeSeconds < 0 || waitTimeSeconds > 20)
    throw new Error(`SQS waitTimeSeconds must be an integer 0..20; got ${waitTimeSeconds}`);
  const ownClient = !options.client;
  const client =
    options.client ??
    new SQSClient({
      ...(options.region ? { region: options.region } : {}),
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    });
  const queueUrl = options.queueUrl;
  const dlqUrl = options.deadLetterQueueUrl;
  const deliveries = new WeakMap<Job, Delivery>();

  const send = async (url: string, body: JobBody, delaySeconds = 0) => {
    const text = JSON.stringify(body);
    if (Buffer.byteLength(text) > MAX_BODY_BYTES)
      throw new Error(
        `job ${body.id} is ${Buffer.byteLength(text)} bytes as JSON; SQS takes at most ${MAX_BODY_BYTES}`,
      );
    await client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: text,
        ...(delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
      }),
    );
  };
  const remove = (url: string, receipt: string) =>
    client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: receipt }));
  const setVisibility = (url: string, receipt: string, seconds: number) =>
    client.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: receipt, VisibilityTimeout: seconds }),
    );

  const delivery = (job: Job) => {
    const found = deliveries.get(job);
    if (!found) throw new Error(`job ${job.id} (delivery ${job.attempts}) was not claimed through this SQS binding`);
    return found;
  };
  /** Proves the delivery still holds its lease (for `seconds` more), else LeaseLostError. */
  const hold = async (job: Job, seconds: number) => {
    try {
      await setVisibility(queueUrl, delivery(job).receipt, Math.min(MAX_VISIBILITY_SECONDS, seconds));
    } catch (error) {
      if (isStale(error)) throw new LeaseLostError(job.id);
      throw error;
    }
  };
  const releaseKey = (body: JobBody) =>
    body.dedupeKey !== undefined ? dedupe.release(queueUrl, body.dedupeKey, body.id) : Promise.resolve();

  const receive = async (url: string, max: number, visibilitySeconds: number): Promise<Message[]> => {
    const out = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: Math.min(10, max),
        VisibilityTimeout: visibilitySeconds,
        WaitTimeSeconds: url === queueUrl ? waitTimeSeconds : 0,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
      }),
    );
    return out.Messages ?? [];
  };

  /** Every dead letter, each hidden for `seconds` while the caller looks at it. */
  const receiveAllDead = async (seconds: number, limit = Infinity) => {
    const all: Message[] = [];
    while (all.length < limit) {
      const batch = await receive(dlqUrl, Math.min(10, limit - all.length), seconds);
      if (batch.length === 0) break;
      all.push(...batch);
    }
    return all;
  };

  const counts = async (url: string) => {
    const out = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    const a = out.Attributes ?? {};
    return {
      ready: Number(a.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  };

  return {
    name: 'sqs',
    async enqueue(job, opts) {
      const delaySeconds = toSeconds(opts?.delayMs ?? 0);
      if (delaySeconds > MAX_DELAY_SECONDS)
        throw new Error(`delayMs ${opts?.delayMs} is beyond SQS's longest delay (${MAX_DELAY_SECONDS} s)`);
      const body = newJobBody(job);
      if (job.dedupeKey !== undefined) {
        const owner = await dedupe.reserve(queueUrl, job.dedupeKey, body.id);
        if (owner !== body.id) return owner;
      }
      try {
        await send(queueUrl, body, delaySeconds);
      } catch (error) {
        await releaseKey(body);
        throw error;
      }
      return body.id;
    },

    async claim(max, leaseMs) {
      if (max <= 0) return [];
      const lease = Math.max(1, Math.min(MAX_VISIBILITY_SECONDS, toSeconds(leaseMs)));
      const jobs: Job[] = [];
      while (jobs.length < max) {
        const messages = await receive(queueUrl, max - jobs.length, lease);
        if (messages.length === 0) break;
        for (const message of messages) {
          const receipt = message.ReceiptHandle!;
          const received = Number(message.Attributes?.ApproximateReceiveCount ?? '1');
          let body: JobBody;
          try {
            body = parseJobBody(message.Body ?? '', message.MessageId ?? '?');
          } catch {
            // Not a job: it can never succeed, so it goes to the dead letters as it is, for a person to read.
            await client.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: message.Body ?? '' }));
            await remove(queueUrl, receipt);
            continue;
          }
          const job = jobFromBody(body, received);
          if (job.attempts > retry.maxAttempts) {
            await send(
              dlqUrl,
              deadBody(
                body,
                job.attempts - 1,
                `lease expired ${job.attempts - 1} times without an acknowledgement (worker crashed or stalled)`,
              ),
            );
            await remove(queueUrl, receipt);
            await releaseKey(body);
            continue;
          }
          deliveries.set(job, { receipt, body });
          jobs.push(job);
        }
      }
      return jobs;
    },

    async ack(job) {
      const { receipt, body } = delivery(job);
      if (body.dedupeKey !== undefined) {
        // A stale delivery must not free the key of the job's live redelivery: check the lease first.
        try {
          await hold(job, 30);
        } catch (error) {
          if (error instanceof LeaseLostError) return;
          throw error;
        }
      }
      // SQS ignores a stale receipt handle here, so acknowledging a lost delivery changes nothing.
      await remove(queueUrl, receipt);
      deliveries.delete(job);
      await releaseKey(body);
    },

    async fail(job, error) {
      const { receipt, body } = delivery(job);
      // Only the delivery that holds the lease may re-send the job, or it would exist twice.
      await hold(job, 30);
      if (job.attempts >= retry.maxAttempts) {
        await send(dlqUrl, deadBody(body, job.attempts, error));
        await remove(queueUrl, receipt);
        deliveries.delete(job);
        await releaseKey(body);
        return 'dead';
      }
      await send(
        queueUrl,
        { ...body, attemptsBefore: job.attempts },
        Math.min(MAX_DELAY_SECONDS, toSeconds(backoffMs(job.attempts, retry, random))),
      );
      await remove(queueUrl, receipt);
      deliveries.delete(job);
      return 'retry';
    },

    async extend(job, leaseMs) {
      await hold(job, Math.max(1, toSeconds(leaseMs)));
    },

    async release(job) {
      try {
        await setVisibility(queueUrl, delivery(job).receipt, 0);
      } catch (error) {
        if (!isStale(error)) throw error;
      }
      deliveries.delete(job);
    },

    async listDeadLetters(limit = 100) {
      const messages = await receiveAllDead(30, limit);
      // Make them visible again at once: listing is a look, not a claim.
      await Promise.all(
        messages.map((m) =>
          setVisibility(dlqUrl, m.ReceiptHandle!, 0).catch((error) =>
            isStale(error) ? undefined : Promise.reject(error),
          ),
        ),
      );
      return messages.map((m) => {
        const sent = Number(m.Attributes?.SentTimestamp ?? Date.now());
        try {
          return deadLetterFromBody(
            parseJobBody(m.Body ?? '', m.MessageId ?? '?'),
            "moved by the queue's RedrivePolicy after maxReceiveCount receives",
            sent,
          );
        } catch (error) {
          return {
            id: m.MessageId ?? '?',
            kind: 'sync',
            payload: m.Body ?? null,
            attempts: 0,
            enqueuedAt: new Date(sent),
            lastError: (error as Error).message,
            deadAt: new Date(sent),
          } satisfies DeadLetter;
        }
      });
    },

    async redrive(ids) {
      const wanted = ids ? new Set(ids) : null;
      const messages = await receiveAllDead(60);
      let moved = 0;
      for (const m of messages) {
        let body: JobBody | null = null;
        try {
          body = parseJobBody(m.Body ?? '', m.MessageId ?? '?');
        } catch {
          body = null;
        }
        if (body && (!wanted || wanted.has(body.id))) {
          await send(queueUrl, redrivenBody(body));
          await remove(dlqUrl, m.ReceiptHandle!);
          moved++;
        } else {
          await setVisibility(dlqUrl, m.ReceiptHandle!, 0).catch((error) =>
            isStale(error) ? undefined : Promise.reject(error),
          );
        }
      }
      return moved;
    },

    async depth() {
      const [main, dead] = await Promise.all([counts(queueUrl), counts(dlqUrl)]);
      return { ...main, dead: dead.ready + dead.inFlight + dead.delayed };
    },

    async close() {
      if (ownClient) client.destroy();
    },
  };
}
