/**
 * The Azure Service Bus binding: one queue in peek-lock mode, its dead-letter subqueue for the dead
 * letters. Typed against the narrow slice of @azure/service-bus it uses, so tests can stand a fake in.
 */
import { randomUUID } from 'crypto';
import Long from 'long';
import type {
  PeekMessagesOptions,
  QueueRuntimeProperties,
  ReceiveMessagesOptions,
  ServiceBusMessage,
  ServiceBusReceivedMessage,
  ServiceBusReceiverOptions,
} from '@azure/service-bus';
import { DeadLetter, LeaseLostError, QueueBinding, RetryPolicy } from './binding';
import {
  JobBody,
  deadLetterFromBody,
  jobFromBody,
  newJobBody,
  parseJobBody,
  redriveFilter,
  redrivenBody,
  retryBody,
  unreadableLetter,
} from './core/body';
import { type QueueTransport, type Received, type Unreadable, createQueueBinding } from './core/core';
import type { DedupeRegistry } from './core/dedupe';

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
  | 'sequenceNumber'
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
  peekMessages(
    maxMessageCount: number,
    options?: Pick<PeekMessagesOptions, 'fromSequenceNumber'>,
  ): Promise<SbReceivedMessage[]>;
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
  /** Null for a message that is not a job. */
  readonly body: JobBody | null;
  /** The retry's scheduled copy exists: a settle tried again must not schedule it twice. */
  copied?: boolean;
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
  return createQueueBinding(serviceBusTransport(options), options);
}

/**
 * Pages of up to `limit` messages peeked from the start of the entity. Each page names where it
 * starts: without a sequence number the SDK peeks on from a cursor it keeps per connection and
 * entity, shared by every receiver of the client, so a second listing would start where the first ended.
 */
async function* peekPages(receiver: SbReceiver, limit: number): AsyncGenerator<SbReceivedMessage[]> {
  let from = Long.ZERO;
  for (let seen = 0; seen < limit;) {
    const page = await receiver.peekMessages(Math.min(100, limit - seen), { fromSequenceNumber: from });
    if (page.length === 0) return;
    seen += page.length;
    from = Long.fromValue(page[page.length - 1].sequenceNumber!).add(1);
    yield page;
  }
}

function serviceBusTransport(options: ServiceBusBindingOptions): QueueTransport<Delivery> {
  const waitMs = options.receiveWaitMs ?? 100;
  const peekLimit = options.depthPeekLimit ?? 1000;
  const { client, admin, queue } = options;
  const sender = client.createSender(queue);
  // The SDK renews the lock of every received message for 5 minutes unless told not to: then a
  // lease would outlive the worker's interest in it, and keepLocked renews exactly as long as the lease.
  const receiver = client.createReceiver(queue, { receiveMode: 'peekLock', maxAutoLockRenewalDurationInMs: 0 });
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

  /** Settles a delivery: true, or false when its lock was lost (another delivery owns the job). */
  const settle = async (d: Delivery, action: () => Promise<void>) => {
    stopRenewing(d);
    try {
      await action();
      return true;
    } catch (error) {
      if (lockLost(error)) return false;
      throw error;
    }
  };
  const deadLetter = (m: SbReceivedMessage, reason: string, error: string) =>
    receiver.deadLetterMessage(m, {
      deadLetterReason: reason,
      deadLetterErrorDescription: error.slice(0, MAX_DESCRIPTION),
      deadAt: Date.now(),
    });

  /** A receiver on the dead-letter subqueue, closed after `fn`. */
  const withDeadLetters = async <T>(fn: (dlq: SbReceiver) => Promise<T>): Promise<T> => {
    const dlq = client.createReceiver(queue, {
      receiveMode: 'peekLock',
      subQueueType: 'deadLetter',
      maxAutoLockRenewalDurationInMs: 0,
    });
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
      return unreadableLetter(String(m.messageId ?? '?'), m.body, (error as Error).message, deadAt);
    }
  };

  return {
    name: 'servicebus',
    dedupeScope: queue,

    async send(job, delayMs, id) {
      const body = newJobBody(job, id);
      if (delayMs > 0) await sender.scheduleMessages(message(body), new Date(Date.now() + delayMs));
      else await sender.sendMessages(message(body));
      return body.id;
    },

    async receive(max, leaseMs) {
      if (max <= 0) return [];
      const received = await receiver.receiveMessages(max, { maxWaitTimeInMs: waitMs });
      return received.map((m): Received<Delivery> | Unreadable<Delivery> => {
        let body: JobBody;
        try {
          body = bodyOf(m);
        } catch (error) {
          return { delivery: { message: m, body: null, leaseUntil: 0 }, unreadable: (error as Error).message };
        }
        const d: Delivery = { message: m, body, leaseUntil: Date.now() + leaseMs };
        keepLocked(d);
        return {
          delivery: d,
          job: jobFromBody(body, (m.deliveryCount ?? 0) + 1),
          progressedAt: body.progressedAt ?? 0,
        };
      });
    },

    ack: (d) => settle(d, () => receiver.completeMessage(d.message)),

    async retryLater(d, job, delayMs, _error, progressedAt) {
      // Proves the lock is held before the copy exists, so a stale delivery never doubles the job.
      const settled = await settle(d, async () => {
        if (!d.copied) {
          await receiver.renewMessageLock(d.message);
          await sender.scheduleMessages(
            message(retryBody(d.body!, job.attempts, progressedAt)),
            new Date(Date.now() + delayMs),
          );
          d.copied = true;
        }
        await receiver.completeMessage(d.message);
      });
      if (!settled) throw new LeaseLostError(job.id);
    },

    async bury(d, job, reason) {
      const settled = await settle(d, () => deadLetter(d.message, job ? 'JobFailed' : 'NotAJob', reason));
      if (!settled && job) throw new LeaseLostError(job.id);
      return settled;
    },

    async extend(d, job, leaseMs) {
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

    async release(d) {
      await settle(d, () => receiver.abandonMessage(d.message));
    },

    async listDeadLetters(limit) {
      return withDeadLetters(async (dlq) => {
        const all: SbReceivedMessage[] = [];
        for await (const page of peekPages(dlq, limit)) all.push(...page);
        return all.map(toDeadLetter);
      });
    },

    async redrive(ids) {
      const pick = redriveFilter(ids);
      return withDeadLetters(async (dlq) => {
        let moved = 0;
        const kept: SbReceivedMessage[] = [];
        for (;;) {
          const batch = await dlq.receiveMessages(100, { maxWaitTimeInMs: waitMs });
          if (batch.length === 0) break;
          for (const m of batch) {
            const body = pick(() => bodyOf(m));
            // What is not redriven stays locked until the loop ends, so that the loop does end.
            if (!body) {
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
        const now = Date.now();
        for await (const page of peekPages(peeker, Math.min(peekLimit, props.activeMessageCount)))
          inFlight += page.filter((m) => (m.lockedUntilUtc?.getTime() ?? 0) > now).length;
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
