import { createN8nClient } from '@data-sync/n8n/client';
import { FakeN8n, startFakeN8n, webhookWorkflow } from '@data-sync/n8n/fake-server';
import { bearer, createHarness, Harness } from './testing/harness';

const API_KEY = 'n8n-api-key-fedcba9876';
let n8n: FakeN8n;
let h: Harness;

beforeAll(async () => {
  n8n = await startFakeN8n({
    apiKey: API_KEY,
    workflows: [
      webhookWorkflow('wf1', 'contact-sync'),
      webhookWorkflow('wf2', 'newsletter', true),
      webhookWorkflow('wf3', 'other', true),
    ],
  });
  h = await createHarness({ n8n: createN8nClient({ baseUrl: n8n.url, apiKey: API_KEY }) });
});
afterAll(async () => {
  await h.close();
  await n8n.close();
});

test('lists workflows page by page with n8n cursors', async () => {
  const first = await h.inject({ method: 'GET', url: '/api/workflows', headers: bearer(h.auth.viewer) });
  expect(first.json().workflows.map((w: { id: string }) => w.id)).toEqual(['wf1', 'wf2']);
  const second = await h.inject({
    method: 'GET',
    url: `/api/workflows?cursor=${encodeURIComponent(first.json().nextCursor)}`,
    headers: bearer(h.auth.viewer),
  });
  expect(second.json()).toMatchObject({ workflows: [{ id: 'wf3' }], nextCursor: null });
  const active = await h.inject({ method: 'GET', url: '/api/workflows?active=false', headers: bearer(h.auth.viewer) });
  expect(active.json().workflows.map((w: { id: string }) => w.id)).toEqual(['wf1']);
});

test('activate, execute through the webhook trigger, then read the execution status', async () => {
  const inactive = await h.inject({
    method: 'POST',
    url: '/api/workflows/execute',
    headers: bearer(h.auth.operator),
    payload: { workflowId: 'wf1', payload: { a: 1 } },
  });
  expect(inactive.statusCode).toBe(409);
  expect(inactive.json().message).toContain('not active');
  const activated = await h.inject({
    method: 'POST',
    url: '/api/workflows/wf1/activate',
    headers: bearer(h.auth.operator),
  });
  expect(activated.json()).toMatchObject({ id: 'wf1', active: true });
  const run = await h.inject({
    method: 'POST',
    url: '/api/workflows/execute',
    headers: bearer(h.auth.operator),
    payload: { workflowId: 'wf1', payload: { contact: 'c1' } },
  });
  expect(run.statusCode).toBe(202);
  expect(run.json()).toMatchObject({ workflowId: 'wf1', status: 200 });
  expect(n8n.state.executions[0]).toMatchObject({ workflowId: 'wf1', data: { contact: 'c1' } });
  const status = await h.inject({ method: 'GET', url: '/api/workflows/wf1/status', headers: bearer(h.auth.viewer) });
  expect(status.json()).toMatchObject({
    workflow: { id: 'wf1', active: true },
    lastStatus: 'success',
    executions: [{ workflowId: 'wf1', mode: 'webhook' }],
  });
  const deactivated = await h.inject({
    method: 'POST',
    url: '/api/workflows/wf1/activate',
    headers: bearer(h.auth.operator),
    payload: { active: false },
  });
  expect(deactivated.json().active).toBe(false);
});

test('unknown workflows are 404; a wrong API key or a dead n8n is 502 with the reason', async () => {
  expect(
    (await h.inject({ method: 'GET', url: '/api/workflows/nope/status', headers: bearer(h.auth.viewer) })).statusCode,
  ).toBe(404);
  const wrongKey = await createHarness({ n8n: createN8nClient({ baseUrl: n8n.url, apiKey: 'wrong' }), db: h.db });
  try {
    const res = await wrongKey.inject({ method: 'GET', url: '/api/workflows', headers: bearer(wrongKey.auth.viewer) });
    expect(res.statusCode).toBe(502);
    expect(res.json().message).toContain('N8N_API_KEY');
    expect((await wrongKey.inject({ method: 'GET', url: '/health/n8n' })).json().status).toBe('unreachable');
  } finally {
    await wrongKey.close();
  }
  expect((await h.inject({ method: 'GET', url: '/health/n8n' })).json().status).toBe('ok');
});

test('without N8N_URL every workflow route is 503 saying n8n is not configured', async () => {
  const bare = await createHarness({ db: h.db });
  try {
    for (const [method, url] of [
      ['GET', '/api/workflows'],
      ['POST', '/api/workflows/execute'],
      ['GET', '/api/workflows/wf1/status'],
      ['POST', '/api/workflows/wf1/activate'],
    ]) {
      const res = await bare.inject({
        method,
        url,
        headers: bearer(bare.auth.admin),
        payload: url.endsWith('execute') ? { workflowId: 'wf1' } : method === 'POST' ? {} : undefined,
      });
      expect([url, res.statusCode, res.json().error]).toEqual([url, 503, 'n8n_not_configured']);
    }
    expect((await bare.inject({ method: 'GET', url: '/health/n8n' })).json()).toEqual({
      status: 'not configured',
      message: 'N8N_URL is not set',
    });
  } finally {
    await bare.close();
  }
});
