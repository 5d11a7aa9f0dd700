import { Writable } from 'stream';
import type { FastifyInstance } from 'fastify';
import { subjectHash } from '@data-sync/pipelines';
import { toSalesforce, sfTime } from '@data-sync/pipelines/testing/generate';
import { buildApi } from './app';
import { createPipelinesApi } from './pipelines-adapter';
import { randomBytes } from 'crypto';
import { complianceHeaders } from '../security/compliance-signature';
import { bearer, createHarness, Harness, request } from './testing/harness';
import { demoConnector } from './testing/demo-connector';
import type { ConnectorModule } from '@data-sync/integrations/connector';
import { createLogger } from '../logger';
import { createMetrics } from '../metrics';

const GDPR_SECRET = 'gdpr-webhook-secret-0123456789';
const CCPA_SECRET = 'ccpa-webhook-secret-9876543210';
/** The clock of the signed app: the skew tests sign relative to it. */
const clock = Date.now();
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
    repositories: h.repositories,
    queue: h.queue,
    engine: h.engine,
    connectors: { demo: fakeConnector },
    metrics: createMetrics({ defaultMetrics: false }),
    n8n: null,
    pipelines: createPipelinesApi(),
    logger: createLogger({ level: 'silent', destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
    config: {
      rateLimitPerMinute: 1_000_000,
      gdprWebhookSecret: GDPR_SECRET,
      ccpaWebhookSecret: CCPA_SECRET,
      now: () => clock,
    },
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
  const GDPR = '/webhooks/gdpr/delete';
  const CCPA = '/webhooks/ccpa/opt-out';
  const nonce = () => randomBytes(16).toString('hex');
  const now = () => Math.floor(clock / 1000);
  /** The headers a sender computes: its secret over this method, path, timestamp, nonce and body. */
  const signedBy = (secret: string, path: string, body: string, extra: { timestamp?: number; nonce?: string } = {}) =>
    complianceHeaders(secret, {
      method: 'POST',
      path,
      body,
      timestamp: extra.timestamp ?? now(),
      nonce: extra.nonce ?? nonce(),
    });
  const post = (base: string, path: string, body: string, headers: Record<string, string> = {}) =>
    request(base, {
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/json', ...headers },
      payload: body,
    });

  test('without their secrets they answer 503 naming the variable', async () => {
    const body = JSON.stringify({ email: 'w@x.io' });
    for (const [path, secret, variable] of [
      [GDPR, GDPR_SECRET, 'DATA_SYNC_GDPR_WEBHOOK_SECRET'],
      [CCPA, CCPA_SECRET, 'DATA_SYNC_CCPA_WEBHOOK_SECRET'],
    ]) {
      const res = await post(h.url, path, body, signedBy(secret, path, body));
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: 'not_configured', message: expect.stringContaining(variable) });
    }
  });

  test('a forged, missing, other-body, other-path or other-secret signature is rejected with 401 and changes nothing', async () => {
    const body = JSON.stringify({ email: 'forged@x.io' });
    const good = signedBy(CCPA_SECRET, CCPA, body);
    for (const headers of [
      {},
      { ...good, 'x-data-sync-signature': 'abc' },
      signedBy('wrong-secret-0123456789', CCPA, body),
      signedBy(CCPA_SECRET, CCPA, JSON.stringify({ email: 'other@x.io' })),
      // The GDPR endpoint's secret, or a signature made for the other path, does not open this one.
      signedBy(GDPR_SECRET, CCPA, body),
      signedBy(CCPA_SECRET, GDPR, body),
      { ...good, 'x-data-sync-nonce': 'short' },
    ]) {
      const res = await post(signedUrl, CCPA, body, headers);
      expect(res.statusCode).toBe(401);
      expect(res.json().error).toBe('webhook_rejected');
    }
    expect(await createPipelinesApi().isOptedOut(h.db, 'forged@x.io')).toBe(false);
    const rejected = await h.db.query(`SELECT 1 FROM audit_log WHERE action = 'POST ${CCPA}' AND outcome = 'denied'`);
    expect(rejected.rows.length).toBe(7);
  });

  test('an opt-out signature sent to the deletion webhook is refused: nothing is erased', async () => {
    await insertContact('cross@x.io');
    const body = JSON.stringify({ email: 'cross@x.io' });
    const optOut = signedBy(CCPA_SECRET, CCPA, body);
    expect((await post(signedUrl, CCPA, body, optOut)).statusCode).toBe(200);
    const replayedElsewhere = await post(signedUrl, GDPR, body, optOut);
    expect(replayedElsewhere.statusCode).toBe(401);
    expect(await contactEmails()).toContain('cross@x.io');
  });

  test('the same signed request twice is a replay: the second is 401', async () => {
    const body = JSON.stringify({ email: 'replay@x.io' });
    const headers = signedBy(CCPA_SECRET, CCPA, body);
    expect((await post(signedUrl, CCPA, body, headers)).statusCode).toBe(200);
    const again = await post(signedUrl, CCPA, body, headers);
    expect(again.statusCode).toBe(401);
    expect(again.json().message).toContain('already used');
  });

  test('a timestamp outside the 5-minute window either way is refused; within it the request passes', async () => {
    const body = JSON.stringify({ email: 'skew@x.io' });
    for (const offset of [-301, 301]) {
      const res = await post(signedUrl, CCPA, body, signedBy(CCPA_SECRET, CCPA, body, { timestamp: now() + offset }));
      expect(res.statusCode).toBe(401);
      expect(res.json().message).toContain('more than 300 s');
    }
    const late = await post(signedUrl, CCPA, body, signedBy(CCPA_SECRET, CCPA, body, { timestamp: now() - 290 }));
    expect(late.statusCode).toBe(200);
  });

  test('a validly signed CCPA opt-out is recorded', async () => {
    const body = JSON.stringify({ email: 'ccpa@x.io' });
    const res = await post(signedUrl, CCPA, body, signedBy(CCPA_SECRET, CCPA, body));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ optedOut: true });
    expect(await createPipelinesApi().isOptedOut(h.db, 'ccpa@x.io')).toBe(true);
  });

  test('a validly signed GDPR deletion erases the subject and queues the vendor erasure', async () => {
    await insertContact('gdpr@x.io');
    const body = JSON.stringify({ email: 'gdpr@x.io' });
    const res = await post(signedUrl, GDPR, body, signedBy(GDPR_SECRET, GDPR, body));
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
    const res = await post(signedUrl, GDPR, '{"email":', signedBy(GDPR_SECRET, GDPR, '{"email":'));
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('malformed_json');
    const noEmail = await post(signedUrl, GDPR, '{}', signedBy(GDPR_SECRET, GDPR, '{}'));
    expect(noEmail.statusCode).toBe(400);
    expect(noEmail.json().message).toContain('email');
  });
});
