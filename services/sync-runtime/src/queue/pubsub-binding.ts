/**
 * The Google Pub/Sub binding: a topic with a pull subscription for the jobs, and a dead-letter topic
 * with its own subscription for the dead letters. Also decodes push deliveries for `/pubsub/push`.
 */
import { PubSub, Topic, v1 } from '@google-cloud/pubsub';
import { DEFAULT_RETRY, DeadLetter, Job, LeaseLostError, QueueBinding, QueueDepth, RetryPolicy } from './binding';
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

export interface PubsubNames {
  /** Topic the jobs are published to. */
  readonly topic: string;
  /** Pull subscription of `topic` the workers claim from. */
  readonly subscription: string;
  /** Topic dead letters are published to (also the subscription's dead-letter policy target). */
  readonly deadLetterTopic: string;
  /** Subscription of `deadLetterTopic` that keeps the dead letters for listing and redrive. */
  readonly deadLetterSubscription: string;
}

export interface PubsubBindingOptions extends PubsubNames {
  readonly projectId?: string;
  /** host:port of an emulator or a private endpoint; otherwise PUBSUB_EMULATOR_HOST or Google's. */
  readonly apiEndpoint?: string;
  /** A client to use (its options are reused for the pull client); otherwise one is made. */
  readonly pubsub?: PubSub;
  readonly retry?: RetryPolicy;
  readonly random?: () => number;
  readonly dedupe?: DedupeRegistry;
  readonly depth?: PubsubDepthLedger;
}

/** Pub/Sub's longest ack deadline. */
const MAX_DEADLINE_SECONDS = 600;
/** Pub/Sub's message size limit (10 MB). */
const MAX_DATA_BYTES = 10 * 1024 * 1024;
/**
 * A delivery counts its lease as lost this long before the deadline it set: Pub/Sub's clock started
 * when the request reached it, so an extension or ack sent closer than this could land after it.
 */
const LEASE_MARGIN_MS = 250;

type LedgerState = 'ready' | 'inFlight' | 'delayed' | 'dead';

/**
 * Pub/Sub has no API that counts a subscription's messages (only Cloud Monitoring's sampled
 * num_undelivered_messages, minutes late and not split into ready, leased and backing off). So the
 * binding keeps the count itself, from what it does: `note` each job's state, until when it holds.
 */
export interface PubsubDepthLedger {
  note(subscription: string, id: string, state: LedgerState | 'gone', untilMs?: number): void;
  depth(subscription: string, now?: number): QueueDepth;
}

/**
 * The default ledger: shared by every binding in this process, so it is exact when all producers
 * and workers of the subscription live in one process (the tests, a single-instance deployment), and
 * undercounts otherwise: a multi-instance deployment should alert on Cloud Monitoring's metrics.
 */
export class ProcessDepthLedger implements PubsubDepthLedger {
  private readonly subscriptions = new Map<string, Map<string, { state: LedgerState; until: number }>>();
  note(subscription: string, id: string, state: LedgerState | 'gone', untilMs = 0): void {
    let jobs = this.subscriptions.get(subscription);
    if (!jobs) this.subscriptions.set(subscription, (jobs = new Map()));
    if (state === 'gone') jobs.delete(id);
    else jobs.set(id, { state, until: untilMs });
  }
  depth(subscription: string, now = Date.now()): QueueDepth {
    const depth = { ready: 0, inFlight: 0, delayed: 0, dead: 0 };
    for (const { state, until } of this.subscriptions.get(subscription)?.values() ?? []) {
      // A lease or a delay that ran out makes the job ready again, as it does in Pub/Sub.
      depth[(state === 'inFlight' || state === 'delayed') && until <= now ? 'ready' : state]++;
    }
    return depth;
  }
}

export const processDepthLedger = new ProcessDepthLedger();

/**
 * The subscription's own dead-letter policy stays a safety net for jobs no binding handles: it must
 * allow more deliveries than the binding (which dead-letters itself, recording the error), and
 * Pub/Sub takes 5..100.
 */
export const deadLetterPolicyAttempts = (retry: RetryPolicy = DEFAULT_RETRY) =>
  Math.min(100, Math.max(5, retry.maxAttempts + 1));

/**
 * Creates the topics and subscriptions the binding uses when they do not exist (development and the
 * emulator; deployments create them in the stack). The pull subscription gets a dead-letter policy,
 * which is also what makes Pub/Sub count delivery attempts.
 */
export async function ensurePubsubResources(
  pubsub: PubSub,
  names: PubsubNames,
  retry: RetryPolicy = DEFAULT_RETRY,
): Promise<void> {
  const topic = async (name: string) => {
    const t = pubsub.topic(name);
    const [exists] = await t.exists();
    if (!exists) await t.create();
    return t;
  };
  const jobs = await topic(names.topic);
  const dead = await topic(names.deadLetterTopic);
  const subscription = async (on: Topic, name: string, extra: object) => {
    const s = pubsub.subscription(name);
    const [exists] = await s.exists();
    if (!exists) await on.createSubscription(name, { ackDeadlineSeconds: 10, ...extra });
  };
  await subscription(dead, names.deadLetterSubscription, {});
  await subscription(jobs, names.subscription, {
    deadLetterPolicy: { deadLetterTopic: dead.name, maxDeliveryAttempts: deadLetterPolicyAttempts(retry) },
  });
}

interface Delivery {
  readonly message: Pulled;
  /** Null for a message that is not a job. */
  readonly body: JobBody | null;
  /** The progress mark this delivery was received with. */
  readonly progressedAt: number;
  /** Local time after which this delivery no longer holds the job. */
  deadline: number;
  /** The copy a retry or a dead letter publishes exists: a settle tried again must not publish it twice. */
  copied?: boolean;
}

interface Pulled {
  readonly ackId: string;
  readonly messageId: string;
  readonly data: Buffer;
  readonly attributes: Record<string, string>;
  readonly deliveryAttempt: number;
  readonly publishTime: number;
}

/**
 * Jobs on Pub/Sub, claimed by synchronous pull.
 * - claim: pull, then modifyAckDeadline to the lease; attempts are the delivery attempts Pub/Sub
 *   counts (the subscription needs a dead-letter policy for that) plus those before a redrive. A job
 *   pulled more than maxAttempts times (its workers crashed) is published to the dead-letter topic
 *   with "lease expired" and acknowledged.
 * - ack: acknowledge. extend: modifyAckDeadline. release: modifyAckDeadline 0.
 * - fail: modifyAckDeadline to the backoff (the next pull is the next attempt); after maxAttempts the
 *   job is published to the dead-letter topic with its error and acknowledged.
 * - Pub/Sub accepts ack ids of expired deliveries silently, so the binding tracks each lease's deadline
 *   itself and treats a delivery past it as lost (LeaseLostError on extend/fail; ack does nothing).
 * - delayMs: Pub/Sub has no per-message delay; the job carries `notBefore` and a pull before then puts
 *   it back until that time. Pub/Sub counts that early pull as a delivery, so a delayed job's attempts
 *   may read one more than its real deliveries; the retry budget does not count it.
 * - fail after progress: the message cannot change, so a copy remembering the progress replaces it.
 * - depth: see PubsubDepthLedger. Order is Pub/Sub's: roughly publish order, not guaranteed.
 */
export function createPubsubBinding(options: PubsubBindingOptions): QueueBinding {
  return createQueueBinding(pubsubTransport(options), options);
}

function pubsubTransport(options: PubsubBindingOptions): QueueTransport<Delivery> {
  const ledger = options.depth ?? processDepthLedger;
  const ownClient = !options.pubsub;
  const pubsub =
    options.pubsub ??
    new PubSub({
      ...(options.projectId ? { projectId: options.projectId } : {}),
      ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
    });
  // The pull client reuses the PubSub client's resolved endpoint, credentials and emulator settings
  // (PubSub's ClientConfig is the gax ClientOptions it passes to this same client internally).
  const subscriber = new v1.SubscriberClient(pubsub.options as ConstructorParameters<typeof v1.SubscriberClient>[0]);
  const batching = { batching: { maxMessages: 1 } };
  const jobsTopic = pubsub.topic(options.topic, batching);
  const deadTopic = pubsub.topic(options.deadLetterTopic, batching);
  const subscription = pubsub.subscription(options.subscription).name;
  const deadSubscription = pubsub.subscription(options.deadLetterSubscription).name;

  const publish = async (topic: Topic, body: JobBody, attributes: Record<string, string> = {}) => {
    const data = Buffer.from(JSON.stringify(body));
    if (data.length > MAX_DATA_BYTES)
      throw new Error(`job ${body.id} is ${data.length} bytes as JSON; Pub/Sub takes at most ${MAX_DATA_BYTES}`);
    await topic.publishMessage({ data, attributes: { jobId: body.id, ...attributes } });
  };
  const modAck = (sub: string, ackIds: string[], seconds: number) =>
    ackIds.length
      ? subscriber.modifyAckDeadline({
          subscription: sub,
          ackIds,
          ackDeadlineSeconds: Math.min(MAX_DEADLINE_SECONDS, seconds),
        })
      : Promise.resolve();
  const acknowledge = (sub: string, ackIds: string[]) =>
    ackIds.length ? subscriber.acknowledge({ subscription: sub, ackIds }) : Promise.resolve();

  const pull = async (sub: string, max: number): Promise<Pulled[]> => {
    // returnImmediately: claim answers at once when nothing is ready; the worker loop polls.
    const [response] = await subscriber.pull({ subscription: sub, maxMessages: max, returnImmediately: true });
    return (response.receivedMessages ?? []).map((m) => ({
      ackId: m.ackId!,
      messageId: m.message?.messageId ?? '?',
      data: Buffer.from(m.message?.data ?? ''),
      attributes: (m.message?.attributes ?? {}) as Record<string, string>,
      deliveryAttempt: m.deliveryAttempt ?? 0,
      publishTime: m.message?.publishTime
        ? Number(m.message.publishTime.seconds) * 1000 + Math.floor((m.message.publishTime.nanos ?? 0) / 1e6)
        : Date.now(),
    }));
  };

  /** Every dead letter, each held for `seconds` while the caller looks at it. */
  const pullAllDead = async (seconds: number, limit = Infinity) => {
    const all: Pulled[] = [];
    while (all.length < limit) {
      const batch = await pull(deadSubscription, Math.min(100, limit - all.length));
      if (batch.length === 0) break;
      await modAck(
        deadSubscription,
        batch.map((m) => m.ackId),
        seconds,
      );
      all.push(...batch);
    }
    return all;
  };
  const bodyOf = (m: Pulled) => parseJobBody(m.data.toString('utf8'), m.messageId);

  const holds = (d: Delivery) => Date.now() < d.deadline - LEASE_MARGIN_MS;
  const hold = (d: Delivery, job: Job) => {
    if (!holds(d)) throw new LeaseLostError(job.id);
  };
  /** Publishes the copy that replaces a delivery (once, however often the settle is tried), then acknowledges the delivery. */
  const replace = async (d: Delivery, copy: () => Promise<void>) => {
    if (!d.copied) {
      await copy();
      d.copied = true;
    }
    await acknowledge(subscription, [d.message.ackId]);
  };

  return {
    name: 'pubsub',
    dedupeScope: subscription,

    async send(job, delayMs, id) {
      const body = newJobBody(job, id);
      const notBefore = delayMs > 0 ? Date.now() + delayMs : 0;
      await publish(jobsTopic, body, notBefore ? { notBefore: String(notBefore) } : {});
      ledger.note(subscription, body.id, notBefore ? 'delayed' : 'ready', notBefore);
      return body.id;
    },

    async receive(max, leaseMs) {
      if (max <= 0) return [];
      const lease = Math.max(1, Math.min(MAX_DEADLINE_SECONDS, toSeconds(leaseMs)));
      const received: Array<Received<Delivery> | Unreadable<Delivery>> = [];
      while (received.length < max) {
        const messages = await pull(subscription, max - received.length);
        if (messages.length === 0) break;
        const started = Date.now();
        const taken: string[] = [];
        for (const m of messages) {
          const deadline = started + lease * 1000;
          let body: JobBody;
          try {
            body = bodyOf(m);
          } catch (error) {
            received.push({
              delivery: { message: m, body: null, progressedAt: 0, deadline },
              unreadable: (error as Error).message,
            });
            continue;
          }
          if (m.deliveryAttempt < 1) {
            throw new Error(
              `subscription ${subscription} has no dead-letter policy, so Pub/Sub reports no delivery attempts and retries could not be counted: give it one (ensurePubsubResources does)`,
            );
          }
          const notBefore = Number(m.attributes.notBefore ?? 0);
          if (notBefore > started) {
            await modAck(subscription, [m.ackId], toSeconds(notBefore - started));
            continue;
          }
          ledger.note(subscription, body.id, 'inFlight', deadline);
          taken.push(m.ackId);
          // A delayed message may have been pulled once before it was due and put back: that pull is no delivery.
          const progressedAt = Math.max(body.progressedAt ?? 0, notBefore > 0 ? body.attemptsBefore + 1 : 0);
          received.push({
            delivery: { message: m, body, progressedAt, deadline },
            job: jobFromBody(body, m.deliveryAttempt),
            progressedAt,
          });
        }
        await modAck(subscription, taken, lease);
      }
      return received;
    },

    async ack(d, job) {
      // Pub/Sub would take a stale ack id and might drop the live redelivery: a lost lease acks nothing.
      if (!holds(d)) return false;
      await acknowledge(subscription, [d.message.ackId]);
      ledger.note(subscription, job.id, 'gone');
      return true;
    },

    async retryLater(d, job, delayMs, _error, progressedAt) {
      if (!d.copied) hold(d, job);
      const seconds = Math.min(MAX_DEADLINE_SECONDS, toSeconds(delayMs));
      const started = Date.now();
      if (progressedAt > d.progressedAt) {
        // The message cannot change: a copy that remembers the progress replaces it, due after the backoff.
        const notBefore = started + seconds * 1000;
        await replace(d, () =>
          publish(jobsTopic, retryBody(d.body!, job.attempts, progressedAt), { notBefore: String(notBefore) }),
        );
      } else {
        await modAck(subscription, [d.message.ackId], seconds);
      }
      ledger.note(subscription, job.id, 'delayed', started + seconds * 1000);
    },

    async bury(d, job, reason) {
      if (job && !d.copied) hold(d, job);
      await replace(d, () =>
        job && d.body
          ? publish(deadTopic, deadBody(d.body, job.attempts, reason))
          : // A message that is not a job goes to the dead letters as it is, for a person to read.
            deadTopic
              .publishMessage({ data: d.message.data, attributes: { ...d.message.attributes, lastError: reason } })
              .then(() => undefined),
      );
      ledger.note(subscription, job?.id ?? d.message.messageId, 'dead');
      return true;
    },

    async extend(d, job, leaseMs) {
      hold(d, job);
      const seconds = Math.max(1, Math.min(MAX_DEADLINE_SECONDS, toSeconds(leaseMs)));
      const started = Date.now();
      await modAck(subscription, [d.message.ackId], seconds);
      d.deadline = started + seconds * 1000;
      ledger.note(subscription, job.id, 'inFlight', d.deadline);
    },

    async release(d, job) {
      if (!holds(d)) return;
      await modAck(subscription, [d.message.ackId], 0);
      ledger.note(subscription, job.id, 'ready');
    },

    async listDeadLetters(limit) {
      const messages = await pullAllDead(30, limit);
      // Back at once: listing is a look, not a claim.
      await modAck(
        deadSubscription,
        messages.map((m) => m.ackId),
        0,
      );
      return messages.map((m): DeadLetter => {
        try {
          return deadLetterFromBody(
            bodyOf(m),
            "moved by the subscription's dead-letter policy after its maxDeliveryAttempts",
            m.publishTime,
          );
        } catch (error) {
          return unreadableLetter(
            m.messageId,
            m.data.toString('utf8'),
            m.attributes.lastError ?? (error as Error).message,
            m.publishTime,
          );
        }
      });
    },

    async redrive(ids) {
      const pick = redriveFilter(ids);
      const back: string[] = [];
      let moved = 0;
      for (const m of await pullAllDead(60)) {
        const body = pick(() => bodyOf(m));
        if (body) {
          await publish(jobsTopic, redrivenBody(body));
          await acknowledge(deadSubscription, [m.ackId]);
          ledger.note(subscription, body.id, 'ready');
          moved++;
        } else {
          back.push(m.ackId);
        }
      }
      await modAck(deadSubscription, back, 0);
      return moved;
    },

    async depth() {
      return ledger.depth(subscription);
    },

    async close() {
      await subscriber.close();
      if (ownClient) await pubsub.close();
    },
  };
}
