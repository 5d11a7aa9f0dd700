/**
 * The runtime's Cloudflare Workers entry (module Worker, nodejs_compat):
 *   fetch  POST /webhooks/:integration        ingestWebhook (as on Node), onto JOBS, then 202
 *          GET  /webhooks/:integration        handshakeWebhook (as on Node): the vendor's subscription handshake
 *          POST /api/sync/trigger/:integration bearer API_TOKEN, queues a sync run through the core
 *          GET  /health                       liveness
 *          GET  /oauth/x/callback             X's redirect after a person connected an X account (the state is
 *                                             its credential): finishXAuthorization, as on Node
 *          every route but /health is limited per client address (CF-Connecting-IP) before any other work, as
 *          on Node: webhooks per sender (DATA_SYNC_WEBHOOK_RATE_LIMIT), the trigger route before its token is
 *          checked (DATA_SYNC_RATE_LIMIT), in the RateLimiter object of that address
 *   queue  the JOBS consumer: takes a token from the integration's RateLimiter, runs the job through
 *          the core, acks on success and retries with backoff on failure; after the consumer's
 *          max_retries Cloudflare moves the message to the dead-letter queue.
 *   after every queue batch and Cron Trigger (the invocations that run or queue syncs), the event outbox
 *   is drained onto the event queues (EVENTS_<SERVICE>) through ctx.waitUntil, at least once
 *   (events/publisher.ts).
 * The core (integration lookup, trigger, job handling) is injected so that the Worker shares the
 * runtime's engine; createWorker(coreFactory) builds the handlers.
 */
import { Buffer } from 'buffer';
import { createHash, timingSafeEqual } from 'crypto';
import { CONNECTORS } from '@data-sync/integrations/registry';
import type { ConnectorModule } from '@data-sync/integrations/connector';
import { backoffMs, type Job } from '../queue/binding';
import { jobBodyOf, jobFromBody, toSeconds } from '../queue/core/body';
import { handshakeWebhook, ingestWebhook } from '../webhooks/ingest';
import { X_CALLBACK_PATH } from '../social/x-authorizations';
import { XAuthorizationRefused, xConnectedPage, type XCallbackQuery } from '../social/x-authorization-flow';
import { sendJob } from './env-core';
import type {
  CoreFactory,
  ExecutionContext,
  MessageBatch,
  QueueMessage,
  ScheduledController,
  WorkerCore,
  WorkerEnv,
} from './types';

export { RateLimiter } from './rate-limiter';

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const MAX_RETRY_DELAY_SECONDS = 15 * 60;
const MAX_BODY_BYTES = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

const json = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}) =>
  Response.json(body, { status, headers });
const errorResponse = (e: HttpError) =>
  json(e.status, { error: e.code, message: e.message, details: e.details }, e.headers);

function numberVar(
  env: WorkerEnv,
  key:
    | 'RATE_LIMIT_CAPACITY'
    | 'RATE_LIMIT_PER_SECOND'
    | 'RETRY_BASE_SECONDS'
    | 'DATA_SYNC_RATE_LIMIT'
    | 'DATA_SYNC_WEBHOOK_RATE_LIMIT',
  fallback: number,
): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`Worker variable ${key}=${JSON.stringify(raw)} must be a non-negative number`);
  return value;
}

/** The queue core's backoff (full jitter over base * 2^(attempt-1), at most 15 minutes), in Cloudflare's whole seconds. */
export function retryDelaySeconds(attempts: number, baseSeconds: number, random: () => number = Math.random): number {
  const policy = { maxAttempts: attempts, baseDelayMs: baseSeconds * 1000, maxDelayMs: MAX_RETRY_DELAY_SECONDS * 1000 };
  return toSeconds(backoffMs(attempts, policy, random));
}

/** The job a queue message carries (the job-message contract; the message id when it has none), or an error naming what is wrong with it. */
export function jobFromMessage(message: QueueMessage<unknown>): Job {
  return jobFromBody(jobBodyOf(message.body, message.id, message.timestamp.getTime()), message.attempts);
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function authorize(request: Request, env: WorkerEnv): void {
  if (!env.API_TOKEN) throw new HttpError(503, 'not_configured', 'the API_TOKEN secret is not set on this Worker');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get('authorization') ?? '');
  if (!match) throw new HttpError(401, 'unauthorized', 'an Authorization: Bearer <token> header is required');
  if (!timingSafeEqual(sha256(match[1]), sha256(env.API_TOKEN)))
    throw new HttpError(403, 'forbidden', 'this token may not trigger syncs');
}

async function integrationOrThrow(core: WorkerCore, name: string) {
  if (!NAME.test(name))
    throw new HttpError(400, 'bad_request', `"${name}" is not an integration name (${NAME.source})`, {
      integration: name,
    });
  const integration = await core.integration(name);
  if (!integration || !integration.enabled)
    throw new HttpError(404, 'not_found', `integration "${name}" does not exist or is disabled`, { integration: name });
  return integration;
}

/** X's redirect back: completes the authorization and shows the person a page saying so. */
async function xCallback(url: URL, core: WorkerCore): Promise<Response> {
  if (!core.finishXAuthorization)
    throw new HttpError(501, 'not_implemented', 'this Worker core does not complete X authorizations');
  const param = (name: string) => url.searchParams.get(name) ?? undefined;
  const query: XCallbackQuery = {
    state: param('state'),
    code: param('code'),
    error: param('error'),
    error_description: param('error_description'),
  };
  try {
    const { integration } = await core.finishXAuthorization(query);
    return new Response(xConnectedPage(integration), {
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
    });
  } catch (error) {
    if (error instanceof XAuthorizationRefused)
      throw new HttpError(error.status, error.code, error.message, error.details);
    throw error;
  }
}

async function readBody(request: Request): Promise<Buffer> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, 'body_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
  const body = Buffer.from(await request.arrayBuffer());
  if (body.length > MAX_BODY_BYTES)
    throw new HttpError(413, 'body_too_large', `the body exceeds ${MAX_BODY_BYTES} bytes`);
  return body;
}

async function webhook(
  request: Request,
  env: WorkerEnv,
  core: WorkerCore,
  name: string,
  connectors: Readonly<Record<string, ConnectorModule>>,
): Promise<Response> {
  if (!NAME.test(name))
    throw new HttpError(400, 'bad_request', `"${name}" is not an integration name (${NAME.source})`, {
      integration: name,
    });
  const rawBody = await readBody(request);
  const headers: Record<string, string> = {};
  request.headers.forEach((value, key) => {
    headers[key] = value;
  });
  // A GET is the vendor's subscription handshake; it goes through the same lookup and allowlist.
  const answer = await (request.method === 'GET' ? handshakeWebhook : ingestWebhook)(
    {
      async integration(integration) {
        const found = await core.integration(integration);
        return (
          found && {
            name: found.name,
            system: found.system,
            enabled: found.enabled,
            webhookAllowlist: found.webhookAllowlist,
            resolvedConfig: () => found.config,
          }
        );
      },
      connectors,
      enqueue: (job) => sendJob(env, job),
      audit: (entry) => core.audit(entry),
    },
    // Cloudflare sets CF-Connecting-IP to the client's address; without it no allowlist admits the sender.
    {
      integration: name,
      clientIp: request.headers.get('cf-connecting-ip') ?? '',
      method: request.method,
      url: request.url,
      headers,
      rawBody,
    },
  );
  if ('text' in answer)
    return new Response(answer.text, { status: answer.status, headers: { 'content-type': answer.contentType } });
  return json(answer.status, answer.json);
}

async function trigger(request: Request, env: WorkerEnv, core: WorkerCore, name: string): Promise<Response> {
  authorize(request, env);
  const raw = (await readBody(request)).toString('utf8').trim();
  let full = false;
  if (raw) {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      throw new HttpError(400, 'malformed_json', 'the body is not valid JSON');
    }
    if (body !== null) {
      if (typeof body !== 'object' || Array.isArray(body))
        throw new HttpError(400, 'bad_request', 'the body must be an object like {"full": true}');
      const { full: value, ...rest } = body as Record<string, unknown>;
      if (Object.keys(rest).length > 0)
        throw new HttpError(
          400,
          'bad_request',
          `unknown field(s) ${Object.keys(rest).join(', ')}: only "full" is accepted`,
        );
      if (value !== undefined && typeof value !== 'boolean')
        throw new HttpError(400, 'bad_request', 'body/full must be a boolean', { field: 'full' });
      full = value === true;
    }
  }
  await integrationOrThrow(core, name);
  const result = await core.trigger(name, { actor: 'token:cloudflare-api', full });
  return json(202, result);
}

/** Longest the consumer sleeps for a rate-limit token before handing the message back with a delay. */
const MAX_INLINE_WAIT_MS = 5000;

/** Takes one token of the bucket named `name`; the ms to wait when there is none, else 0. */
async function takeToken(
  env: WorkerEnv,
  name: string,
  limits = {
    capacity: numberVar(env, 'RATE_LIMIT_CAPACITY', 10),
    refillPerSecond: numberVar(env, 'RATE_LIMIT_PER_SECOND', 5),
  },
): Promise<number> {
  const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(name));
  const response = await stub.fetch('https://rate-limiter/take', { method: 'POST', body: JSON.stringify(limits) });
  if (!response.ok) throw new Error(`rate limiter answered ${response.status}: ${await response.text()}`);
  const result = (await response.json()) as { allowed: boolean; retryAfterMs: number };
  return result.allowed ? 0 : Math.max(1, result.retryAfterMs);
}

/**
 * 429 when the client address has used up its requests of the minute on this kind of route: a bucket of
 * `perMinute` refilled over the minute, the Node runtime's limits (per sender for webhooks, per address before
 * authentication for the API). Bucket names hold a colon, which no integration name (an outbound bucket) has.
 */
async function limitInbound(env: WorkerEnv, request: Request, kind: 'webhook' | 'api'): Promise<void> {
  const perMinute =
    kind === 'webhook'
      ? numberVar(env, 'DATA_SYNC_WEBHOOK_RATE_LIMIT', 12_000)
      : numberVar(env, 'DATA_SYNC_RATE_LIMIT', 600);
  const address = request.headers.get('cf-connecting-ip') ?? 'unknown';
  const waitMs = await takeToken(env, `inbound:${kind}:${address}`, {
    capacity: perMinute,
    refillPerSecond: perMinute / 60,
  });
  if (waitMs === 0) return;
  const retryAfter = Math.ceil(waitMs / 1000);
  throw new HttpError(
    429,
    'rate_limited',
    `too many requests from this address: at most ${perMinute} per minute; retry in ${retryAfter} s`,
    { limit: perMinute, retryAfter },
    { 'retry-after': String(retryAfter) },
  );
}

/** Waits (briefly) for a token of `integration`'s bucket: true once taken, false when the wait would be too long. */
async function waitForToken(env: WorkerEnv, integration: string): Promise<boolean> {
  let waited = 0;
  for (;;) {
    const waitMs = await takeToken(env, integration);
    if (waitMs === 0) return true;
    if (waited + waitMs > MAX_INLINE_WAIT_MS) return false;
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    waited += waitMs;
  }
}

/** The integrations the Cron Trigger `cron` syncs, from the SCHEDULES binding (an object, or its JSON). */
export function scheduledIntegrations(env: WorkerEnv, cron: string): readonly string[] {
  let schedules: unknown = env.SCHEDULES ?? {};
  if (typeof schedules === 'string') {
    try {
      schedules = JSON.parse(schedules);
    } catch {
      throw new Error('the SCHEDULES binding is not valid JSON');
    }
  }
  if (schedules === null || typeof schedules !== 'object' || Array.isArray(schedules))
    throw new Error('the SCHEDULES binding must map cron expressions to integration lists');
  const names = (schedules as Record<string, unknown>)[cron] ?? [];
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string' && NAME.test(n)))
    throw new Error(`SCHEDULES[${JSON.stringify(cron)}] must be a list of integration names`);
  return names;
}

export interface WorkerHandlers {
  fetch(request: Request, env: WorkerEnv, ctx?: ExecutionContext): Promise<Response>;
  queue(batch: MessageBatch<unknown>, env: WorkerEnv, ctx?: ExecutionContext): Promise<void>;
  scheduled(controller: ScheduledController, env: WorkerEnv, ctx?: ExecutionContext): Promise<void>;
}

/**
 * Runs `work` with a core built for this invocation, and closes the core afterwards. Queue batches and
 * Cron Triggers then publish the outbox: they run the syncs that write events, while a request only
 * queues work (publishing after each would cost every webhook a database round trip).
 */
async function withCore<T>(
  coreFor: CoreFactory,
  env: WorkerEnv,
  ctx: ExecutionContext | undefined,
  work: (core: WorkerCore) => Promise<T>,
  publish = false,
): Promise<T> {
  const core = await coreFor(env);
  try {
    return await work(core);
  } finally {
    const finishing = publishThenClose(core, publish);
    if (ctx) ctx.waitUntil(finishing);
    else await finishing;
  }
}

/**
 * After the invocation's work (done or failed: a failed run writes its event too), the outbox's pending events
 * go to the event queues while the core's connections are still open; an event that fails stays in the
 * outbox for the next invocation. Then the core closes.
 */
async function publishThenClose(core: WorkerCore, publish: boolean): Promise<void> {
  const logFailure = (msg: string) => (error: unknown) =>
    console.error(JSON.stringify({ level: 'error', msg, err: (error as Error).message }));
  if (publish && core.publishEvents)
    await core.publishEvents().catch(logFailure('publishing events failed; they stay in the outbox'));
  if (core.close) await core.close().catch(logFailure('closing the core failed'));
}

/** The module Worker's handlers over the cores that `coreFor` builds from the bindings, one per invocation. */
export function createWorker(
  coreFor: CoreFactory,
  connectors: Readonly<Record<string, ConnectorModule>> = CONNECTORS,
): WorkerHandlers {
  return {
    async fetch(request, env, ctx) {
      const url = new URL(request.url);
      const path = url.pathname.replace(/\/+$/, '') || '/';
      try {
        if (path === '/health') {
          if (request.method !== 'GET' && request.method !== 'HEAD')
            throw new HttpError(405, 'method_not_allowed', `${request.method} ${path} is not allowed: use GET`);
          return json(200, {
            status: 'ok',
            runtime: 'cloudflare-worker',
            ...(env.DATA_SYNC_SLOT === 'blue' || env.DATA_SYNC_SLOT === 'green' ? { slot: env.DATA_SYNC_SLOT } : {}),
          });
        }
        if (path === X_CALLBACK_PATH) {
          if (request.method !== 'GET')
            throw new HttpError(405, 'method_not_allowed', `${request.method} ${path} is not allowed: use GET`);
          await limitInbound(env, request, 'api');
          return await withCore(coreFor, env, ctx, (core) => xCallback(url, core));
        }
        const hook = /^\/webhooks\/([^/]+)$/.exec(path);
        const run = /^\/api\/sync\/trigger\/([^/]+)$/.exec(path);
        if (!hook && !run) throw new HttpError(404, 'not_found', `no route ${request.method} ${path}`);
        if (request.method !== 'POST' && !(hook && request.method === 'GET')) {
          throw new HttpError(
            405,
            'method_not_allowed',
            `${request.method} ${path} is not allowed: use POST${hook ? ' (or GET for a handshake)' : ''}`,
          );
        }
        const name = decodeURIComponent((hook ?? run)![1]);
        // Before the body, the database or the token is looked at.
        await limitInbound(env, request, hook ? 'webhook' : 'api');
        return await withCore(coreFor, env, ctx, (core) =>
          hook ? webhook(request, env, core, name, connectors) : trigger(request, env, core, name),
        );
      } catch (error) {
        if (error instanceof HttpError) return errorResponse(error);
        console.error(JSON.stringify({ level: 'error', msg: 'request failed', path, err: (error as Error).message }));
        return errorResponse(new HttpError(500, 'internal', 'the request failed; see the Worker logs'));
      }
    },

    async queue(batch, env, ctx) {
      const base = numberVar(env, 'RETRY_BASE_SECONDS', 5);
      await withCore(coreFor, env, ctx, (handler) => consume(batch, env, handler, base), true);
    },

    // A Cron Trigger queues one sync run per integration on its schedule; one failing trigger does not
    // stop the others, and the invocation fails (Cloudflare records it) when any did.
    async scheduled(controller, env, ctx) {
      const names = scheduledIntegrations(env, controller.cron);
      if (names.length === 0) return;
      const failed = await withCore(
        coreFor,
        env,
        ctx,
        async (core) => {
          const errors: string[] = [];
          for (const name of names) {
            try {
              await core.trigger(name, { actor: `schedule:${controller.cron}`, full: false });
            } catch (error) {
              errors.push(`${name}: ${(error as Error).message}`);
            }
          }
          return errors;
        },
        true,
      );
      if (failed.length > 0) throw new Error(`scheduled sync could not be queued for ${failed.join('; ')}`);
    },
  };
}

async function consume(batch: MessageBatch<unknown>, env: WorkerEnv, handler: WorkerCore, base: number): Promise<void> {
  for (const message of batch.messages) {
    let job: Job;
    try {
      job = jobFromMessage(message);
    } catch (error) {
      // Never dropped: retried like any failure, so it ends in the dead-letter queue for inspection.
      console.error(
        JSON.stringify({
          level: 'error',
          msg: 'malformed job message',
          queue: batch.queue,
          messageId: message.id,
          err: (error as Error).message,
        }),
      );
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts, base) });
      continue;
    }
    try {
      if (job.integration && !(await waitForToken(env, job.integration))) {
        // Redelivery counts as an attempt: a vendor quota exhausted for long ends in the dead-letter queue.
        message.retry({ delaySeconds: Math.ceil(MAX_INLINE_WAIT_MS / 1000) });
        continue;
      }
      await handler.handle(job);
      message.ack();
    } catch (error) {
      console.error(
        JSON.stringify({
          level: 'error',
          msg: 'job failed',
          jobId: job.id,
          kind: job.kind,
          integration: job.integration,
          attempts: job.attempts,
          err: (error as Error).message,
        }),
      );
      message.retry({ delaySeconds: retryDelaySeconds(job.attempts, base) });
    }
  }
}
