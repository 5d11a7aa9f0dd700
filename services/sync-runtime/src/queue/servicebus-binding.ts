/**
 * The Azure Service Bus binding: one queue in peek-lock mode, its dead-letter subqueue for the dead
 * letters. Typed against the narrow slice of @azure/service-bus it uses, so tests can stand a fake in.
 */
import { randomUUID } from 'crypto';
import type {
  QueueRuntimeProperties,
  ReceiveMessagesOptions,
  ServiceBusMessage,
  ServiceBusReceivedMessage,
  ServiceBusReceiverOptions,
} from '@azure/service-bus';
import { DEFAULT_RETRY, DeadLetter, Job, LeaseLostError, QueueBinding, RetryPolicy, backoffMs } from './binding';
import {
  DedupeRegistry,
  JobBody,
  deadLetterFromBody,
  jobFromBody,
  newJobBody,
  parseJobBody,
  processDedupe,
  redrivenBody,
} from './sqs-binding';

/** What the binding reads of a received message. */
export type SbReceivedMessage = Pick<
  ServiceBusReceivedMessage,
  | 'body'
  | 'messageId'
  | 'applicationProperties'
  | 'deliveryCount'
  | 'lockToken'
  | 'lockedUntilUtc'
  | 'enqueuedTimeUtc'
  | 'deadLetterReason'
  | 'deadLetterErrorDescription'
>;

/** The ServiceBusSender methods the binding uses (the real sender satisfies it). */
export interface SbSender {
  sendMessages(message: ServiceBusMessage): Promise<void>;
  scheduleMessages(message: ServiceBusMessage, scheduledEnqueueTimeUtc: Date): Promise<unknown[]>;
  close(): Promise<void>;
}

/** The ServiceBusReceiver methods the binding uses (the real receiver satisfies it). */
export interface SbReceiver {
  receiveMessages(maxMessageCount: number, options?: ReceiveMessagesOptions): Promise<SbReceivedMessage[]>;
  peekMessages(maxMessageCount: number): Promise<SbReceivedMessage[]>;
  completeMessage(message: SbReceivedMessage): Promise<void>;
  abandonMessage(message: SbReceivedMessage): Promise<void>;
  deadLetterMessage(
    message: SbReceivedMessage,
    options?: { deadLetterReason?: string; deadLetterErrorDescription?: string } & {
      [key: string]: number | boolean | string | Date | null;
    },
  ): Promise<void>;
  renewMessageLock(message: SbReceivedMessage): Promise<Date>;
  close(): Promise<void>;
}

/** The ServiceBusClient methods the binding uses. */
export interface SbClient {
  createSender(queueOrTopicName: string): SbSender;
  createReceiver(queueName: string, options?: ServiceBusReceiverOptions): SbReceiver;
  close(): Promise<void>;
}

/** The ServiceBusAdministrationClient method depth() uses. */
export interface SbAdmin {
  getQueueRuntimeProperties(
    queueName: string,
  ): Promise<Pick<QueueRuntimeProperties, 'activeMessageCount' | 'scheduledMessageCount' | 'deadLetterMessageCount'>>;
}

export interface ServiceBusBindingOptions {
  readonly client: SbClient;
  readonly admin: SbAdmin;
  readonly queue: string;
  /** Closes the client with the binding (when the binding made it). */
  readonly ownsClient?: boolean;
  readonly retry?: RetryPolicy;
  readonly random?: () => number;
  /** How long claim waits for a first message (default 100 ms: claim answers fast, the worker loop polls). */
  readonly receiveWaitMs?: number;
  /** Active messages peeked at most to tell leased from ready in depth() (default 1000). */
  readonly depthPeekLimit?: number;
  readonly dedupe?: DedupeRegistry;
}

/** Service Bus's longest dead-letter error description. */
const MAX_DESCRIPTION = 4096;
const lockLost = (error: unknown) =>
  ['MessageLockLost', 'MessageNotFound', 'SessionLockLost'].includes((error as { code?: string })?.code ?? '');

interface Delivery {
  readonly message: SbReceivedMessage;
  readonly body: JobBody;
  /** The lease the worker asked for: the lock is renewed until then. */
  leaseUntil: number;
  timer?: NodeJS.Timeout;
}

/**
 * Jobs on a Service Bus queue, received in peek-lock mode.
 * - claim: receiveMessages. The lock's length is the queue's LockDuration (Service Bus does not take
 *   one per receive), so a lease longer than it is kept by renewing the lock until the lease ends;
 *   a crashed worker stops renewing and the job is redelivered after at most LockDuration.
 *   Attempts are the deliveries before the last re-send plus deliveryCount + 1 (the JS SDK exposes
 *   the AMQP header, 0 on the first delivery).
 * - ack: completeMessage. extend: renewMessageLock. release: abandonMessage.
 * - fail: a copy is scheduled (scheduleMessages) at now + backoff and the delivery completed: Service
 *   Bus has no per-message visibility delay, and abandon makes the message ready at once. After
 *   maxAttempts: deadLetterMessage with the error, which the DLQ subqueue keeps for list and redrive.
 * - The queue's MaxDeliveryCount dead-letters jobs whose workers keep crashing (reason
 *   MaxDeliveryCountExceeded); the binding also does so itself once attempts pass maxAttempts.
 * - Each send gets a fresh messageId: with duplicate detection on, a re-send carrying the job id as
 *   messageId would be dropped as a duplicate.
 */
export function createServiceBusBinding(options: ServiceBusBindingOptions): QueueBinding {
  const retry = options.retry ?? DEFAULT_RETRY;
  const random = options.random ?? Math.random;
  const dedupe = options.dedupe ?? processDedupe;
  const waitMs = options.receiveWaitMs ?? 100;
  const peekLimit = options.depthPeekLimit ?? 1000;
  const { client, admin, queue } = options;
  const sender = client.createSender(queue);
  const receiver = client.createReceiver(queue, { receiveMode: 'peekLock' });
  const deliveries = new WeakMap<Job, Delivery>();
  const live = new Set<Delivery>();

  const message = (body: JobBody): ServiceBusMessage => ({
    body,
    messageId: randomUUID(),
    contentType: 'application/json',
    applicationProperties: { jobId: body.id },
  });
  const bodyOf = (m: SbReceivedMessage) =>
    parseJobBody(
      typeof m.body === 'string' ? m.body : JSON.stringify(m.body),
      m.messageId !== undefined ? String(m.messageId) : '?',
      m.enqueuedTimeUtc?.getTime(),
    );
  const releaseKey = (body: JobBody) =>
    body.dedupeKey !== undefined ? dedupe.release(queue, body.dedupeKey, body.id) : Promise.resolve();

  const stopRenewing = (d: Delivery) => {
    if (d.timer) clearTimeout(d.timer);
    d.timer = undefined;
    live.delete(d);
  };
  /** Renews the lock before it runs out, for as long as the lease lasts. */
  const keepLocked = (d: Delivery) => {
    if (d.timer) clearTimeout(d.timer);
    const lockedUntil = d.message.lockedUntilUtc?.getTime() ?? 0;
    if (lockedUntil >= d.leaseUntil) return stopRenewing(d);
    live.add(d);
    d.timer = setTimeout(
      () => {
        receiver.renewMessageLock(d.message).then(
          (until) => {
            (d.message as { lockedUntilUtc?: Date }).lockedUntilUtc = until;
            if (live.has(d)) keepLocked(d);
          },
          // Lost: another delivery owns the job now; this one's ack and extend will say so.
          () => stopRenewing(d),
        );
      },
      Math.max(10, (lockedUntil - Date.now()) / 2),
    );
    d.timer.unref();
  };

  const delivery = (job: Job) => {
    const found = deliveries.get(job);
    if (!found)
      throw new Error(`job ${job.id} (delivery ${job.attempts}) was not claimed through this Service Bus binding`);
    return found;
  };
  /** Settles a delivery; a lost lock becomes LeaseLostError. */
  const settle = async (job: Job, d: Delivery, action: () => Promise<void>) => {
    stopRenewing(d);
    try {
      await action();
    } catch (error) {
      if (lockLost(error)) throw new LeaseLostError(job.id);
      throw error;
    }
    deliveries.delete(job);
  };
  const deadLetter = (m: SbReceivedMessage, reason: string, error: string) =>
    receiver.deadLetterMessage(m, {
      deadLetterReason: reason,
      deadLetterErrorDescription: error.slice(0, MAX_DESCRIPTION),
      deadAt: Date.now(),
    });

  /** A fresh receiver on the dead-letter subqueue (a receiver's peek cursor only moves forward). */
  const withDeadLetters = async <T>(fn: (dlq: SbReceiver) => Promise<T>): Promise<T> => {
    const dlq = client.createReceiver(queue, { receiveMode: 'peekLock', subQueueType: 'deadLetter' });
    try {
      return await fn(dlq);
    } finally {
      await dlq.close();
    }
  };
  const toDeadLetter = (m: SbReceivedMessage): DeadLetter => {
    const props = (m.applicationProperties ?? {}) as Record<string, unknown>;
    const deadAt = typeof props.deadAt === 'number' ? props.deadAt : (m.enqueuedTimeUtc?.getTime() ?? Date.now());
    const lastError = m.deadLetterErrorDescription || m.deadLetterReason || 'dead-lettered by Service Bus';
    try {
      return { ...deadLetterFromBody(bodyOf(m), lastError, deadAt), lastError, deadAt: new Date(deadAt) };
    } catch (error) {
      return {
        id: String(m.messageId ?? '?'),
        kind: 'sync',
        payload: m.body ?? null,
        attempts: 0,
        enqueuedAt: new Date(deadAt),
        lastError: (error as Error).message,
        deadAt: new Date(deadAt),
      };
    }
  };

  return {
    name: 'servicebus',
    async enqueue(job, opts) {
      const body = newJobBody(job);
      if (job.dedupeKey !== undefined) {
        const owner = await dedupe.reserve(queue, job.dedupeKey, body.id);
        if (owner !== body.id) return owner;
      }
      const delayMs = Math.max(0, opts?.delayMs ?? 0);
      try {
        if (delayMs > 0) await sender.scheduleMessages(message(body), new Date(Date.now() + delayMs));
        else await sender.sendMessages(message(body));
      } catch (error) {
        await releaseKey(body);
        throw error;
      }
      return body.id;
    },

    async claim(max, leaseMs) {
      if (max <= 0) return [];
      const jobs: Job[] = [];
      const received = await receiver.receiveMessages(max, { maxWaitTimeInMs: waitMs });
      for (const m of received) {
        let body: JobBody;
        try {
          body = bodyOf(m);
        } catch (error) {
          // Not a job: it can never succeed, so it goes to the dead letters as it is, for a person to read.
          await deadLetter(m, 'NotAJob', (error as Error).message);
          continue;
        }
        const job = jobFromBody(body, (m.deliveryCount ?? 0) + 1);
        if (job.attempts > retry.maxAttempts) {
          await deadLetter(
            m,
            'LeaseExpired',
            `lease expired ${job.attempts - 1} times without an acknowledgement (worker crashed or stalled)`,
          );
          await releaseKey(body);
          continue;
        }
        const d: Delivery = { message: m, body, leaseUntil: Date.now() + leaseMs };
        deliveries.set(job, d);
        keepLocked(d);
        jobs.push(job);
      }
      return jobs;
    },

    async ack(job) {
      const d = delivery(job);
      try {
        await settle(job, d, () => receiver.completeMessage(d.message));
      } catch (error) {
        // A lost lock: the job belongs to its redelivery, whose own ack counts.
        if (error instanceof LeaseLostError) return;
        throw error;
      }
      await releaseKey(d.body);
    },

    async fail(job, error) {
      const d = delivery(job);
      if (job.attempts >= retry.maxAttempts) {
        await settle(job, d, () => deadLetter(d.message, 'JobFailed', error));
        await releaseKey(d.body);
        return 'dead';
      }
      // Proves the lock is held before the copy exists, so a stale delivery never doubles the job.
      await settle(job, d, async () => {
        await receiver.renewMessageLock(d.message);
        const retryAt = new Date(Date.now() + backoffMs(job.attempts, retry, random));
        await sender.scheduleMessages(message({ ...d.body, attemptsBefore: job.attempts }), retryAt);
        await receiver.completeMessage(d.message);
      });
      return 'retry';
    },

    async extend(job, leaseMs) {
      const d = delivery(job);
      try {
        (d.message as { lockedUntilUtc?: Date }).lockedUntilUtc = await receiver.renewMessageLock(d.message);
      } catch (error) {
        if (lockLost(error)) {
          stopRenewing(d);
          throw new LeaseLostError(job.id);
        }
        throw error;
      }
      d.leaseUntil = Date.now() + leaseMs;
      keepLocked(d);
    },

    async release(job) {
      const d = delivery(job);
      try {
        await settle(job, d, () => receiver.abandonMessage(d.message));
      } catch (error) {
        if (!(error instanceof LeaseLostError)) throw error;
      }
    },

    async listDeadLetters(limit = 100) {
      return withDeadLetters(async (dlq) => {
        const all: SbReceivedMessage[] = [];
        while (all.length < limit) {
          const page = await dlq.peekMessages(Math.min(100, limit - all.length));
          if (page.length === 0) break;
          all.push(...page);
        }
        return all.map(toDeadLetter);
      });
    },

    async redrive(ids) {
      const wanted = ids ? new Set(ids) : null;
      return withDeadLetters(async (dlq) => {
        let moved = 0;
        const kept: SbReceivedMessage[] = [];
        for (;;) {
          const batch = await dlq.receiveMessages(100, { maxWaitTimeInMs: waitMs });
          if (batch.length === 0) break;
          for (const m of batch) {
            let body: JobBody | null;
            try {
              body = bodyOf(m);
            } catch {
              body = null;
            }
            // What is not redriven stays locked until the loop ends, so that the loop does end.
            if (!body || (wanted && !wanted.has(body.id))) {
              kept.push(m);
              continue;
            }
            await sender.sendMessages(message(redrivenBody(body)));
            await dlq.completeMessage(m);
            moved++;
          }
        }
        for (const m of kept) await dlq.abandonMessage(m);
        return moved;
      });
    },

    async depth() {
      const props = await admin.getQueueRuntimeProperties(queue);
      // Active messages include locked ones: the locked ones among the first `peekLimit` are in flight.
      const peeker = client.createReceiver(queue, { receiveMode: 'peekLock' });
      let inFlight = 0;
      try {
        let seen = 0;
        const now = Date.now();
        while (seen < Math.min(peekLimit, props.activeMessageCount)) {
          const page = await peeker.peekMessages(Math.min(100, peekLimit - seen));
          if (page.length === 0) break;
          seen += page.length;
          inFlight += page.filter((m) => (m.lockedUntilUtc?.getTime() ?? 0) > now).length;
        }
      } finally {
        await peeker.close();
      }
      return {
        ready: props.activeMessageCount - inFlight,
        inFlight,
        delayed: props.scheduledMessageCount,
        dead: props.deadLetterMessageCount,
      };
    },

    async close() {
      for (const d of [...live]) stopRenewing(d);
      await receiver.close();
      await sender.close();
      if (options.ownsClient) await client.close();
    },
  };
}
