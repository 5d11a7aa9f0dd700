import { buildCloudflareWorker } from './build';
import { parseIntegrations } from './env-core';
import { redact } from './runtime-core';
import { createWorker, jobFromMessage, retryDelaySeconds, scheduledIntegrations } from './worker';
import type { QueueMessage, WorkerCore, WorkerEnv } from './types';
import { XAuthorizationRefused } from '../social/x-authorization-flow';

const message = (body: unknown, attempts = 1): QueueMessage<unknown> => ({
  id: 'm1',
  timestamp: new Date('2026-01-01T00:00:00Z'),
  body,
  attempts,
  ack: () => undefined,
  retry: () => undefined,
});

describe('retryDelaySeconds', () => {
  test("is the queue core's backoff: doubles per attempt with full jitter up to the ceiling, capped at 15 minutes", () => {
    expect([1, 2, 3, 4].map((a) => retryDelaySeconds(a, 5, () => 0.999999))).toEqual([5, 10, 20, 40]);
    expect([1, 2, 3, 4].map((a) => retryDelaySeconds(a, 5, () => 0))).toEqual([0, 0, 0, 0]);
    expect(retryDelaySeconds(30, 5, () => 0.999999)).toBe(900);
    expect(retryDelaySeconds(3, 0, () => 1)).toBe(0);
  });
});

describe('jobFromMessage', () => {
  test('reads a queued job and takes attempts from the delivery', () => {
    const job = jobFromMessage(
      message(
        {
          id: 'j1',
          kind: 'sync',
          integration: 'hubspot',
          payload: { runId: 'r1' },
          enqueuedAt: Date.parse('2026-02-03T04:05:06.000Z'),
        },
        3,
      ),
    );
    expect(job).toEqual({
      id: 'j1',
      kind: 'sync',
      integration: 'hubspot',
      payload: { runId: 'r1' },
      attempts: 3,
      enqueuedAt: new Date('2026-02-03T04:05:06.000Z'),
    });
  });

  test("a stack's schedule message (no id) takes the message's id", () => {
    expect(
      jobFromMessage(message({ kind: 'sync', integration: 'hubspot', payload: { trigger: 'schedule' } })),
    ).toMatchObject({ id: 'm1', kind: 'sync', integration: 'hubspot' });
  });

  test.each([
    [null, /body: Expected object, received null/],
    ['text', /body: Expected object, received string/],
    [{ id: 'j', kind: 'teleport' }, /kind: Invalid enum value/],
    [{ id: 'j', kind: 'sync', integration: 'Bad Name' }, /integration: must be an integration name/],
    [{ id: 'j', kind: 'sync', enqueuedAt: '2026-02-03' }, /enqueuedAt: Expected number/],
  ])('rejects %j with a message', (body, error) => {
    expect(() => jobFromMessage(message(body))).toThrow(error);
  });
});

describe('parseIntegrations (the INTEGRATIONS secret)', () => {
  test('reads entries, enabled by default', () => {
    const parsed = parseIntegrations(
      JSON.stringify([
        { name: 'mailchimp', system: 'mailchimp', config: { apiKey: 'k-us6' } },
        { name: 'off', system: 'hubspot', enabled: false },
      ]),
    );
    expect(parsed.get('mailchimp')).toEqual({
      name: 'mailchimp',
      system: 'mailchimp',
      enabled: true,
      webhookAllowlist: [],
      config: { apiKey: 'k-us6' },
    });
    expect(parsed.get('off')).toMatchObject({ enabled: false, config: {} });
    expect(parseIntegrations(undefined).size).toBe(0);
  });

  test.each([
    ['{', /not valid JSON/],
    ['{}', /must be a JSON array/],
    ['[1]', /INTEGRATIONS\[0\] must be an object/],
    ['[{"name":"X","system":"s"}]', /INTEGRATIONS\[0\]\.name/],
    ['[{"name":"a"}]', /INTEGRATIONS\[0\]\.system/],
    ['[{"name":"a","system":"s","enabled":"yes"}]', /INTEGRATIONS\[0\]\.enabled/],
    ['[{"name":"a","system":"s","webhookAllowlist":"10.0.0.0/8"}]', /INTEGRATIONS\[0\]\.webhookAllowlist/],
    ['[{"name":"a","system":"s"},{"name":"a","system":"s"}]', /appears twice/],
  ])('rejects %s naming the problem', (raw, error) => {
    expect(() => parseIntegrations(raw)).toThrow(error);
  });
});

describe('redact (Worker log lines)', () => {
  test('drops the keys the runtime logger redacts, at any depth', () => {
    const line = redact({
      msg: 'x',
      integration: 'hubspot',
      config: { apiKey: 'k' },
      nested: { token: 't', list: [{ password: 'p', ok: 1 }] },
      err: new Error('boom'),
    });
    expect(line).toEqual({
      msg: 'x',
      integration: 'hubspot',
      nested: { list: [{ ok: 1 }] },
      err: { type: 'Error', message: 'boom' },
    });
    expect(JSON.stringify(line)).not.toMatch(/"k"|"t"|"p"/);
  });
});

describe('buildCloudflareWorker', () => {
  test('bundles the production entry as one ES module exporting the handlers and RateLimiter', async () => {
    const { code, bytes, outfile } = await buildCloudflareWorker({ write: false });
    expect(outfile).toBeNull();
    expect(bytes).toBeGreaterThan(10_000);
    expect(code).toMatch(/export\s*\{[^}]*\bRateLimiter\b[^}]*\}/);
    expect(code).toMatch(/export\s*\{[^}]*\bas default\b[^}]*\}/);
    expect(code).not.toMatch(/\brequire\(\s*["'](node:)?(events|crypto|stream|net|tls)["']\s*\)/);
    expect(code).not.toMatch(/from\s*["'](cdktf|constructs|@cdktf\/)/);
  });
});

describe('scheduled (Cron Triggers)', () => {
  const env = (schedules: unknown) => ({ SCHEDULES: schedules }) as unknown as WorkerEnv;

  test('queues one sync run for each integration of the firing cron, and none of the others', async () => {
    const triggered: string[] = [];
    const core: WorkerCore = {
      integration: async () => null,
      trigger: async (name, options) => {
        triggered.push(`${name}:${options.actor}`);
        return { runId: `r-${name}`, jobId: `j-${name}` };
      },
      audit: async () => undefined,
      handle: async () => undefined,
    };
    const worker = createWorker(() => core);
    await worker.scheduled(
      { cron: '*/15 * * * *', scheduledTime: 0 },
      env(JSON.stringify({ '*/15 * * * *': ['mailchimp'], '0 * * * *': ['salesforce'] })),
    );
    await worker.scheduled({ cron: '0 * * * *', scheduledTime: 0 }, env({ '0 * * * *': ['salesforce', 'hubspot'] }));
    expect(triggered).toEqual([
      'mailchimp:schedule:*/15 * * * *',
      'salesforce:schedule:0 * * * *',
      'hubspot:schedule:0 * * * *',
    ]);
  });

  test('one failing trigger does not stop the others, and the invocation reports it', async () => {
    const triggered: string[] = [];
    const core: WorkerCore = {
      integration: async () => null,
      trigger: async (name) => {
        if (name === 'hubspot') throw new Error('database unavailable');
        triggered.push(name);
        return { runId: 'r', jobId: 'j' };
      },
      audit: async () => undefined,
      handle: async () => undefined,
    };
    const run = createWorker(() => core).scheduled(
      { cron: 'c', scheduledTime: 0 },
      env({ c: ['hubspot', 'salesforce'] }),
    );
    await expect(run).rejects.toThrow('scheduled sync could not be queued for hubspot: database unavailable');
    expect(triggered).toEqual(['salesforce']);
  });

  test('a malformed SCHEDULES binding is an error naming it', () => {
    expect(() => scheduledIntegrations(env('{'), 'c')).toThrow('the SCHEDULES binding is not valid JSON');
    expect(() => scheduledIntegrations(env({ c: 'salesforce' }), 'c')).toThrow(
      'SCHEDULES["c"] must be a list of integration names',
    );
    expect(scheduledIntegrations(env(undefined), 'c')).toEqual([]);
  });
});

describe('events after an invocation', () => {
  const batchOf = (body: unknown) => ({ queue: 'jobs', messages: [message(body)] });
  const job = { id: 'j1', kind: 'sync', integration: 'hubspot', payload: {}, enqueuedAt: 0 };
  const noLimit = {
    RATE_LIMITER: {
      idFromName: () => ({}),
      get: () => ({ fetch: async () => Response.json({ allowed: true, retryAfterMs: 0 }) }),
    },
  } as unknown as WorkerEnv;
  const coreRecording = (steps: string[], publish: () => Promise<number>): WorkerCore => ({
    integration: async () => null,
    trigger: async () => ({ runId: 'r', jobId: 'j' }),
    audit: async () => undefined,
    handle: async () => void steps.push('handle'),
    publishEvents: async () => {
      steps.push('publish');
      return publish();
    },
    close: async () => void steps.push('close'),
  });

  test("the outbox is published after the batch's jobs, within the invocation (waitUntil), before the core closes", async () => {
    const steps: string[] = [];
    const pending: Promise<unknown>[] = [];
    await createWorker(() => coreRecording(steps, async () => 1)).queue(batchOf(job), noLimit, {
      waitUntil: (p) => void pending.push(p),
    });
    expect(pending).toHaveLength(1);
    await Promise.all(pending);
    expect(steps).toEqual(['handle', 'publish', 'close']);
  });

  test('a request closes its core without publishing: only batches and Cron Triggers drain the outbox', async () => {
    const steps: string[] = [];
    const pending: Promise<unknown>[] = [];
    const answer = await createWorker(() => coreRecording(steps, async () => 1)).fetch(
      new Request('https://sync.example.com/oauth/x/callback?state=s&code=c'),
      noLimit,
      { waitUntil: (p) => void pending.push(p) },
    );
    await Promise.all(pending);
    expect({ status: answer.status, steps }).toEqual({ status: 501, steps: ['close'] });
  });

  test('a publishing failure leaves the events in the outbox: logged, the batch still succeeds and the core closes', async () => {
    const steps: string[] = [];
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await createWorker(() =>
        coreRecording(steps, async () => {
          throw new Error('the EVENTS_NOTIFICATIONS queue binding is missing');
        }),
      ).queue(batchOf(job), noLimit);
      expect(steps).toEqual(['handle', 'publish', 'close']);
      expect(logged.mock.calls.map(([line]) => JSON.parse(String(line)))).toEqual([
        expect.objectContaining({
          msg: expect.stringMatching(/stay in the outbox/),
          err: expect.stringMatching(/EVENTS_NOTIFICATIONS/),
        }),
      ]);
    } finally {
      logged.mockRestore();
    }
  });
});

describe('GET /oauth/x/callback (X redirects the person back after connecting an X account)', () => {
  // Every request is within its inbound limit: the limiter itself is tested in rate-limiter.test.ts.
  const env = {
    RATE_LIMITER: {
      idFromName: (name: string) => ({ toString: () => name }),
      get: () => ({ fetch: async () => Response.json({ allowed: true, retryAfterMs: 0 }) }),
    },
  } as unknown as WorkerEnv;
  const coreWith = (finish?: WorkerCore['finishXAuthorization']): WorkerCore => ({
    integration: async () => null,
    trigger: async () => ({ runId: 'r', jobId: 'j' }),
    audit: async () => undefined,
    handle: async () => undefined,
    ...(finish && { finishXAuthorization: finish }),
  });
  const callback = 'https://sync.example.com/oauth/x/callback?state=s1&code=c1';

  test('hands the query to the core and shows the person that the account is connected', async () => {
    const seen: unknown[] = [];
    const worker = createWorker(() =>
      coreWith(async (query) => {
        seen.push(query);
        return { integration: 'x_acme' };
      }),
    );
    const answer = await worker.fetch(new Request(callback), env);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toContain('text/html');
    expect(await answer.text()).toContain('x_acme');
    expect(seen).toEqual([{ state: 's1', code: 'c1', error: undefined, error_description: undefined }]);
  });

  test("a refusal is the core's status and message; another method is 405; a core without X authorizations is 501", async () => {
    const refusing = createWorker(() =>
      coreWith(async () => {
        throw new XAuthorizationRefused(400, 'invalid_state', 'this authorization is unknown or was already used');
      }),
    );
    const refused = await refusing.fetch(new Request(callback), env);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_state', message: expect.stringContaining('already') });
    expect((await refusing.fetch(new Request(callback, { method: 'POST' }), env)).status).toBe(405);
    expect((await createWorker(() => coreWith()).fetch(new Request(callback), env)).status).toBe(501);
  });
});
