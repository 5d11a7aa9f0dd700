import { Writable } from 'stream';
import type { FastifyInstance } from 'fastify';
import { subjectHash } from '@data-sync/pipelines';
import { toSalesforce, sfTime } from '@data-sync/pipelines/testing/generate';
import { buildApi } from './app';
import { createPipelinesApi } from './pipelines-adapter';
import { signComplianceWebhook } from './routes/compliance';
import { bearer, createHarness, Harness, request } from './testing/harness';
import { demoConnector } from './testing/demo-connector';
import type { ConnectorModule } from '@data-sync/integrations/connector';
import { createLogger } from '../logger';
import { createMetrics } from '../metrics';

const WEBHOOK_SECRET = 'compliance-test-secret-0123456789';
const SECRET = { apiKey: 'key-live-0123456789', webhookSecret: 'whsec-abcdefghijkl' };
const MAPPING = 'salesforce_to_internal.Contact';

let h: Harness;
/** A second app on the same store, with the webhook secret configured (the harness has none). */
let signed: FastifyInstance;
let signedUrl: string;
const erasedAtVendor: string[] = [];

beforeAll(async () => {
  // The harness registers the production erasure handler, over this connector.
  h = await createHarness({ connectors: { demo: fakeConnector } });
  signed = await buildApi({
    db: h.db,
    queue: h.queue,
    engine: h.engine,
    connectors: { demo: fakeConnector },
    integrations: h.integrations,
    tokens: h.tokens,
    metrics: createMetrics({ defaultMetrics: false }),
    n8n: null,
    pipelines: createPipelinesApi(),
    logger: createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
    rateLimitPerMinute: 1_000_000,
    complianceWebhookSecret: WEBHOOK_SECRET,
  });
  signedUrl = await signed.listen({ port: 0, host: '127.0.0.1' });
  const created = await h.inject({
    method: 'POST',
    url: '/api/integrations',
    headers: bearer(h.auth.admin),
    payload: {
      name: 'crm_erase',
      system: 'demo',
      objects: ['contacts'],
      config: { baseUrl: 'http://127.0.0.1:1', ...SECRET },
    },
  });
  expect(created.statusCode).toBe(201);
});
afterAll(async () => {
  await signed?.close();
  await h?.close();
});

/** The demo connector with an `erase` that records the address (the demo one does nothing). */
const fakeConnector: ConnectorModule = {
  ...demoConnector,
  create: (config, context) => ({
    ...demoConnector.create(config, context),
    erase: async (email: string) => void erasedAtVendor.push(email),
  }),
};

async function insertContact(email: string) {
  await h.db.query(
    `INSERT INTO contacts (email, first_name, last_name, created_at, updated_at, source) VALUES ($1, 'Ann', 'Lee', now(), now(), 'test')`,
    [email],
  );
}

const contactEmails = async () =>
  (await h.db.query<{ email: string }>('SELECT email FROM contacts ORDER BY email')).rows.map((r) => r.email);

describe('erasure (admin)', () => {
  test('needs a token, and the admin role', async () => {
    expect(
      (await h.inject({ method: 'POST', url: '/api/compliance/erasure', payload: { email: 'a@x.io' } })).statusCode,
    ).toBe(401);
    const res = await h.inject({
      method: 'POST',
      url: '/api/compliance/erasure',
      headers: bearer(h.auth.operator),
      payload: { email: 'a@x.io' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: 'forbidden', details: { required: 'admin', held: 'operator' } });
  });

  test('a missing or malformed address is a 400 naming it', async () => {
    const missing = await h.inject({
      method: 'POST',
      url: '/api/compliance/erasure',
      headers: bearer(h.auth.admin),
      payload: {},
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().message).toContain('email');
    const bad = await h.inject({
      method: 'POST',
      url: '/api/compliance/erasure',
      headers: bearer(h.auth.admin),
      payload: { email: 'not an address' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      error: 'invalid_input',
      message: expect.stringContaining('email must be an email address'),
    });
  });

  test('removes the subject from contacts, audits the erasure, and queues the vendor erasure that the worker sends to the connector', async () => {
    await insertContact('gone@x.io');
    await insertContact('stays@x.io');
    const res = await h.inject({
      method: 'POST',
      url: '/api/compliance/erasure',
      headers: bearer(h.auth.admin),
      payload: { email: 'Gone@X.io' },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json();
    expect(body).toMatchObject({ erased: { contacts: 1 }, vendorErasures: ['crm_erase'] });
    expect(body.jobs).toHaveLength(1);
    expect(await contactEmails()).toEqual(expect.not.arrayContaining(['gone@x.io']));
    expect(await contactEmails()).toEqual(expect.arrayContaining(['stays@x.io']));

    const audit = await h.db.query<{
      action: string;
      actor: string;
      target: string;
      details: string | Record<string, unknown>;
    }>(
      `SELECT action, actor, target, details FROM audit_log WHERE action IN ('gdpr.erase', 'POST /api/compliance/erasure') AND outcome IN ('erased', 'ok') ORDER BY id`,
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['gdpr.erase', 'POST /api/compliance/erasure']);
    expect(audit.rows[0].target).toBe(`subject:${subjectHash('gone@x.io')}`);
    expect(audit.rows[1].actor).toMatch(/^token:admin-/);
    // The proof names the subject by hash only.
    expect(JSON.stringify(audit.rows)).not.toContain('gone@x.io');

    expect(await h.drain()).toBeGreaterThanOrEqual(1);
    expect(erasedAtVendor).toEqual(['gone@x.io']);
    const requests = await h.db.query<{ status: string; email: string | null }>(
      'SELECT status, email FROM erasure_requests WHERE subject_hash = $1',
      [subjectHash('gone@x.io')],
    );
    expect(requests.rows).toEqual([{ status: 'done', email: null }]);
  });
});

describe('opt-out (operator)', () => {
  test('a viewer is refused; an operator records it and the subject is opted out', async () => {
    expect(
      (
        await h.inject({
          method: 'POST',
          url: '/api/compliance/opt-out',
          headers: bearer(h.auth.viewer),
          payload: { email: 'o@x.io' },
        })
      ).statusCode,
    ).toBe(403);
    const pipelines = createPipelinesApi();
    expect(await pipelines.isOptedOut(h.db, 'o@x.io')).toBe(false);
    const res = await h.inject({
      method: 'POST',
      url: '/api/compliance/opt-out',
      headers: bearer(h.auth.operator),
      payload: { email: 'o@x.io' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ optedOut: true });
    expect(await pipelines.isOptedOut(h.db, 'O@x.io')).toBe(true);
  });

  test('unknown fields and bad addresses are 400s', async () => {
    const extra = await h.inject({
      method: 'POST',
      url: '/api/compliance/opt-out',
      headers: bearer(h.auth.operator),
      payload: { email: 'o@x.io', also: 1 },
    });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().error).toBe('validation_failed');
    const bad = await h.inject({
      method: 'POST',
      url: '/api/compliance/opt-out',
      headers: bearer(h.auth.operator),
      payload: { email: 'nobody' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('email must be an email address');
  });
});

describe('quarantine', () => {
  beforeAll(async () => {
    const contact = (email: string | null, extra: Record<string, unknown> = {}) => ({
      ...toSalesforce(
        {
          email,
          first_name: 'jane',
          last_name: 'doe',
          phone: '+1 415 555 0100',
          company_name: 'Acme',
          created_at: sfTime(0),
          updated_at: sfTime(1),
        },
        1,
      ),
      ...extra,
    });
    const result = await createPipelinesApi().runBatch(h.db, {
      integration: 'crm_erase',
      mapping: MAPPING,
      records: [contact('bad-email', { SSN__c: '123-45-6789' }), contact(null)],
    });
    expect(result.quarantined).toBe(2);
  });

  test('a viewer cannot list it; an operator sees PII as maskPii allows and sensitive fields redacted', async () => {
    expect(
      (await h.inject({ method: 'GET', url: '/api/pipelines/quarantine', headers: bearer(h.auth.viewer) })).statusCode,
    ).toBe(403);
    const res = await h.inject({
      method: 'GET',
      url: '/api/pipelines/quarantine?integration=crm_erase&limit=1',
      headers: bearer(h.auth.operator),
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.total).toBe(2);
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({
      integration: 'crm_erase',
      mapping: MAPPING,
      record: { Email: 'bad-email', FirstName: 'jane', SSN__c: '[redacted]' },
    });
    expect(body.items[0].errors[0]).toMatchObject({ field: 'email', rule: 'format' });
    expect(res.body).not.toContain('123-45-6789');
    const next = await h.inject({
      method: 'GET',
      url: '/api/pipelines/quarantine?integration=crm_erase&limit=1&offset=1',
      headers: bearer(h.auth.operator),
    });
    expect(next.json().items[0].id).not.toBe(body.items[0].id);
    expect(
      (
        await h.inject({
          method: 'GET',
          url: '/api/pipelines/quarantine?integration=other',
          headers: bearer(h.auth.operator),
        })
      ).json(),
    ).toEqual({ items: [], total: 0 });
  });

  test('bad paging is a 400', async () => {
    const res = await h.inject({
      method: 'GET',
      url: '/api/pipelines/quarantine?limit=0',
      headers: bearer(h.auth.operator),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('validation_failed');
  });

  test('replay runs the given ids again with the current rules and is audited; bad ids are 400s', async () => {
    const bad = await h.inject({
      method: 'POST',
      url: '/api/pipelines/quarantine/replay',
      headers: bearer(h.auth.operator),
      payload: { ids: ['1; DROP TABLE contacts'] },
    });
    expect(bad.statusCode).toBe(400);
    expect(
      (
        await h.inject({
          method: 'POST',
          url: '/api/pipelines/quarantine/replay',
          headers: bearer(h.auth.viewer),
          payload: {},
        })
      ).statusCode,
    ).toBe(403);
    const list = (
      await h.inject({
        method: 'GET',
        url: '/api/pipelines/quarantine?integration=crm_erase',
        headers: bearer(h.auth.operator),
      })
    ).json();
    const res = await h.inject({
      method: 'POST',
      url: '/api/pipelines/quarantine/replay',
      headers: bearer(h.auth.operator),
      payload: { ids: [list.items[0].id] },
    });
    expect(res.statusCode).toBe(200);
    // Still invalid: it stays quarantined, one more attempt.
    expect(res.json()).toEqual({
      received: 1,
      accepted: 0,
      quarantined: 1,
      duplicates: 0,
      inserted: 0,
      updated: 0,
      unchanged: 0,
    });
    const after = (
      await h.inject({
        method: 'GET',
        url: '/api/pipelines/quarantine?integration=crm_erase',
        headers: bearer(h.auth.operator),
      })
    ).json();
    expect(after.items.map((i: { attempts: number }) => i.attempts)).toEqual([1, 0]);
    const audit = await h.db.query(
      `SELECT outcome FROM audit_log WHERE action = 'POST /api/pipelines/quarantine/replay' AND outcome = 'ok'`,
    );
    expect(audit.rows).toHaveLength(1);
  });
});

describe('compliance webhooks', () => {
  const post = (base: string, path: string, body: string, signature?: string) =>
    request(base, {
      method: 'POST',
      url: path,
      headers: {
        'content-type': 'application/json',
        ...(signature === undefined ? {} : { 'x-data-sync-signature': signature }),
      },
      payload: body,
    });

  test('without DATA_SYNC_COMPLIANCE_WEBHOOK_SECRET they answer 503 saying so', async () => {
    const body = JSON.stringify({ email: 'w@x.io' });
    for (const path of ['/webhooks/gdpr/delete', '/webhooks/ccpa/opt-out']) {
      const res = await post(h.url, path, body, signComplianceWebhook(WEBHOOK_SECRET, body));
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({
        error: 'not_configured',
        message: expect.stringContaining('DATA_SYNC_COMPLIANCE_WEBHOOK_SECRET'),
      });
    }
  });

  test('a forged, missing or other-body signature is rejected with 401 and changes nothing', async () => {
    const body = JSON.stringify({ email: 'forged@x.io' });
    for (const signature of [
      undefined,
      'abc',
      signComplianceWebhook('wrong-secret-0123456789', body),
      signComplianceWebhook(WEBHOOK_SECRET, JSON.stringify({ email: 'other@x.io' })),
    ]) {
      const res = await post(signedUrl, '/webhooks/ccpa/opt-out', body, signature);
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toBe('webhook_rejected');
    }
    expect(await createPipelinesApi().isOptedOut(h.db, 'forged@x.io')).toBe(false);
    const rejected = await h.db.query(
      `SELECT 1 FROM audit_log WHERE action = 'POST /webhooks/ccpa/opt-out' AND outcome = 'denied'`,
    );
    expect(rejected.rows.length).toBe(4);
  });

  test('a validly signed CCPA opt-out is recorded', async () => {
    const body = JSON.stringify({ email: 'ccpa@x.io' });
    const res = await post(signedUrl, '/webhooks/ccpa/opt-out', body, signComplianceWebhook(WEBHOOK_SECRET, body));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ optedOut: true });
    expect(await createPipelinesApi().isOptedOut(h.db, 'ccpa@x.io')).toBe(true);
  });

  test('a validly signed GDPR deletion erases the subject and queues the vendor erasure', async () => {
    await insertContact('gdpr@x.io');
    const body = JSON.stringify({ email: 'gdpr@x.io' });
    const res = await post(signedUrl, '/webhooks/gdpr/delete', body, signComplianceWebhook(WEBHOOK_SECRET, body));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ erased: { contacts: 1 }, vendorErasures: ['crm_erase'] });
    expect(await contactEmails()).not.toContain('gdpr@x.io');
    const audit = await h.db.query<{ actor: string }>(
      `SELECT actor FROM audit_log WHERE action = 'gdpr.erase' AND target = $1`,
      [`subject:${subjectHash('gdpr@x.io')}`],
    );
    expect(audit.rows).toEqual([{ actor: 'webhook:gdpr' }]);
  });

  test('a malformed body is a 400 before anything else', async () => {
    const res = await post(
      signedUrl,
      '/webhooks/gdpr/delete',
      '{"email":',
      signComplianceWebhook(WEBHOOK_SECRET, '{"email":'),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('malformed_json');
    const noEmail = await post(signedUrl, '/webhooks/gdpr/delete', '{}', signComplianceWebhook(WEBHOOK_SECRET, '{}'));
    expect(noEmail.statusCode).toBe(400);
    expect(noEmail.json().message).toContain('email');
  });
});
