/**
 * Pub/Sub push deliveries (`/pubsub/push`): the job a pushed message carries. Free of the Pub/Sub
 * client library, so the GCP bundle, which only takes pushes, does not carry it.
 */
import type { Job } from './binding';
import { type JobBody, jobFromBody, parseJobBody } from './core/body';

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
