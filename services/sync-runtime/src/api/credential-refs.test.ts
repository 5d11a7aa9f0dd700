import { bearer, createHarness, Harness } from './testing/harness';
import { demoConnector, demoSource, signDemo } from './testing/demo-connector';

// What the stacks do: each catalog credential is an environment variable filled from the cloud's secret manager.
const env: NodeJS.ProcessEnv = {
  DYNAMICS_CLIENT_SECRET: 'hs-live-key-0123',
  DYNAMICS_WEBHOOK_KEY: 'whsec-from-the-vault',
  HUBSPOT_API_KEY: 'another-vendors-key',
  DATABASE_URL: 'postgres://user:pw@db/x',
};
let h: Harness;
beforeAll(async () => {
  // The demo connector stands in for the catalog's dynamics system, whose credentials the references may name.
  h = await createHarness({ env, connectors: { dynamics: demoConnector } });
});
afterAll(async () => h.close());

const create = (name: string, config: Record<string, unknown>) =>
  h.inject({
    method: 'POST',
    url: '/api/integrations',
    headers: bearer(h.auth.admin),
    payload: { name, system: 'dynamics', objects: ['contacts'], config: { baseUrl: 'http://127.0.0.1:1', ...config } },
  });
const byReference = { apiKey: { $env: 'DYNAMICS_CLIENT_SECRET' }, webhookSecret: { $env: 'DYNAMICS_WEBHOOK_KEY' } };
const webhook = (name: string, secret: string) => {
  const body = JSON.stringify({ events: [{ id: `e-${Math.random()}`, type: 'contact.updated' }] });
  return h.inject({
    method: 'POST',
    url: `/webhooks/${name}`,
    headers: { 'content-type': 'application/json', 'x-demo-signature': signDemo(secret, body) },
    payload: body,
  });
};

test('credentials given by reference are used by the connector but never stored or answered', async () => {
  const created = await create('ref_a', byReference);
  expect(created.statusCode).toBe(201);
  expect(created.json().config).toEqual({ baseUrl: 'http://127.0.0.1:1', ...byReference });
  const sealed = (
    await h.db.query<{ config_sealed: string }>(`SELECT config_sealed FROM integrations WHERE name = 'ref_a'`)
  ).rows[0].config_sealed;
  expect(h.keyring.decrypt(sealed)).not.toContain('hs-live-key-0123');

  const test = await h.inject({
    method: 'POST',
    url: `/api/integrations/${created.json().id}/test`,
    headers: bearer(h.auth.operator),
  });
  expect(test.json()).toMatchObject({ ok: true });
  expect((await webhook('ref_a', 'whsec-from-the-vault')).statusCode).toBe(202);
  expect((await webhook('ref_a', 'the-literal-reference')).statusCode).toBe(401);
  const trigger = await h.inject({ method: 'POST', url: '/api/sync/trigger/ref_a', headers: bearer(h.auth.operator) });
  await h.drain();
  const history = await h.inject({
    method: 'GET',
    url: '/api/sync/history?integration=ref_a',
    headers: bearer(h.auth.viewer),
  });
  expect(history.json().runs).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ id: trigger.json().runId, status: 'succeeded', received: demoSource.contacts.length }),
    ]),
  );
  for (const secret of ['hs-live-key-0123', 'whsec-from-the-vault']) expect(h.logs()).not.toContain(secret);
});

test('a rotated secret takes effect without touching the integration', async () => {
  const created = await create('ref_rotate', byReference);
  env.DYNAMICS_CLIENT_SECRET = 'revoked-old-key';
  expect(
    (
      await h.inject({
        method: 'POST',
        url: `/api/integrations/${created.json().id}/test`,
        headers: bearer(h.auth.operator),
      })
    ).json(),
  ).toMatchObject({ ok: false, message: expect.stringContaining('revoked') });
  env.DYNAMICS_CLIENT_SECRET = 'hs-live-key-0123';
  expect(
    (
      await h.inject({
        method: 'POST',
        url: `/api/integrations/${created.json().id}/test`,
        headers: bearer(h.auth.operator),
      })
    ).json(),
  ).toMatchObject({ ok: true });
});

test("a reference to a variable that is not the system's own catalog credential, or one the deployment does not set, is 400 naming it", async () => {
  for (const variable of ['DATABASE_URL', 'HUBSPOT_API_KEY']) {
    const outside = await create('ref_bad', { apiKey: { $env: variable }, webhookSecret: 'whsec-abcdefghijkl' });
    expect(outside.statusCode).toBe(400);
    expect(outside.json()).toMatchObject({ error: 'invalid_config', details: [{ path: '/config/apiKey' }] });
    expect(outside.json().message).toContain(
      `references ${variable}, which is not a credential of dynamics in the integration catalog`,
    );
  }
  const unset = await create('ref_unset', {
    apiKey: { $env: 'DYNAMICS_TENANT_ID' },
    webhookSecret: 'whsec-abcdefghijkl',
  });
  expect(unset.statusCode).toBe(400);
  expect(unset.json().message).toBe(
    'config /apiKey references DYNAMICS_TENANT_ID, which is not set in this deployment',
  );
});

test('when a deployment drops a referenced variable, runs fail with the reason and webhooks answer 503 for the vendor to retry', async () => {
  await create('ref_gone', byReference);
  const saved = env.DYNAMICS_WEBHOOK_KEY;
  delete env.DYNAMICS_WEBHOOK_KEY;
  try {
    const hook = await webhook('ref_gone', 'whsec-from-the-vault');
    expect(hook.statusCode).toBe(503);
    expect(hook.json()).toMatchObject({
      error: 'integration_misconfigured',
      details: { variable: 'DYNAMICS_WEBHOOK_KEY' },
    });
    const trigger = await h.inject({
      method: 'POST',
      url: '/api/sync/trigger/ref_gone',
      headers: bearer(h.auth.operator),
    });
    await h.drain();
    const history = await h.inject({
      method: 'GET',
      url: '/api/sync/history?integration=ref_gone',
      headers: bearer(h.auth.viewer),
    });
    expect(history.json().runs).toEqual([
      expect.objectContaining({
        id: trigger.json().runId,
        status: 'failed',
        error: expect.stringContaining('references DYNAMICS_WEBHOOK_KEY, which is not set in this deployment'),
      }),
    ]);
    expect(
      (await h.inject({ method: 'GET', url: '/api/integrations', headers: bearer(h.auth.viewer) })).statusCode,
    ).toBe(200);
  } finally {
    env.DYNAMICS_WEBHOOK_KEY = saved;
  }
});
