/**
 * The Google Pub/Sub binding: a topic with a pull subscription for the jobs, and a dead-letter topic
 * with its own subscription for the dead letters. Also decodes push deliveries for `/pubsub/push`.
 */
import { PubSub, Topic, v1 } from '@google-cloud/pubsub';
import {
  DEFAULT_RETRY,
  DeadLetter,
  Job,
  LeaseLostError,
  QueueBinding,
  QueueDepth,
  RetryPolicy,
  backoffMs,
} from './binding';
import {
  DedupeRegistry,
  JobBody,
  deadBody,
  deadLetterFromBody,
  jobFromBody,
  newJobBody,
  parseJobBody,
  processDedupe,
  redrivenBody,
  toSeconds,
} from './sqs-binding';

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
  readonly ackId: string;
  readonly body: JobBody;
  /** Local time after which this delivery no longer holds the job. */
  deadline: number;
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
 *   may read one more than its real deliveries.
 * - depth: see PubsubDepthLedger. Order is Pub/Sub's: roughly publish order, not guaranteed.
 */
export function createPubsubBinding(options: PubsubBindingOptions): QueueBinding {
  const retry = options.retry ?? DEFAULT_RETRY;
  const random = options.random ?? Math.random;
  const dedupe = options.dedupe ?? processDedupe;
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
  const deliveries = new WeakMap<Job, Delivery>();

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

  const delivery = (job: Job) => {
    const found = deliveries.get(job);
    if (!found)
      throw new Error(`job ${job.id} (delivery ${job.attempts}) was not claimed through this Pub/Sub binding`);
    return found;
  };
  const holds = (d: Delivery) => Date.now() < d.deadline - LEASE_MARGIN_MS;
  const releaseKey = (body: JobBody) =>
    body.dedupeKey !== undefined ? dedupe.release(subscription, body.dedupeKey, body.id) : Promise.resolve();
  const toDead = async (ackId: string, body: JobBody, attempts: number, error: string) => {
    await publish(deadTopic, deadBody(body, attempts, error));
    await acknowledge(subscription, [ackId]);
    ledger.note(subscription, body.id, 'dead');
    await releaseKey(body);
  };

  return {
    name: 'pubsub',
    async enqueue(job, opts) {
      const body = newJobBody(job);
      const delayMs = Math.max(0, opts?.delayMs ?? 0);
      if (job.dedupeKey !== undefined) {
        const owner = await dedupe.reserve(subscription, job.dedupeKey, body.id);
        if (owner !== body.id) return owner;
      }
      const notBefore = delayMs > 0 ? Date.now() + delayMs : 0;
      try {
        await publish(jobsTopic, body, notBefore ? { notBefore: String(notBefore) } : {});
      } catch (error) {
        await releaseKey(body);
        throw error;
      }
      ledger.note(subscription, body.id, notBefore ? 'delayed' : 'ready', notBefore);
      return body.id;
    },

    async claim(max, leaseMs) {
      if (max <= 0) return [];
      const lease = Math.max(1, Math.min(MAX_DEADLINE_SECONDS, toSeconds(leaseMs)));
      const jobs: Job[] = [];
      while (jobs.length < max) {
        const messages = await pull(subscription, max - jobs.length);
        if (messages.length === 0) break;
        const started = Date.now();
        const taken: Pulled[] = [];
        for (const m of messages) {
          let body: JobBody;
          try {
            body = parseJobBody(m.data.toString('utf8'), m.messageId);
          } catch (error) {
            // Not a job: it can never succeed, so it goes to the dead letters as it is, for a person to read.
            await deadTopic.publishMessage({
              data: m.data,
              attributes: { ...m.attributes, lastError: (error as Error).message },
            });
            await acknowledge(subscription, [m.ackId]);
            ledger.note(subscription, m.messageId, 'dead');
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
          const job = jobFromBody(body, m.deliveryAttempt);
          if (job.attempts > retry.maxAttempts) {
            await toDead(
              m.ackId,
              body,
              job.attempts - 1,
              `lease expired ${job.attempts - 1} times without an acknowledgement (worker crashed or stalled)`,
            );
            continue;
          }
          deliveries.set(job, { ackId: m.ackId, body, deadline: started + lease * 1000 });
          ledger.note(subscription, job.id, 'inFlight', started + lease * 1000);
          taken.push(m);
          jobs.push(job);
        }
        await modAck(
          subscription,
          taken.map((m) => m.ackId),
          lease,
        );
      }
      return jobs;
    },

    async ack(job) {
      const d = delivery(job);
      // Pub/Sub would take a stale ack id and might drop the live redelivery: a lost lease acks nothing.
      if (!holds(d)) return;
      await acknowledge(subscription, [d.ackId]);
      deliveries.delete(job);
      ledger.note(subscription, job.id, 'gone');
      await releaseKey(d.body);
    },

    async fail(job, error) {
      const d = delivery(job);
      if (!holds(d)) throw new LeaseLostError(job.id);
      deliveries.delete(job);
      if (job.attempts >= retry.maxAttempts) {
        await toDead(d.ackId, d.body, job.attempts, error);
        return 'dead';
      }
      const seconds = Math.min(MAX_DEADLINE_SECONDS, toSeconds(backoffMs(job.attempts, retry, random)));
      const started = Date.now();
      await modAck(subscription, [d.ackId], seconds);
      ledger.note(subscription, job.id, 'delayed', started + seconds * 1000);
      return 'retry';
    },

    async extend(job, leaseMs) {
      const d = delivery(job);
      if (!holds(d)) throw new LeaseLostError(job.id);
      const seconds = Math.max(1, Math.min(MAX_DEADLINE_SECONDS, toSeconds(leaseMs)));
      const started = Date.now();
      await modAck(subscription, [d.ackId], seconds);
      d.deadline = started + seconds * 1000;
      ledger.note(subscription, job.id, 'inFlight', d.deadline);
    },

    async release(job) {
      const d = delivery(job);
      deliveries.delete(job);
      if (!holds(d)) return;
      await modAck(subscription, [d.ackId], 0);
      ledger.note(subscription, job.id, 'ready');
    },

    async listDeadLetters(limit = 100) {
      const messages = await pullAllDead(30, limit);
      // Back at once: listing is a look, not a claim.
      await modAck(
        deadSubscription,
        messages.map((m) => m.ackId),
        0,
      );
      return messages.map((m): DeadLetter => {
        try {
          const body = parseJobBody(m.data.toString('utf8'), m.messageId);
          return deadLetterFromBody(
            body,
            "moved by the subscription's dead-letter policy after its maxDeliveryAttempts",
            m.publishTime,
          );
        } catch (error) {
          return {
            id: m.messageId,
            kind: 'sync',
            payload: m.data.toString('utf8'),
            attempts: 0,
            enqueuedAt: new Date(m.publishTime),
            lastError: m.attributes.lastError ?? (error as Error).message,
            deadAt: new Date(m.publishTime),
          };
        }
      });
    },

    async redrive(ids) {
      const wanted = ids ? new Set(ids) : null;
      const messages = await pullAllDead(60);
      const back: string[] = [];
      let moved = 0;
      for (const m of messages) {
        let body: JobBody | null;
        try {
          body = parseJobBody(m.data.toString('utf8'), m.messageId);
        } catch {
          body = null;
        }
        if (body && (!wanted || wanted.has(body.id))) {
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

/** A push request that is not a Pub/Sub job delivery; the route answers 400 with `message`. */
export class PubsubPushError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PubsubPushError';
  }
}

/**
 * Decodes a Pub/Sub push request body
 * (`{"message":{"data":base64,"attributes":{},"messageId":"1","publishTime":"…"},"subscription":"projects/…","deliveryAttempt":2}`)
 * into the job it carries and when it is due (a delayed job pushed early: the route answers with an
 * error status so Pub/Sub pushes it again later). Throws PubsubPushError naming the bad field.
 */
export function decodePubsubPush(body: unknown): { job: Job; subscription: string; dueAt: Date | null } {
  const b = body as {
    message?: { data?: unknown; attributes?: unknown; messageId?: unknown; publishTime?: unknown };
    subscription?: unknown;
    deliveryAttempt?: unknown;
  } | null;
  if (!b || typeof b !== 'object' || Array.isArray(b))
    throw new PubsubPushError('push body must be a JSON object with "message" and "subscription"');
  const message = b.message;
  if (!message || typeof message !== 'object' || Array.isArray(message))
    throw new PubsubPushError('"message" must be an object');
  if (typeof b.subscription !== 'string' || !/^projects\/[^/]+\/subscriptions\/[^/]+$/.test(b.subscription))
    throw new PubsubPushError('"subscription" must be "projects/<project>/subscriptions/<name>"');
  if (typeof message.messageId !== 'string' || message.messageId === '')
    throw new PubsubPushError('"message.messageId" must be a non-empty string');
  if (typeof message.data !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(message.data))
    throw new PubsubPushError('"message.data" must be base64');
  const attributes = message.attributes ?? {};
  if (
    typeof attributes !== 'object' ||
    Array.isArray(attributes) ||
    Object.values(attributes as object).some((v) => typeof v !== 'string')
  ) {
    throw new PubsubPushError('"message.attributes" must be an object of strings');
  }
  if (b.deliveryAttempt !== undefined && !(Number.isInteger(b.deliveryAttempt) && (b.deliveryAttempt as number) > 0))
    throw new PubsubPushError('"deliveryAttempt" must be a positive integer');
  const published = typeof message.publishTime === 'string' ? Date.parse(message.publishTime) : NaN;
  let jobBody: JobBody;
  try {
    jobBody = parseJobBody(
      Buffer.from(message.data, 'base64').toString('utf8'),
      message.messageId,
      Number.isFinite(published) ? published : Date.now(),
    );
  } catch (error) {
    throw new PubsubPushError(`"message.data": ${(error as Error).message}`);
  }
  const job = jobFromBody(jobBody, (b.deliveryAttempt as number | undefined) ?? 1);
  const notBefore = Number((attributes as Record<string, string>).notBefore ?? 0);
  return {
    job,
    subscription: b.subscription,
    dueAt: notBefore > 0 ? new Date(notBefore) : null,
  };
}
