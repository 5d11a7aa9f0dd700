/**
 * POST /pubsub/push: the GCP worker path. A Pub/Sub push subscription POSTs each job here with a
 * Google OIDC token of its push identity. The answer is the acknowledgement: 204 acks, 429 (not due
 * yet) and 5xx (the job failed) make Pub/Sub deliver it again with backoff and, after the
 * subscription's maxDeliveryAttempts, dead-letter it. 4xx for a body that is not a job.
 */
import type { FastifyInstance } from 'fastify';
import { PubsubPushError, decodePubsubPush } from '../../queue/pubsub-push';
import { OidcRejected } from '../../security/oidc-verifier';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';
import { errorResponses } from '../schemas';

export const PUBSUB_PUSH_PATH = '/pubsub/push';

/** Pub/Sub's largest message (10 MB) as base64 inside the JSON envelope. */
const PUSH_BODY_LIMIT = 14 * 1024 * 1024;

export interface PubsubPushRouteDeps {
  /** Who may push and what runs a job. @default null: the route answers 404 */
  readonly pubsubPush?: ApiDeps['pubsubPush'];
  /** Pushes per minute per sender address. @default 12000 */
  readonly webhookRateLimitPerMinute?: number;
  /** The clock push tokens are checked against. @default Date.now */
  readonly now?: () => number;
}

export const pubsubPushRoutes = (deps: PubsubPushRouteDeps) => async (app: FastifyInstance) => {
  const push = deps.pubsubPush ?? null;
  const configured = () => {
    // 404, not 503: without configuration this instance has no push endpoint (and a public route
    // answers no 401/403 or 5xx to the access and fuzz tests). Pub/Sub still redelivers on a 404.
    if (!push)
      throw new ApiError(
        404,
        'not_configured',
        'Pub/Sub push is not configured on this instance: set DATA_SYNC_PUBSUB_PUSH_AUDIENCE and DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT',
      );
    return push;
  };
  const now = deps.now ?? Date.now;

  app.post(
    PUBSUB_PUSH_PATH,
    {
      bodyLimit: PUSH_BODY_LIMIT,
      // Public to the API-token layer: Pub/Sub authenticates with a Google OIDC token, checked below.
      config: {
        access: 'public',
        audit: false,
        rateLimit: {
          max: deps.webhookRateLimitPerMinute ?? 12_000,
          timeWindow: 60_000,
          keyGenerator: (request) => `pubsub-push:${request.ip}`,
        },
      },
      schema: {
        tags: ['queue'],
        summary: 'Pub/Sub push delivery of one job (GCP): 204 acknowledges; 429 and 5xx make Pub/Sub deliver it again',
        description:
          "Authenticated by the push subscription's Google OIDC token (audience and service account from DATA_SYNC_PUBSUB_PUSH_AUDIENCE and DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT).",
        security: [],
        response: {
          204: { type: 'null', description: 'handled: Pub/Sub acknowledges the message' },
          ...errorResponses,
        },
      },
      // Before the body is read: an unauthenticated sender never gets a 14 MB body parsed.
      onRequest: async (request) => {
        const { verifier } = configured();
        try {
          await verifier.verify(request.headers.authorization);
        } catch (error) {
          if (error instanceof OidcRejected)
            throw new ApiError(error.status, error.status === 403 ? 'forbidden' : 'unauthorized', error.message);
          throw error;
        }
      },
    },
    async (request, reply) => {
      let delivery;
      try {
        delivery = decodePubsubPush(request.body);
      } catch (error) {
        if (error instanceof PubsubPushError) throw new ApiError(400, 'invalid_push', error.message);
        throw error;
      }
      const target = configured();
      const { job, subscription, dueAt } = delivery;
      const wait = dueAt ? dueAt.getTime() - now() : 0;
      if (wait > 0) {
        const seconds = Math.ceil(wait / 1000);
        // Pub/Sub ignores Retry-After and retries on the subscription's backoff; the header is for people.
        reply.header('retry-after', String(seconds));
        throw new ApiError(
          429,
          'not_due',
          `job ${job.id} is due at ${dueAt!.toISOString()}; deliver it again in ${seconds} s`,
          { jobId: job.id, dueAt: dueAt!.toISOString() },
        );
      }
      try {
        await target.handle(job);
      } catch (error) {
        request.log.error(
          { err: error, jobId: job.id, kind: job.kind, attempt: job.attempts, subscription },
          'pushed job failed; Pub/Sub will deliver it again',
        );
        throw new ApiError(
          500,
          'job_failed',
          `job ${job.id} (${job.kind}, delivery ${job.attempts}) failed; Pub/Sub delivers it again and dead-letters it after the subscription's maximum attempts`,
          { jobId: job.id, attempt: job.attempts },
        );
      }
      return reply.code(204).send();
    },
  );
};
