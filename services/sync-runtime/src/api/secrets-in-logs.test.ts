import { createN8nClient } from '@data-sync/n8n/client';
import { FakeN8n, startFakeN8n, webhookWorkflow } from '@data-sync/n8n/fake-server';
import { bearer, createHarness, Harness } from './testing/harness';
import { signDemo } from './testing/demo-connector';

const N8N_KEY = 'n8n-key-SECRET-5f3a9c';
const CONFIG = {
  baseUrl: 'http://127.0.0.1:1',
  apiKey: 'vendor-key-SECRET-77e1',
  webhookSecret: 'webhook-SECRET-0c9d2e',
};
let h: Harness;
let n8n: FakeN8n;

beforeAll(async () => {
  n8n = await startFakeN8n({ apiKey: N8N_KEY, workflows: [webhookWorkflow('wf1', 'hook', true)] });
  h = await createHarness({ worker: true, n8n: createN8nClient({ baseUrl: n8n.url, apiKey: N8N_KEY }) });
});
afterAll(async () => {
  await h.close();
  await n8n.close();
});

test('a full run through every kind of call never writes a secret it used to the log', async () => {
  const secrets = [
    N8N_KEY,
    CONFIG.apiKey,
    CONFIG.webhookSecret,
    h.encryptionKey,
    h.auth.viewer,
    h.auth.operator,
    h.auth.admin,
  ];
  const admin = bearer(h.auth.admin);
  const created = (
    await h.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: admin,
      payload: { name: 'leaky', system: 'demo', objects: ['contacts'], config: CONFIG },
    })
  ).json();
  await h.inject({
    method: 'PUT',
    url: `/api/integrations/${created.id}`,
    headers: admin,
    payload: { config: { ...CONFIG, apiKey: 'vendor-key-SECRET-rotated' } },
  });
  secrets.push('vendor-key-SECRET-rotated');
  // Invalid config: the validation error must not echo the submitted secret.
  await h.inject({
    method: 'POST',
    url: '/api/integrations',
    headers: admin,
    payload: { name: 'leaky2', system: 'demo', config: { ...CONFIG, baseUrl: 'nope' } },
  });
  await h.inject({ method: 'GET', url: '/api/integrations', headers: bearer(h.auth.viewer) });
  await h.inject({ method: 'POST', url: `/api/integrations/${created.id}/test`, headers: bearer(h.auth.operator) });
  const token = (
    await h.inject({
      method: 'POST',
      url: '/api/tokens',
      headers: admin,
      payload: { name: 'one-shot', role: 'viewer' },
    })
  ).json().token;
  secrets.push(token);
  await h.inject({ method: 'GET', url: '/api/sync/status', headers: bearer(token) });
  await h.inject({ method: 'GET', url: '/api/sync/status', headers: bearer('dst_wrong-token-SECRET') });
  secrets.push('dst_wrong-token-SECRET');

  const body = JSON.stringify({ events: [{ id: 'e1', type: 'contact.updated' }] });
  // Some vendors put the webhook secret in the URL query: the logged URL drops the query string.
  await h.inject({
    method: 'POST',
    url: `/webhooks/leaky?secret=${CONFIG.webhookSecret}`,
    headers: { 'content-type': 'application/json', 'x-demo-signature': signDemo(CONFIG.webhookSecret, body) },
    payload: body,
  });
  await h.inject({
    method: 'POST',
    url: '/webhooks/leaky',
    headers: { 'content-type': 'application/json', 'x-demo-signature': 'forged-SECRET-sig' },
    payload: body,
  });
  await h.inject({ method: 'POST', url: '/api/sync/trigger/leaky', headers: bearer(h.auth.operator) });
  await h.inject({ method: 'POST', url: '/api/sync/test', headers: bearer(h.auth.operator) });
  await h.inject({
    method: 'POST',
    url: '/api/workflows/execute',
    headers: bearer(h.auth.operator),
    payload: { workflowId: 'wf1', payload: { x: 1 } },
  });
  await h.inject({ method: 'GET', url: '/api/workflows/wf1/status', headers: bearer(h.auth.viewer) });
  await h.inject({ method: 'GET', url: '/health/n8n' });
  await h.inject({ method: 'GET', url: '/health/integrations', headers: bearer(h.auth.viewer) });
  // Let the worker process the webhook and sync jobs, so their logs are part of the scan.
  for (
    let i = 0;
    i < 100 &&
    (await h.db.query(`SELECT 1 FROM sync_runs WHERE integration = 'leaky' AND status IN ('queued', 'running')`)).rows
      .length > 0;
    i++
  ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const logs = h.logs();
  expect(logs).toContain('incoming request');
  expect(logs).toContain('sync run succeeded');
  expect(logs).toContain('/webhooks/leaky');
  expect(secrets.filter((secret) => logs.includes(secret))).toEqual([]);
});
