import { createSign, generateKeyPairSync, KeyObject } from 'crypto';
import { Writable } from 'stream';
import type { FastifyInstance } from 'fastify';
import { buildApi } from './app';
import { createHarness, Harness, request, RequestSpec } from './testing/harness';
import { loadConfig } from '../config';
import { createLogger } from '../logger';
import type { Job } from '../queue/binding';
import { newJobBody } from '../queue/sqs-binding';
import { createGoogleOidcVerifier } from '../security/google-oidc';

const AUDIENCE = 'https://data-sync-test-runtime.example.run.app/pubsub/push';
const PUSHER = 'ds-test-push@project.iam.gserviceaccount.com';
const google = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });

const b64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token as Google signs it for the push subscription; `claims` override the defaults. */
function idToken(claims: Record<string, unknown> = {}, key: KeyObject = google.privateKey): string {
  const now = Math.floor(Date.now() / 1000);
  const signed = `${b64url({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${b64url({ iss: 'https://accounts.google.com', aud: AUDIENCE, sub: '42', email: PUSHER, email_verified: true, iat: now - 5, exp: now + 3595, ...claims })}`;
  return `${signed}.${createSign('RSA-SHA256').update(signed).sign(key).toString('base64url')}`;
}

/** The body Pub/Sub POSTs for one job message. */
function pushBody(
  job: { id: string; kind?: string },
  opts: { deliveryAttempt?: number; attributes?: Record<string, string> } = {},
) {
  const body = newJobBody({ kind: 'sync', integration: 'demo1', payload: { full: false } }, job.id);
  return {
    message: {
      data: Buffer.from(JSON.stringify({ ...body, ...(job.kind ? { kind: job.kind } : {}) })).toString('base64'),
      attributes: opts.attributes ?? {},
      messageId: `m-${job.id}`,
      publishTime: new Date().toISOString(),
    },
    subscription: 'projects/p/subscriptions/data-sync-test-jobs-push',
    deliveryAttempt: opts.deliveryAttempt ?? 1,
  };
}

let h: Harness;
let app: FastifyInstance;
let url: string;
const handled: Job[] = [];
let failWith: Error | null = null;
const lines: string[] = [];

beforeAll(async () => {
  h = await createHarness({ logLevel: 'warn' });
  const logger = createLogger({
    level: 'info',
    destination: new Writable({ write: (chunk, _e, done) => (lines.push(chunk.toString()), done()) }),
  });
  // The harness's own app has no push configuration; this one shares its stores and adds it.
  app = await buildApi({
    db: h.db,
    queue: h.queue,
    engine: h.engine,
    connectors: {},
    integrations: h.integrations,
    tokens: h.tokens,
    metrics: h.metrics,
    logger,
    n8n: null,
    rateLimitPerMinute: 1_000_000,
    webhookRateLimitPerMinute: 1_000_000,
    pubsubPush: {
      verifier: createGoogleOidcVerifier({
        audience: AUDIENCE,
        serviceAccount: PUSHER,
        certs: async () => ({ k1: google.publicKey.export({ type: 'spki', format: 'pem' }).toString() }),
      }),
      async handle(job) {
        handled.push(job);
        if (failWith) throw failWith;
      },
    },
  });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await app.close();
  await h.close();
});
beforeEach(() => {
  handled.length = 0;
  failWith = null;
});

const push = (payload: unknown, token: string | null = idToken()): Promise<Awaited<ReturnType<typeof request>>> => {
  const spec: RequestSpec = {
    method: 'POST',
    url: '/pubsub/push',
    payload,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  };
  return request(url, spec);
};

describe('POST /pubsub/push', () => {
  test('a valid push runs the job once and acknowledges it with 204', async () => {
    const res = await push(pushBody({ id: 'job-ok' }, { deliveryAttempt: 3 }));
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(handled).toHaveLength(1);
    expect(handled[0]).toMatchObject({
      id: 'job-ok',
      kind: 'sync',
      integration: 'demo1',
      payload: { full: false },
      attempts: 3,
    });
  });

  test.each<[string, () => string | null, number, RegExp]>([
    ['no token', () => null, 401, /missing token/],
    ['an API token', () => h.auth.admin, 401, /Google ID token/],
    [
      'a token for another audience',
      () => idToken({ aud: 'https://other.run.app/pubsub/push' }),
      401,
      /another audience/,
    ],
    [
      'a token signed by another key',
      () => idToken({}, stranger.privateKey),
      401,
      /not signed by a current Google key/,
    ],
    [
      'an expired token',
      () => idToken({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }),
      401,
      /expired/,
    ],
    [
      'a token of another account',
      () => idToken({ email: 'intruder@gmail.com' }),
      403,
      /intruder@gmail\.com, not the push service account/,
    ],
  ])('%s is rejected before the job runs', async (_name, token, status, message) => {
    const res = await push(pushBody({ id: 'job-denied' }), token());
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({
      error: status === 401 ? 'unauthorized' : 'forbidden',
      message: expect.stringMatching(message),
    });
    expect(handled).toEqual([]);
  });

  test.each<[string, unknown, RegExp]>([
    ['no message', { subscription: 'projects/p/subscriptions/s' }, /"message" must be an object/],
    ['a bad subscription', { ...pushBody({ id: 'b1' }), subscription: 'jobs' }, /"subscription"/],
    [
      'data that is not a job',
      { ...pushBody({ id: 'b2' }), message: { data: Buffer.from('{"hello":1}').toString('base64'), messageId: '7' } },
      /"message.data"/,
    ],
    ['an unknown job kind', pushBody({ id: 'b3', kind: 'mine-bitcoin' }), /"message.data"/],
  ])('a body with %s is answered 400 naming the field', async (_name, body, message) => {
    const res = await push(body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_push', message: expect.stringMatching(message) });
    expect(handled).toEqual([]);
  });

  test('malformed JSON is a 400, not a crash', async () => {
    const res = await request(url, {
      method: 'POST',
      url: '/pubsub/push',
      headers: { authorization: `Bearer ${idToken()}`, 'content-type': 'application/json' },
      payload: '{"message":',
    });
    expect(res.statusCode).toBe(400);
    expect(handled).toEqual([]);
  });

  test('a delayed job pushed before it is due is answered 429 so Pub/Sub delivers it again later', async () => {
    const dueAt = Date.now() + 90_000;
    const res = await push(pushBody({ id: 'job-later' }, { attributes: { notBefore: String(dueAt) } }));
    expect(res.statusCode).toBe(429);
    expect(res.json()).toMatchObject({
      error: 'not_due',
      details: { jobId: 'job-later', dueAt: new Date(dueAt).toISOString() },
    });
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(handled).toEqual([]);

    const due = await push(pushBody({ id: 'job-due' }, { attributes: { notBefore: String(Date.now() - 1) } }));
    expect(due.statusCode).toBe(204);
    expect(handled.map((j) => j.id)).toEqual(['job-due']);
  });

  test('a failing job is answered 500 so Pub/Sub redelivers and dead-letters it by its policy; the cause is logged, not sent', async () => {
    failWith = new Error('vendor said no: secret-detail');
    const res = await push(pushBody({ id: 'job-fails' }, { deliveryAttempt: 2 }));
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ error: 'job_failed', details: { jobId: 'job-fails', attempt: 2 } });
    expect(res.body).not.toContain('secret-detail');
    expect(handled.map((j) => j.id)).toEqual(['job-fails']);
    expect(lines.join('')).toContain('vendor said no: secret-detail');
  });

  test('the route is public to API tokens and listed in the OpenAPI document', async () => {
    expect(app.routeAccess).toContainEqual({ method: 'POST', url: '/pubsub/push', access: 'public' });
    const spec = app.swagger() as unknown as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(Object.keys(spec.paths['/pubsub/push'].post.responses)).toEqual(
      expect.arrayContaining(['204', '4XX', '5XX']),
    );
  });
});

describe('POST /pubsub/push without configuration', () => {
  test('answers 404 saying what to set, with or without a token, and runs nothing', async () => {
    for (const headers of [{}, { authorization: `Bearer ${idToken()}` }] as Record<string, string>[]) {
      const res = await h.inject({ method: 'POST', url: '/pubsub/push', headers, payload: pushBody({ id: 'nc' }) });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({
        error: 'not_configured',
        message: expect.stringMatching(/DATA_SYNC_PUBSUB_PUSH_AUDIENCE and DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT/),
      });
    }
    expect(handled).toEqual([]);
  });
});

describe('push configuration from the environment', () => {
  test('DATA_SYNC_PUBSUB_PUSH_AUDIENCE and DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT come as a pair', () => {
    expect(loadConfig({}).pubsubPush).toBeUndefined();
    expect(
      loadConfig({ DATA_SYNC_PUBSUB_PUSH_AUDIENCE: AUDIENCE, DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT: PUSHER })
        .pubsubPush,
    ).toEqual({ audience: AUDIENCE, serviceAccount: PUSHER });
    expect(() => loadConfig({ DATA_SYNC_PUBSUB_PUSH_AUDIENCE: AUDIENCE })).toThrow(
      /DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT.*required/,
    );
    expect(() => loadConfig({ DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT: PUSHER })).toThrow(
      /DATA_SYNC_PUBSUB_PUSH_AUDIENCE.*required/,
    );
    expect(() =>
      loadConfig({ DATA_SYNC_PUBSUB_PUSH_AUDIENCE: AUDIENCE, DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT: 'not-an-email' }),
    ).toThrow(/DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT.*email/);
  });
});
