import * as http from 'http';
import type { AddressInfo } from 'net';
import { CONNECTORS } from '@data-sync/integrations/registry';
import { bearer, createHarness, Harness } from './testing/harness';

/** A loopback service standing in for anything an attacker would like the runtime to call (metadata, Redis, ...). */
let loopback: http.Server;
let loopbackUrl: string;
let reached = 0;
let h: Harness;
beforeAll(async () => {
  loopback = http.createServer((_req, res) => {
    reached++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"results":[],"internal":"secret body"}');
  });
  await new Promise<void>((resolve) => loopback.listen(0, '127.0.0.1', resolve));
  loopbackUrl = `http://127.0.0.1:${(loopback.address() as AddressInfo).port}`;
  // A deployment: no local-vendor override.
  h = await createHarness({ allowLocalVendors: false, connectors: { hubspot: CONNECTORS.hubspot } });
});
afterAll(async () => {
  await h.close();
  await new Promise<void>((resolve) => loopback.close(() => resolve()));
});

const secrets = { accessToken: 'pat-na1-0123', clientSecret: 'hubspot-client-secret' };
const post = (name: string, config: Record<string, unknown>) =>
  h.inject({
    method: 'POST',
    url: '/api/integrations',
    headers: bearer(h.auth.admin),
    payload: { name, system: 'hubspot', config },
  });
const put = (id: string, config: Record<string, unknown>) =>
  h.inject({ method: 'PUT', url: `/api/integrations/${id}`, headers: bearer(h.auth.admin), payload: { config } });

test('a baseUrl at the metadata endpoint, a loopback service or a host not of the vendor is 400 naming the field', async () => {
  for (const [baseUrl, reason] of [
    ['http://169.254.169.254/latest/meta-data', 'link-local or reserved address'],
    [loopbackUrl, 'loopback or private address'],
    ['https://collector.attacker.example', 'is not a hubspot host'],
    ['http://api.hubapi.com', 'https only'],
  ]) {
    const answer = await post('egress_bad', { baseUrl, ...secrets });
    expect(answer.statusCode).toBe(400);
    expect(answer.json()).toMatchObject({ error: 'invalid_config', details: [{ path: '/config/baseUrl' }] });
    expect(answer.json().message).toContain(reason);
  }
  expect(reached).toBe(0);
});

test('a stored config pointing at a loopback service (written before the check) is refused when the connection test connects', async () => {
  const stored = await h.integrations.create({
    name: 'egress_stored',
    system: 'hubspot',
    enabled: true,
    syncInterval: '1h',
    objects: ['contacts'],
    webhookAllowlist: [],
    config: { baseUrl: loopbackUrl, ...secrets },
  });
  const answer = await h.inject({
    method: 'POST',
    url: `/api/integrations/${stored.id}/test`,
    headers: bearer(h.auth.operator),
  });
  expect(answer.json()).toMatchObject({ ok: false, message: expect.stringContaining('loopback or private address') });
  expect(answer.body).not.toContain('secret body');
  expect(reached).toBe(0);
});

test('changing a URL the connector calls needs the secrets again; other changes keep the masked ones', async () => {
  const created = await post('egress_move', { baseUrl: 'https://api.hubapi.com', ...secrets });
  expect(created.statusCode).toBe(201);
  const shown = created.json().config as Record<string, unknown>;
  expect(shown.accessToken).toBe('********');

  const moved = await put(created.json().id, { ...shown, baseUrl: 'https://api-eu1.hubapi.com' });
  expect(moved.statusCode).toBe(400);
  expect(moved.json()).toMatchObject({ error: 'secrets_required' });
  const kept = await h.integrations.getById(created.json().id);
  expect((kept?.config as { baseUrl: string }).baseUrl).toBe('https://api.hubapi.com');

  expect((await put(created.json().id, { ...shown, pageSize: 50 })).statusCode).toBe(200);
  const resupplied = await put(created.json().id, { ...shown, baseUrl: 'https://api-eu1.hubapi.com', ...secrets });
  expect(resupplied.statusCode).toBe(200);
  expect(resupplied.json().config.baseUrl).toBe('https://api-eu1.hubapi.com');
});

test('with the local-vendor override a fake on loopback is accepted, and the audit entry says the override was used', async () => {
  const local = await createHarness({ allowLocalVendors: true, connectors: { hubspot: CONNECTORS.hubspot } });
  try {
    const created = await local.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(local.auth.admin),
      payload: { name: 'egress_fake', system: 'hubspot', config: { baseUrl: loopbackUrl, ...secrets } },
    });
    expect(created.statusCode).toBe(201);
    const { rows } = await local.db.query<{ details: { localVendorOverride?: boolean } }>(
      `SELECT details FROM audit_log WHERE action = 'POST /api/integrations' AND outcome = 'ok'`,
    );
    expect(rows.map((r) => r.details.localVendorOverride)).toEqual([true]);
    const metadata = await local.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(local.auth.admin),
      payload: { name: 'egress_meta', system: 'hubspot', config: { baseUrl: 'http://169.254.169.254', ...secrets } },
    });
    expect(metadata.statusCode).toBe(400);
  } finally {
    await local.close();
  }
});
