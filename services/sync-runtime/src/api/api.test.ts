import { METRIC_LIST } from '@data-sync/monitoring/metrics';
import { bearer, createHarness, Harness } from './testing/harness';
import { demoSource, signDemo } from './testing/demo-connector';
import { MASK } from '../store/integrations-repository';

let h: Harness;
const SECRET = { apiKey: 'key-live-0123456789', webhookSecret: 'whsec-abcdefghijkl' };

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());

async function createIntegration(name: string, extra: Record<string, unknown> = {}) {
  const res = await h.inject({
    method: 'POST',
    url: '/api/integrations',
    headers: bearer(h.auth.admin),
    payload: {
      name,
      system: 'demo',
      objects: ['contacts'],
      config: { baseUrl: 'http://127.0.0.1:1', ...SECRET },
      ...extra,
    },
  });
  expect(res.statusCode).toBe(201);
  return res.json();
}

function webhook(
  name: string,
  events: { id: string; type: string }[],
  secret = SECRET.webhookSecret,
  headers: Record<string, string> = {},
) {
  const body = JSON.stringify({ events });
  return h.inject({
    method: 'POST',
    url: `/webhooks/${name}`,
    headers: { 'content-type': 'application/json', 'x-demo-signature': signDemo(secret, body), ...headers },
    payload: body,
  });
}

describe('integrations', () => {
  test('config is validated against the connector schema, with the failing field named', async () => {
    const res = await h.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(h.auth.admin),
      payload: { name: 'bad_config', system: 'demo', config: { baseUrl: 'not a url', apiKey: 'x' } },
    });
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error).toBe('invalid_config');
    expect(body.details.map((d: { path: string }) => d.path)).toEqual(
      expect.arrayContaining(['/config/baseUrl', '/config/apiKey', '/config/webhookSecret']),
    );
  });

  test('an unknown system is a 400 naming the known ones', async () => {
    const res = await h.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(h.auth.admin),
      payload: { name: 'x1', system: 'nosuch', config: {} },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'unknown_system', details: { known: ['demo'] } });
  });

  test('credentials are sealed at rest and masked in every answer; a masked value sent back keeps the secret while the URLs stay', async () => {
    const created = await createIntegration('crm_a');
    expect(created.config).toEqual({ baseUrl: 'http://127.0.0.1:1', apiKey: MASK, webhookSecret: MASK });
    const raw = await h.db.query<{ config_sealed: string }>('SELECT config_sealed FROM integrations WHERE id = $1', [
      created.id,
    ]);
    expect(raw.rows[0].config_sealed).not.toContain(SECRET.apiKey);
    expect(raw.rows[0].config_sealed).toMatch(/^v1:[0-9a-f]{12}:/);

    const list = await h.inject({ method: 'GET', url: '/api/integrations', headers: bearer(h.auth.viewer) });
    expect(list.body).not.toContain(SECRET.apiKey);
    expect(list.body).not.toContain(SECRET.webhookSecret);

    const updated = await h.inject({
      method: 'PUT',
      url: `/api/integrations/${created.id}`,
      headers: bearer(h.auth.admin),
      payload: { config: { ...created.config }, syncInterval: '15m' },
    });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({
      syncInterval: '15m',
      config: { baseUrl: 'http://127.0.0.1:1', apiKey: MASK },
    });
    expect((await h.integrations.getById(created.id))!.config).toEqual({ baseUrl: 'http://127.0.0.1:1', ...SECRET });
    const moved = await h.inject({
      method: 'PUT',
      url: `/api/integrations/${created.id}`,
      headers: bearer(h.auth.admin),
      payload: { config: { ...created.config, baseUrl: 'http://127.0.0.1:2' } },
    });
    expect(moved.statusCode).toBe(400);
    expect(moved.json()).toMatchObject({ error: 'secrets_required' });
  });

  test('duplicates conflict, unknown ids are 404, bad CIDRs and intervals are 400', async () => {
    await createIntegration('crm_b');
    const dup = await h.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(h.auth.admin),
      payload: { name: 'crm_b', system: 'demo', config: { baseUrl: 'http://127.0.0.1:3', ...SECRET } },
    });
    expect(dup.statusCode).toBe(409);
    expect(
      (
        await h.inject({
          method: 'PUT',
          url: '/api/integrations/nope',
          headers: bearer(h.auth.admin),
          payload: { enabled: false },
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (await h.inject({ method: 'DELETE', url: '/api/integrations/nope', headers: bearer(h.auth.admin) })).statusCode,
    ).toBe(404);
    const cidr = await h.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(h.auth.admin),
      payload: {
        name: 'crm_c',
        system: 'demo',
        webhookAllowlist: ['10.0.0.0/33'],
        config: { baseUrl: 'http://127.0.0.1:3', ...SECRET },
      },
    });
    expect(cidr.statusCode).toBe(400);
    expect(cidr.json().message).toContain('10.0.0.0/33');
    const interval = await h.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(h.auth.admin),
      payload: {
        name: 'crm_c',
        system: 'demo',
        syncInterval: '5x',
        config: { baseUrl: 'http://127.0.0.1:3', ...SECRET },
      },
    });
    expect(interval.statusCode).toBe(400);
  });

  test('connection test reports the connector outcome, failures included', async () => {
    const ok = await createIntegration('crm_test_ok');
    expect(
      (
        await h.inject({ method: 'POST', url: `/api/integrations/${ok.id}/test`, headers: bearer(h.auth.operator) })
      ).json(),
    ).toMatchObject({ ok: true });
    const revoked = await h.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(h.auth.admin),
      payload: {
        name: 'crm_test_bad',
        system: 'demo',
        config: { baseUrl: 'http://127.0.0.1:3', apiKey: 'revoked-123456', webhookSecret: SECRET.webhookSecret },
      },
    });
    const res = await h.inject({
      method: 'POST',
      url: `/api/integrations/${revoked.json().id}/test`,
      headers: bearer(h.auth.operator),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ok: false, message: expect.stringContaining('auth') });
  });

  test('delete removes it', async () => {
    const created = await createIntegration('crm_del');
    expect(
      (
        await h.inject({ method: 'DELETE', url: `/api/integrations/${created.id}`, headers: bearer(h.auth.admin) })
      ).json(),
    ).toEqual({ deleted: created.id, name: 'crm_del' });
    expect(
      (await h.inject({ method: 'GET', url: `/api/integrations/${created.id}`, headers: bearer(h.auth.viewer) }))
        .statusCode,
    ).toBe(404);
  });
});

describe('sync', () => {
  test('trigger queues a run that the worker completes; history and status show it', async () => {
    await createIntegration('sync_a');
    const res = await h.inject({ method: 'POST', url: '/api/sync/trigger/sync_a', headers: bearer(h.auth.operator) });
    expect(res.statusCode).toBe(202);
    const { runId } = res.json();
    await h.drain();
    const history = await h.inject({
      method: 'GET',
      url: '/api/sync/history?integration=sync_a&status=succeeded',
      headers: bearer(h.auth.viewer),
    });
    expect(history.json()).toMatchObject({
      total: 1,
      runs: [{ id: runId, status: 'succeeded', received: demoSource.contacts.length }],
    });
    const status = await h.inject({ method: 'GET', url: '/api/sync/status', headers: bearer(h.auth.viewer) });
    expect(status.json().integrations.find((i: { integration: string }) => i.integration === 'sync_a')).toMatchObject({
      cursors: { contacts: '3' },
      running: false,
    });
    const metrics = await h.inject({ method: 'GET', url: '/api/sync/metrics', headers: bearer(h.auth.viewer) });
    expect(metrics.json().runs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ integration: 'sync_a', status: 'succeeded', count: 1, received: 3 }),
      ]),
    );
  });

  test('trigger of an unknown integration is 404, of a disabled one 409', async () => {
    expect(
      (await h.inject({ method: 'POST', url: '/api/sync/trigger/ghost', headers: bearer(h.auth.operator) })).statusCode,
    ).toBe(404);
    const created = await createIntegration('sync_off', { enabled: false });
    const res = await h.inject({ method: 'POST', url: '/api/sync/trigger/sync_off', headers: bearer(h.auth.operator) });
    expect(res.statusCode).toBe(409);
    expect(res.json().message).toContain(created.id);
  });

  test('reset clears cursors; purge needs admin', async () => {
    await createIntegration('sync_r');
    await h.inject({ method: 'POST', url: '/api/sync/trigger/sync_r', headers: bearer(h.auth.operator) });
    await h.drain();
    const denied = await h.inject({
      method: 'DELETE',
      url: '/api/sync/reset/sync_r?purge=true',
      headers: bearer(h.auth.operator),
    });
    expect(denied.statusCode).toBe(403);
    const reset = await h.inject({ method: 'DELETE', url: '/api/sync/reset/sync_r', headers: bearer(h.auth.operator) });
    expect(reset.json()).toEqual({ integration: 'sync_r', cursorsCleared: 1, purgedRecords: 0 });
    const purged = await h.inject({
      method: 'DELETE',
      url: '/api/sync/reset/sync_r?purge=true',
      headers: bearer(h.auth.admin),
    });
    expect(purged.json()).toMatchObject({ purgedRecords: 3 });
  });

  test('the self-test sends a probe through queue, worker and store', async () => {
    const pending = h.inject({ method: 'POST', url: '/api/sync/test', headers: bearer(h.auth.operator) });
    // PGlite answers through promises only: wait on a timer so the HTTP request gets served meanwhile.
    let handled = 0;
    while (handled === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      handled = await h.drain();
    }
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      ok: true,
      timings: { enqueueMs: expect.any(Number), totalMs: expect.any(Number) },
    });
  });
});

describe('webhooks', () => {
  test('a signed delivery is queued before the 202; processing triggers one sync; a redelivery changes nothing', async () => {
    await createIntegration('hook_a');
    const res = await webhook('hook_a', [{ id: 'e1', type: 'contact.updated' }]);
    expect(res.statusCode).toBe(202);
    const { jobId } = res.json();
    const depth = await h.queue.depth();
    expect(depth.ready).toBeGreaterThanOrEqual(1);
    await h.drain();
    const runs = await h.db.query(`SELECT status FROM sync_runs WHERE integration = 'hook_a'`);
    expect(runs.rows).toEqual([{ status: 'succeeded' }]);
    expect(jobId).toEqual(expect.any(String));
    expect((await webhook('hook_a', [{ id: 'e1', type: 'contact.updated' }])).statusCode).toBe(202);
    await h.drain();
    expect((await h.db.query(`SELECT 1 FROM sync_runs WHERE integration = 'hook_a'`)).rows).toHaveLength(1);
  });

  test('a forged signature is 401 and audited; nothing is queued', async () => {
    await createIntegration('hook_b');
    const before = await h.queue.depth();
    const res = await webhook('hook_b', [{ id: 'e1', type: 't' }], 'wrong-secret-123');
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: 'webhook_rejected', message: 'bad signature' });
    expect((await h.queue.depth()).ready).toBe(before.ready);
    const audit = await h.db.query(
      `SELECT outcome FROM audit_log WHERE action = 'webhook.rejected' AND target = 'hook_b'`,
    );
    expect(audit.rows).toEqual([{ outcome: 'rejected' }]);
  });

  test('the allowlist admits listed networks only', async () => {
    await createIntegration('hook_c', { webhookAllowlist: ['10.1.0.0/16'] });
    expect((await webhook('hook_c', [{ id: 'x', type: 't' }])).statusCode).toBe(403);
    await createIntegration('hook_c2', { webhookAllowlist: ['10.1.0.0/16', '127.0.0.0/8'] });
    expect((await webhook('hook_c2', [{ id: 'x', type: 't' }])).statusCode).toBe(202);
  });

  test('a delivery whose events nest too deep to process is 400, and nothing is queued', async () => {
    await createIntegration('hook_deep');
    const before = await h.queue.depth();
    const body = `{"events":[{"id":"d1","type":"t","nested":${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}}]}`;
    const res = await h.inject({
      method: 'POST',
      url: '/webhooks/hook_deep',
      headers: { 'content-type': 'application/json', 'x-demo-signature': signDemo(SECRET.webhookSecret, body) },
      payload: body,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'too_deeply_nested' });
    expect((await h.queue.depth()).ready).toBe(before.ready);
  });

  test('a delivery holding text the database cannot store is 400, and deliveries beside it are still queued', async () => {
    await createIntegration('hook_nul');
    const [bad, good] = await Promise.all([
      webhook('hook_nul', [{ id: 'n1', type: 'contact\u0000updated' }]),
      webhook('hook_nul', [{ id: 'n2', type: 'contact.updated' }]),
    ]);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'unstorable_text' });
    expect(good.statusCode).toBe(202);
  });

  test('unknown integrations are 404; unreadable bodies 400; the raw body reaches the verifier whatever its type', async () => {
    expect((await webhook('nobody', [])).statusCode).toBe(404);
    await createIntegration('hook_d');
    const body = 'not json';
    const bad = await h.inject({
      method: 'POST',
      url: '/webhooks/hook_d',
      headers: { 'content-type': 'text/plain', 'x-demo-signature': signDemo(SECRET.webhookSecret, body) },
      payload: body,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toBe('webhook_invalid');
    const form = '{"events":[{"id":"f1","type":"t"}]}';
    const res = await h.inject({
      method: 'POST',
      url: '/webhooks/hook_d',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-demo-signature': signDemo(SECRET.webhookSecret, form),
      },
      payload: form,
    });
    expect(res.statusCode).toBe(202);
  });
});

describe('errors', () => {
  test.each([
    [
      'malformed JSON',
      {
        method: 'POST',
        url: '/api/integrations',
        headers: { 'content-type': 'application/json' },
        payload: '{"name":',
      },
      400,
    ],
    ['wrong types', { method: 'POST', url: '/api/integrations', payload: { name: 5, system: [], config: 'x' } }, 400],
    ['unknown properties', { method: 'POST', url: '/api/sync/trigger/x', payload: { full: true, extra: 1 } }, 400],
    ['bad query', { method: 'GET', url: '/api/sync/history?limit=-4' }, 400],
    ['infinite number', { method: 'GET', url: '/api/pipelines/status?limit=1e400' }, 400],
    ['unknown route', { method: 'GET', url: '/api/nothing-here' }, 404],
    [
      'unsupported media type',
      { method: 'POST', url: '/api/integrations', headers: { 'content-type': 'application/x-nope' }, payload: 'a' },
      415,
    ],
    // JSON.parse takes it; every recursive step after it would overflow the stack.
    // Valid JSON escapes, but not text: PostgreSQL's jsonb refuses them.
    [
      'a lone UTF-16 surrogate',
      {
        method: 'POST',
        url: '/api/pipelines/validate',
        headers: { 'content-type': 'application/json' },
        payload: '{"mapping":"salesforce_to_internal.Contact","records":[{"Email":"a\\ud800@b.io"}]}',
      },
      400,
    ],
    [
      'JSON nested 100,000 deep',
      {
        method: 'POST',
        url: '/api/pipelines/validate',
        headers: { 'content-type': 'application/json' },
        payload: `{"mapping":"salesforce_to_internal.Contact","records":[${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}]}`,
      },
      400,
    ],
  ] as const)('%s: 4xx with {error, message, details}', async (_name, request, status) => {
    const res = await h.inject({
      ...request,
      headers: { ...bearer(h.auth.admin), ...('headers' in request ? request.headers : {}) },
    } as never);
    expect(res.statusCode).toBe(status);
    expect(Object.keys(res.json()).sort()).toEqual(['details', 'error', 'message']);
  });

  test('an oversized body is 413', async () => {
    const res = await h.inject({
      method: 'POST',
      url: '/api/pipelines/validate',
      headers: { ...bearer(h.auth.admin), 'content-type': 'application/json' },
      payload: JSON.stringify({ mapping: 'x', records: [{ a: 'x'.repeat(1024 * 1024) }] }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error).toBe('body_too_large');
  });
});

describe('pipelines', () => {
  const mapping = 'salesforce_to_internal.Contact';
  const records = [
    {
      Email: 'ada@example.com',
      FirstName: 'ada',
      LastName: 'lovelace',
      Phone: '+44 20 7946 0958',
      LastModifiedDate: '2024-01-01T00:00:00Z',
      CreatedDate: '2023-01-01T00:00:00Z',
    },
    {
      Email: 'not-an-email',
      FirstName: 'x',
      LastName: 'y',
      LastModifiedDate: '2024-01-01T00:00:00Z',
      CreatedDate: '2023-01-01T00:00:00Z',
    },
  ];

  test('validate and transform run the named mapping; unknown mappings are 400', async () => {
    const validated = await h.inject({
      method: 'POST',
      url: '/api/pipelines/validate',
      headers: bearer(h.auth.operator),
      payload: { mapping, records },
    });
    expect(validated.statusCode).toBe(200);
    expect(validated.json().valid).toHaveLength(1);
    expect(validated.json().invalid).toEqual([expect.objectContaining({ index: 1 })]);
    const transformed = await h.inject({
      method: 'POST',
      url: '/api/pipelines/transform',
      headers: bearer(h.auth.operator),
      payload: { mapping, records: records.slice(0, 1) },
    });
    expect(transformed.json().records[0]).toMatchObject({ email: 'ada@example.com' });
    const unknown = await h.inject({
      method: 'POST',
      url: '/api/pipelines/transform',
      headers: bearer(h.auth.operator),
      payload: { mapping: 'nope.X', records },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toBe('unknown_mapping');
  });

  test('ingest of records holding text the database cannot store is 400 with the reason, not a 500', async () => {
    await createIntegration('pipe_nul');
    const res = await h.inject({
      method: 'POST',
      url: '/api/pipelines/ingest',
      headers: bearer(h.auth.operator),
      payload: { integration: 'pipe_nul', mapping, records: [{ ...records[0], FirstName: 'A\u0000da' }] },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'unstorable_text' });
  });

  test('ingest queues a pipeline run that the worker completes; status and metrics count it', async () => {
    await createIntegration('pipe_a');
    const res = await h.inject({
      method: 'POST',
      url: '/api/pipelines/ingest',
      headers: bearer(h.auth.operator),
      payload: { integration: 'pipe_a', mapping, records },
    });
    expect(res.statusCode).toBe(202);
    await h.drain();
    const status = await h.inject({
      method: 'GET',
      url: '/api/pipelines/status?integration=pipe_a',
      headers: bearer(h.auth.viewer),
    });
    expect(status.json()).toMatchObject({
      total: 1,
      byStatus: { succeeded: 1 },
      runs: [{ id: res.json().runId, received: 2, accepted: 1, quarantined: 1 }],
    });
    const metrics = await h.inject({ method: 'GET', url: '/api/pipelines/metrics', headers: bearer(h.auth.viewer) });
    expect(metrics.json().integrations).toEqual([
      expect.objectContaining({ integration: 'pipe_a', runs: 1, received: 2, accepted: 1 }),
    ]);
  });
});

describe('audit, tokens, health, metrics', () => {
  test('state-changing calls are audited with actor, action, target and outcome; only admins read the log', async () => {
    await createIntegration('audit_a');
    await h.inject({ method: 'POST', url: '/api/sync/trigger/audit_a', headers: bearer(h.auth.viewer) });
    const res = await h.inject({
      method: 'GET',
      url: '/api/audit?target=audit_a&limit=5',
      headers: bearer(h.auth.admin),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'POST /api/sync/trigger/:integration',
          target: 'audit_a',
          outcome: 'denied',
          actor: expect.stringMatching(/^token:viewer-/),
        }),
      ]),
    );
    const created = await h.inject({
      method: 'GET',
      url: '/api/audit?action=POST%20%2Fapi%2Fintegrations&limit=1&offset=0',
      headers: bearer(h.auth.admin),
    });
    expect(created.json()).toMatchObject({
      limit: 1,
      entries: [{ outcome: 'ok', actor: expect.stringMatching(/^token:admin-/) }],
    });
    expect(created.json().total).toBeGreaterThan(1);
    expect((await h.inject({ method: 'GET', url: '/api/audit', headers: bearer(h.auth.operator) })).statusCode).toBe(
      403,
    );
  });

  test('tokens: created once in clear, stored hashed, revocable', async () => {
    const res = await h.inject({
      method: 'POST',
      url: '/api/tokens',
      headers: bearer(h.auth.admin),
      payload: { name: 'ci-bot', role: 'viewer' },
    });
    expect(res.statusCode).toBe(201);
    const { token, info } = res.json();
    expect((await h.db.query('SELECT 1 FROM api_tokens WHERE token_hash = $1', [token])).rows).toHaveLength(0);
    expect((await h.inject({ method: 'GET', url: '/api/sync/status', headers: bearer(token) })).statusCode).toBe(200);
    expect(
      (await h.inject({ method: 'DELETE', url: `/api/tokens/${info.id}`, headers: bearer(h.auth.admin) })).statusCode,
    ).toBe(200);
    expect((await h.inject({ method: 'GET', url: '/api/sync/status', headers: bearer(token) })).statusCode).toBe(401);
  });

  test('dead letters are listed for operators and redriven by admins', async () => {
    const id = await h.queue.enqueue({ kind: 'sync', integration: 'ghost', payload: { runId: 'no-such-run' } });
    // maxAttempts is 2 in the harness: the second failure dead-letters it (backoff is a few ms).
    for (let i = 0; i < 20 && (await h.queue.depth()).dead === 0; i++) {
      await h.drain();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const list = await h.inject({ method: 'GET', url: '/api/queue/dead-letters', headers: bearer(h.auth.operator) });
    expect(list.json().deadLetters).toEqual([
      expect.objectContaining({ id, kind: 'sync', lastError: expect.stringContaining('no-such-run') }),
    ]);
    expect(
      (
        await h.inject({
          method: 'POST',
          url: '/api/queue/redrive',
          headers: bearer(h.auth.operator),
          payload: { ids: [id] },
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await h.inject({
          method: 'POST',
          url: '/api/queue/redrive',
          headers: bearer(h.auth.admin),
          payload: { ids: [id] },
        })
      ).json(),
    ).toEqual({ redriven: 1 });
    expect((await h.queue.depth()).dead).toBe(0);
    await h.drain();
  });

  test('liveness names the blue-green slot that answered, when the deployment gives one', async () => {
    const green = await createHarness({ slot: 'green', db: h.db });
    try {
      expect((await green.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok', slot: 'green' });
    } finally {
      await green.close();
    }
  });

  test('health: liveness, readiness, n8n not configured, integrations', async () => {
    expect((await h.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
    expect((await h.inject({ method: 'GET', url: '/health/ready' })).json()).toMatchObject({
      status: 'ready',
      store: { ok: true },
      queue: { ok: true },
    });
    expect((await h.inject({ method: 'GET', url: '/health/n8n' })).json()).toMatchObject({ status: 'not configured' });
    const integrations = await h.inject({ method: 'GET', url: '/health/integrations', headers: bearer(h.auth.viewer) });
    expect(integrations.json().status).toBe('degraded');
    expect(integrations.json().integrations).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'crm_test_bad', ok: false })]),
    );
  });

  test('/metrics exposes every catalog metric in Prometheus text format', async () => {
    const res = await h.inject({ method: 'GET', url: '/metrics' });
    expect(res.headers['content-type']).toContain('text/plain');
    for (const metric of METRIC_LIST) expect(res.body).toContain(`# TYPE ${metric.name} ${metric.type}`);
    expect(res.body).toMatch(/data_sync_webhook_requests_total\{integration="hook_b",code="401"\} 1/);
    expect(res.body).toMatch(/data_sync_webhook_requests_total\{integration="unknown",code="404"\}/);
  });

  test('OpenAPI at /docs lists every route', async () => {
    const res = await h.inject({ method: 'GET', url: '/docs/json' });
    const paths = Object.keys(res.json().paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/api/sync/trigger/{integration}',
        '/api/integrations/{id}/test',
        '/api/workflows/{id}/activate',
        '/api/pipelines/ingest',
        '/webhooks/{integration}',
        '/health/n8n',
        '/api/audit',
      ]),
    );
  });
});
