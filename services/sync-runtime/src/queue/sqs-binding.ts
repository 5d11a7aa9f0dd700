/** The SQS binding: a standard queue and its dead-letter queue, as a transport of the queue core. */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  Message,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { DeadLetter, LeaseLostError, QueueBinding, RetryPolicy } from './binding';
import {
  JobBody,
  deadBody,
  deadLetterFromBody,
  jobFromBody,
  newJobBody,
  parseJobBody,
  redriveFilter,
  redrivenBody,
  retryBody,
  toSeconds,
  unreadableLetter,
} from './core/body';
import { type QueueTransport, type Received, type Unreadable, createQueueBinding } from './core/core';
import type { DedupeRegistry } from './core/dedupe';

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
  /** Null for a message that is not a job. */
  readonly body: JobBody | null;
  readonly text: string;
  /** The copy a retry or a dead letter sends exists: a settle tried again must not send it twice. */
  copied?: boolean;
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
  return createQueueBinding(sqsTransport(options), options);
}

function sqsTransport(options: SqsBindingOptions): QueueTransport<Delivery> {
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

  const send = async (url: string, body: JobBody | string, delaySeconds = 0) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    if (Buffer.byteLength(text) > MAX_BODY_BYTES)
      throw new Error(
        `job ${typeof body === 'string' ? '?' : body.id} is ${Buffer.byteLength(text)} bytes as JSON; SQS takes at most ${MAX_BODY_BYTES}`,
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
  /** Proves the delivery still holds its lease (for `seconds` more), else LeaseLostError. */
  const hold = async (d: Delivery, id: string, seconds: number) => {
    try {
      await setVisibility(queueUrl, d.receipt, Math.min(MAX_VISIBILITY_SECONDS, seconds));
    } catch (error) {
      if (isStale(error)) throw new LeaseLostError(id);
      throw error;
    }
  };
  /** Sends the copy that replaces a delivery (once, however often the settle is tried), then deletes the delivery. */
  const replace = async (d: Delivery, id: string, url: string, copy: JobBody | string, delaySeconds = 0) => {
    if (!d.copied) {
      // Only the delivery that holds the lease may send the copy, or the job would exist twice.
      await hold(d, id, 30);
      await send(url, copy, delaySeconds);
      d.copied = true;
    }
    await remove(queueUrl, d.receipt);
  };

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

  /** Every message of `url` (up to `limit`), each hidden for `seconds` while the caller looks at it. */
  const receiveAll = async (url: string, seconds: number, limit = Infinity) => {
    const all: Message[] = [];
    while (all.length < limit) {
      const batch = await receive(url, Math.min(10, limit - all.length), seconds);
      if (batch.length === 0) break;
      all.push(...batch);
    }
    return all;
  };
  const showAgain = (m: Message) =>
    setVisibility(dlqUrl, m.ReceiptHandle!, 0).catch((error) => (isStale(error) ? undefined : Promise.reject(error)));
  const bodyOf = (m: Message) => parseJobBody(m.Body ?? '', m.MessageId ?? '?');

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
    dedupeScope: queueUrl,

    async send(job, delayMs, id) {
      const delaySeconds = toSeconds(delayMs);
      if (delaySeconds > MAX_DELAY_SECONDS)
        throw new Error(`delayMs ${delayMs} is beyond SQS's longest delay (${MAX_DELAY_SECONDS} s)`);
      const body = newJobBody(job, id);
      await send(queueUrl, body, delaySeconds);
      return body.id;
    },

    async receive(max, leaseMs) {
      if (max <= 0) return [];
      const lease = Math.max(1, Math.min(MAX_VISIBILITY_SECONDS, toSeconds(leaseMs)));
      const messages = await receiveAll(queueUrl, lease, max);
      return messages.map((m): Received<Delivery> | Unreadable<Delivery> => {
        const text = m.Body ?? '';
        try {
          const body = bodyOf(m);
          const job = jobFromBody(body, Number(m.Attributes?.ApproximateReceiveCount ?? '1'));
          return { delivery: { receipt: m.ReceiptHandle!, body, text }, job, progressedAt: body.progressedAt ?? 0 };
        } catch (error) {
          return { delivery: { receipt: m.ReceiptHandle!, body: null, text }, unreadable: (error as Error).message };
        }
      });
    },

    async ack(d, job) {
      if (job.dedupeKey !== undefined) {
        // A stale delivery must not free the key of the job's live redelivery: check the lease first.
        try {
          await hold(d, job.id, 30);
        } catch (error) {
          if (error instanceof LeaseLostError) return false;
          throw error;
        }
      }
      // SQS ignores a stale receipt handle here, so acknowledging a lost delivery changes nothing.
      await remove(queueUrl, d.receipt);
      return true;
    },

    retryLater: (d, job, delayMs, _error, progressedAt) =>
      replace(
        d,
        job.id,
        queueUrl,
        retryBody(d.body!, job.attempts, progressedAt),
        Math.min(MAX_DELAY_SECONDS, toSeconds(delayMs)),
      ),

    async bury(d, job, reason) {
      // A message that is not a job goes to the dead letters as it is, for a person to read.
      await replace(d, job?.id ?? '?', dlqUrl, job && d.body ? deadBody(d.body, job.attempts, reason) : d.text);
      return true;
    },

    extend: (d, job, leaseMs) => hold(d, job.id, Math.max(1, toSeconds(leaseMs))),

    async release(d) {
      try {
        await setVisibility(queueUrl, d.receipt, 0);
      } catch (error) {
        if (!isStale(error)) throw error;
      }
    },

    async listDeadLetters(limit) {
      const messages = await receiveAll(dlqUrl, 30, limit);
      // Make them visible again at once: listing is a look, not a claim.
      await Promise.all(messages.map(showAgain));
      return messages.map((m): DeadLetter => {
        const sent = Number(m.Attributes?.SentTimestamp ?? Date.now());
        try {
          return deadLetterFromBody(
            bodyOf(m),
            "moved by the queue's RedrivePolicy after maxReceiveCount receives",
            sent,
          );
        } catch (error) {
          return unreadableLetter(m.MessageId ?? '?', m.Body, (error as Error).message, sent);
        }
      });
    },

    async redrive(ids) {
      const pick = redriveFilter(ids);
      let moved = 0;
      for (const m of await receiveAll(dlqUrl, 60)) {
        const body = pick(() => bodyOf(m));
        if (body) {
          await send(queueUrl, redrivenBody(body));
          await remove(dlqUrl, m.ReceiptHandle!);
          moved++;
        } else {
          await showAgain(m);
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
