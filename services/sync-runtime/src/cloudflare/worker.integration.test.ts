import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { Miniflare } from 'miniflare';
import { HANDSHAKE_CASES, WEBHOOK_CASES, CASE_CLIENT_IP, caseHeaders } from '../webhooks/ingest.cases';
import { buildCloudflareWorker } from './build';
import type { DurableObjectNamespace } from './types';

/** Records the jobs the fixture core hands over, and the dead letters the DLQ reader reports. */
interface Recorder {
  url: string;
  jobs: Record<string, unknown>[];
  dead: { body: Record<string, unknown>; attempts: number }[];
  /** Audit entries the core was asked to write. */
  audits: { action: string; target: string; outcome: string }[];
  /** Integrations whose jobs the handler fails (HTTP 500). */
  failing: Set<string>;
  close(): Promise<void>;
}

async function startRecorder(): Promise<Recorder> {
  const recorder = { jobs: [], dead: [], audits: [], failing: new Set<string>() } as unknown as Recorder;
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const parsed = JSON.parse(body);
      if (request.url === '/dead') recorder.dead.push(parsed);
      else if (request.url === '/audit') recorder.audits.push(parsed);
      else if (recorder.failing.has(parsed.integration)) {
        recorder.jobs.push(parsed);
        response.statusCode = 500;
      } else recorder.jobs.push(parsed);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  recorder.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  recorder.close = () => new Promise((resolve) => server.close(() => resolve()));
  return recorder;
}

async function eventually(check: () => void, timeoutMs = 20000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const WEBHOOK_SECRET = 'a-mailchimp-webhook-secret-0123456789';
const API_TOKEN = 'operator-token-for-tests';
const MAX_RETRIES = 2;

const DLQ_READER = `export default { async queue(batch, env) {
  for (const m of batch.messages) {
    await fetch(env.SINK + '/dead', { method: 'POST', body: JSON.stringify({ body: m.body, attempts: m.attempts }) });
    m.ack();
  }
} };`;

const firedAt = () => new Date().toISOString().replace('T', ' ').slice(0, 19);
const mailchimpForm = (email: string) =>
  new URLSearchParams({
    type: 'subscribe',
    fired_at: firedAt(),
    'data[email]': email,
    'data[list_id]': 'abc123',
  }).toString();

describe('Cloudflare Worker entry (miniflare)', () => {
  let mf: Miniflare;
  let recorder: Recorder;

  beforeAll(async () => {
    recorder = await startRecorder();
    const { code } = await buildCloudflareWorker({
      entry: path.join(__dirname, 'worker.fixture.ts'),
      write: false,
      minify: false,
    });
    mf = new Miniflare({
      workers: [
        {
          name: 'data-sync',
          modules: true,
          script: code,
          compatibilityDate: '2024-09-23',
          compatibilityFlags: ['nodejs_compat'],
          bindings: {
            API_TOKEN,
            DATA_SYNC_SLOT: 'green',
            TEST_SINK_URL: recorder.url,
            RETRY_BASE_SECONDS: '0',
            RATE_LIMIT_CAPACITY: '100',
            RATE_LIMIT_PER_SECOND: '100',
            INTEGRATIONS: JSON.stringify([
              {
                name: 'mailchimp',
                system: 'mailchimp',
                config: { apiKey: 'abc123-us6', webhookSecret: WEBHOOK_SECRET, lists: { newsletter: 'abc123' } },
              },
              { name: 'mailchimp-broken', system: 'mailchimp', config: { apiKey: 'not a key' } },
              { name: 'paused', system: 'mailchimp', enabled: false, config: { apiKey: 'abc123-us6' } },
              { name: 'flaky', system: 'mailchimp', config: { apiKey: 'abc123-us6' } },
              { name: 'throttled', system: 'mailchimp', config: { apiKey: 'abc123-us6' } },
              ...WEBHOOK_CASES.flatMap((c) => (c.integration ? [{ ...c.integration, system: 'demo' }] : [])),
              ...HANDSHAKE_CASES.map((c) => c.integration),
            ]),
          },
          queueProducers: { JOBS: 'jobs' },
          queueConsumers: {
            jobs: { maxBatchSize: 10, maxBatchTimeout: 0.05, maxRetries: MAX_RETRIES, deadLetterQueue: 'jobs-dlq' },
          },
          durableObjects: { RATE_LIMITER: 'RateLimiter' },
        },
        {
          name: 'dlq-reader',
          modules: true,
          script: DLQ_READER,
          compatibilityDate: '2024-09-23',
          bindings: { SINK: recorder.url },
          queueConsumers: { 'jobs-dlq': { maxBatchTimeout: 0.05 } },
        },
      ],
    });
    await mf.ready;
  }, 60000);

  afterAll(async () => {
    await mf?.dispose();
    await recorder?.close();
  });

  const call = (pathname: string, init?: RequestInit) =>
    mf.dispatchFetch(`https://data-sync.example${pathname}`, init as never);

  test('GET /health answers ok with the slot the script serves', async () => {
    const response = await call('/health');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', runtime: 'cloudflare-worker', slot: 'green' });
  });

  test('a verified webhook is queued before the answer and the consumer hands the job to the core', async () => {
    const email = 'ada@example.com';
    const response = await call(`/webhooks/mailchimp?secret=${WEBHOOK_SECRET}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: mailchimpForm(email),
    });
    expect(response.status).toBe(202);
    const { accepted, jobId } = (await response.json()) as { accepted: number; jobId: string };
    expect(accepted).toBe(1);
    await eventually(() => expect(recorder.jobs.find((j) => j.id === jobId)).toBeDefined());
    const job = recorder.jobs.find((j) => j.id === jobId)!;
    expect(job).toMatchObject({
      kind: 'webhook',
      integration: 'mailchimp',
      attempts: 1,
      dedupeKey: expect.stringMatching(/^webhook:mailchimp:/),
    });
    expect(
      (job.payload as { events: { type: string; object: string; payload: { data: { email: string } } }[] }).events,
    ).toEqual([
      expect.objectContaining({
        type: 'subscribe',
        object: 'newsletter',
        payload: expect.objectContaining({ data: expect.objectContaining({ email }) }),
      }),
    ]);
  });

  test('webhooks with a wrong secret, for unknown, disabled or misconfigured integrations are refused with a message', async () => {
    const form = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: mailchimpForm('eve@example.com'),
    };
    const wrong = await call('/webhooks/mailchimp?secret=wrong-secret-wrong-secret', form);
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: 'webhook_rejected', message: expect.stringMatching(/secret/) });
    expect((await call('/webhooks/nope', form)).status).toBe(404);
    expect((await call('/webhooks/paused', form)).status).toBe(404);
    const broken = await call('/webhooks/mailchimp-broken', form);
    expect(broken.status).toBe(409);
    expect(await broken.json()).toMatchObject({ error: 'invalid_config', message: expect.stringMatching(/apiKey/) });
    expect((await call('/webhooks/Bad%20Name', form)).status).toBe(400);
    expect((await call('/webhooks/mailchimp', { method: 'PUT', body: 'x' })).status).toBe(405);
    expect(
      recorder.jobs.some(
        (j) =>
          (j.payload as { events?: { payload: { data: { email: string } } }[] }).events?.[0]?.payload.data.email ===
          'eve@example.com',
      ),
    ).toBe(false);
  });

  describe('POST /webhooks/:integration answers the cases the Node route answers', () => {
    const answers = new Map<string, { status: number; body: unknown }>();

    beforeAll(async () => {
      for (const c of WEBHOOK_CASES) {
        // Cloudflare names the client in CF-Connecting-IP: the allowlist reads it there.
        const response = await call(`/webhooks/${c.name}`, {
          method: 'POST',
          headers: { ...caseHeaders(c), 'cf-connecting-ip': CASE_CLIENT_IP },
          body: c.body,
        });
        answers.set(c.name, { status: response.status, body: await response.json() });
      }
      // The queue delivers in order: once the last queued case's job has arrived, every earlier one has too.
      const last = [...WEBHOOK_CASES].reverse().find((c) => c.expected.queued)!;
      await eventually(() => expect(recorder.jobs.some((j) => j.integration === last.name)).toBe(true));
    });

    test.each(WEBHOOK_CASES.map((c) => [c.title, c] as const))('%s', (_title, c) => {
      const answer = answers.get(c.name)!;
      expect(answer.status).toBe(c.expected.status);
      expect(answer.body).toMatchObject(c.expected.body);
      const jobs = recorder.jobs.filter((j) => j.kind === 'webhook' && j.integration === c.name);
      expect(jobs).toHaveLength(c.expected.queued ? 1 : 0);
      if (c.expected.queued) expect(jobs[0].dedupeKey).toMatch(new RegExp(`^webhook:${c.name}:[0-9a-f]{32}$`));
      expect(
        recorder.audits.filter(
          (a) => a.action === 'webhook.rejected' && a.target === c.name && a.outcome === 'rejected',
        ),
      ).toHaveLength(c.expected.audited ? 1 : 0);
    });
  });

  describe('GET /webhooks/:integration answers the handshake cases the Node route answers', () => {
    test.each(HANDSHAKE_CASES.map((c) => [c.title, c] as const))('%s', async (_title, c) => {
      const response = await call(`/webhooks/${c.name}${c.query}`, { headers: { 'cf-connecting-ip': CASE_CLIENT_IP } });
      expect(response.status).toBe(c.expected.status);
      if (c.expected.text !== undefined) {
        expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
        expect(await response.text()).toBe(c.expected.text);
      } else expect(await response.json()).toMatchObject(c.expected.body!);
      await eventually(() =>
        expect(recorder.audits.filter((a) => a.action === 'webhook.rejected' && a.target === c.name)).toHaveLength(
          c.expected.audited ? 1 : 0,
        ),
      );
    });
  });

  test('POST /api/sync/trigger/:integration needs the token, validates the body and queues a sync job', async () => {
    expect((await call('/api/sync/trigger/mailchimp', { method: 'POST' })).status).toBe(401);
    expect(
      (await call('/api/sync/trigger/mailchimp', { method: 'POST', headers: { authorization: 'Bearer wrong' } }))
        .status,
    ).toBe(403);
    const auth = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };
    const badBody = await call('/api/sync/trigger/mailchimp', {
      method: 'POST',
      headers: auth,
      body: '{"full": "yes"}',
    });
    expect(badBody.status).toBe(400);
    expect(await badBody.json()).toMatchObject({ message: 'body/full must be a boolean' });
    expect(
      (await call('/api/sync/trigger/mailchimp', { method: 'POST', headers: auth, body: '{not json' })).status,
    ).toBe(400);
    expect((await call('/api/sync/trigger/nope', { method: 'POST', headers: auth })).status).toBe(404);
    const response = await call('/api/sync/trigger/mailchimp', {
      method: 'POST',
      headers: auth,
      body: '{"full": true}',
    });
    expect(response.status).toBe(202);
    const { runId, jobId } = (await response.json()) as { runId: string; jobId: string };
    await eventually(() =>
      expect(recorder.jobs.find((j) => j.id === jobId)).toMatchObject({
        kind: 'sync',
        integration: 'mailchimp',
        payload: { runId, full: true },
      }),
    );
  });

  test('a failing job is retried, then moved to the dead-letter queue', async () => {
    recorder.failing.add('flaky');
    const response = await call('/api/sync/trigger/flaky', {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    expect(response.status).toBe(202);
    const { jobId } = (await response.json()) as { jobId: string };
    await eventually(() => expect(recorder.dead.map((d) => d.body.id)).toContain(jobId));
    const deliveries = recorder.jobs.filter((j) => j.id === jobId);
    expect(deliveries.map((j) => j.attempts)).toEqual([1, 2, 3]);
    expect(deliveries).toHaveLength(MAX_RETRIES + 1);
    expect(recorder.dead.find((d) => d.body.id === jobId)!.body).toMatchObject({ kind: 'sync', integration: 'flaky' });
  });

  test('a malformed message is never dropped: it is retried and dead-lettered', async () => {
    const jobs = await mf.getQueueProducer<unknown>('JOBS', 'data-sync');
    await jobs.send({ id: 'malformed-1', kind: 'teleport', integration: 'mailchimp' });
    await eventually(() => expect(recorder.dead.map((d) => d.body.id)).toContain('malformed-1'));
    expect(recorder.dead.find((d) => d.body.id === 'malformed-1')!.body).toEqual({
      id: 'malformed-1',
      kind: 'teleport',
      integration: 'mailchimp',
    });
    expect(recorder.jobs.some((j) => j.id === 'malformed-1')).toBe(false);
  });

  test('the RateLimiter Durable Object keeps one token bucket per integration', async () => {
    // miniflare types the namespace with workers-types, which this project does not install.
    const limiter = (await mf.getDurableObjectNamespace(
      'RATE_LIMITER',
      'data-sync',
    )) as unknown as DurableObjectNamespace;
    const take = async (integration: string) => {
      const response = await limiter.get(limiter.idFromName(integration)).fetch('https://rate-limiter/take', {
        method: 'POST',
        body: JSON.stringify({ capacity: 2, refillPerSecond: 0.01 }),
      });
      return (await response.json()) as { allowed: boolean; retryAfterMs: number; remaining: number };
    };
    expect(await take('throttled')).toMatchObject({ allowed: true, remaining: 1 });
    expect(await take('throttled')).toMatchObject({ allowed: true, remaining: 0 });
    const denied = await take('throttled');
    expect(denied.allowed).toBe(false);
    expect(denied.retryAfterMs).toBeGreaterThan(90_000);
    expect(await take('other-integration')).toMatchObject({ allowed: true, remaining: 1 });
    const bad = await limiter.get(limiter.idFromName('throttled')).fetch('https://rate-limiter/take', {
      method: 'POST',
      body: JSON.stringify({ capacity: 0, refillPerSecond: 1 }),
    });
    expect(bad.status).toBe(400);
  });

  test('unknown routes answer 404 with the error shape', async () => {
    const response = await call('/api/nothing');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'not_found', message: 'no route GET /api/nothing', details: null });
  });
});
