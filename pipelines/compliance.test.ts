import { upsertEvents } from './analytics';
import { runBatch, recordPushes } from './batch';
import {
  applyRetention,
  claimErasureRequests,
  completeErasureRequest,
  eraseSubject,
  filterOptedOut,
  isOptedOut,
  MAX_ERASURE_ATTEMPTS,
  optOut,
} from './compliance';
import { COMPLIANCE } from '@data-sync/config/compliance';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { pipelinePglite, pipelinePostgres, type TestDb } from './testing/db';
import { sfTime, toSalesforce } from './testing/generate';

const MAPPING = 'salesforce_to_internal.Contact';
const sf = (email: string, extra: Record<string, unknown> = {}) => ({
  ...toSalesforce(
    {
      email,
      first_name: 'ann',
      last_name: 'lee',
      phone: '+1 415 555 0100',
      company_name: 'Acme',
      created_at: null,
      updated_at: sfTime(1),
    },
    1,
  ),
  ...extra,
});

function complianceSuite(open: () => Promise<TestDb>) {
  let t: TestDb;
  beforeAll(async () => {
    t = await open();
  });
  afterAll(async () => t?.close());
  beforeEach(async () => {
    await t.db.exec(
      'TRUNCATE contacts, contact_sources, pipeline_quarantine, sync_pushes, contact_staging, privacy_opt_outs, erasure_requests, audit_log, events',
    );
  });

  const count = async (sql: string, params: unknown[] = []) =>
    (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0].n;

  test('erasure removes the subject from every pipeline table, queues each vendor, and leaves audit proof', async () => {
    await runBatch(t.db, {
      integration: 'salesforce',
      mapping: MAPPING,
      records: [sf('Gone@X.io'), sf('kept@x.io'), sf('gone@x.io', { LastModifiedDate: 'soon' })],
    });
    await recordPushes(t.db, 'mailchimp', [{ email: 'gone@x.io', first_name: 'Ann' }]);
    await t.db.copyRows(
      'contact_staging',
      ['batch_id', 'ord', 'email', 'updated_at'],
      [[1, 0, ' GONE@x.io', sfTime(3)]],
    );
    // A quarantined record whose email is unreadable to the mapping, but which still holds the address.
    await runBatch(t.db, {
      integration: 'salesforce',
      mapping: MAPPING,
      records: [{ Account: 'x', Description: 'contact gone@x.io' }],
    });
    const event = (id: string, distinctId: string) => ({
      event: 'Signed up',
      properties: { time: 1767225600, distinct_id: distinctId, $insert_id: id },
    });
    await upsertEvents(t.db, 'mixpanel', [event('e1', 'Gone@x.io'), event('e2', 'kept@x.io')]);

    const result = await eraseSubject(t.db, '  gone@X.io ', { actor: 'dpo@example.com' });
    expect(result).toEqual({
      erased: {
        contacts: 1,
        contact_staging: 1,
        pipeline_quarantine: 2,
        sync_pushes: 1,
        events: 1,
        contact_sources: 1,
        accounts: 0,
      },
      vendorErasures: [
        'salesforce',
        'hubspot',
        'sap',
        'netsuite',
        'dynamics',
        'mailchimp',
        'google_analytics',
        'mixpanel',
        'amplitude',
        'facebook',
        'instagram',
        'x',
        'linkedin',
      ],
    });
    for (const table of [
      'contacts',
      'contact_staging',
      'pipeline_quarantine',
      'sync_pushes',
      'events',
      'contact_sources',
    ]) {
      expect(await count(`${table} t WHERE lower(t::text) LIKE '%gone@x.io%'`)).toBe(0);
    }
    expect(await count('contacts')).toBe(1);
    expect(await count('events')).toBe(1);
    const { rows: audit } = await t.db.query(
      "SELECT actor, action, target, outcome, details FROM audit_log WHERE action = 'gdpr.erase'",
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor: 'dpo@example.com',
      outcome: 'erased',
      details: { erased: result.erased, vendorErasures: result.vendorErasures },
    });
    expect(audit[0].target).toMatch(/^subject:[0-9a-f]{64}$/);
    expect(JSON.stringify(audit[0])).not.toContain('gone@');

    // The worker drains the queue through each connector's erase(email); done forgets the email.
    const claimed = await claimErasureRequests(t.db, 20);
    expect(claimed.map((c) => [c.integration, c.email])).toEqual([
      ['salesforce', 'gone@x.io'],
      ['hubspot', 'gone@x.io'],
      ['sap', 'gone@x.io'],
      ['netsuite', 'gone@x.io'],
      ['dynamics', 'gone@x.io'],
      ['mailchimp', 'gone@x.io'],
      ['google_analytics', 'gone@x.io'],
      ['mixpanel', 'gone@x.io'],
      ['amplitude', 'gone@x.io'],
      ['facebook', 'gone@x.io'],
      ['instagram', 'gone@x.io'],
      ['x', 'gone@x.io'],
      ['linkedin', 'gone@x.io'],
    ]);
    expect(await claimErasureRequests(t.db, 20)).toEqual([]);
    await completeErasureRequest(t.db, claimed[0].id, { ok: true });
    await completeErasureRequest(t.db, claimed[1].id, { ok: false, error: 'HTTP 503' });
    const { rows } = await t.db.query('SELECT integration, status, email FROM erasure_requests ORDER BY id');
    expect(rows).toEqual([
      { integration: 'salesforce', status: 'done', email: null },
      { integration: 'hubspot', status: 'pending', email: 'gone@x.io' },
      { integration: 'sap', status: 'in_progress', email: 'gone@x.io' },
      { integration: 'netsuite', status: 'in_progress', email: 'gone@x.io' },
      { integration: 'dynamics', status: 'in_progress', email: 'gone@x.io' },
      { integration: 'mailchimp', status: 'in_progress', email: 'gone@x.io' },
      { integration: 'google_analytics', status: 'in_progress', email: 'gone@x.io' },
      { integration: 'mixpanel', status: 'in_progress', email: 'gone@x.io' },
      { integration: 'amplitude', status: 'in_progress', email: 'gone@x.io' },
      ...['facebook', 'instagram', 'x', 'linkedin'].map((integration) => ({
        integration,
        status: 'in_progress',
        email: 'gone@x.io',
      })),
    ]);
    expect(await count("audit_log WHERE action = 'gdpr.vendor_erase' AND outcome = 'done'")).toBe(1);
    await expect(completeErasureRequest(t.db, claimed[0].id, { ok: true })).rejects.toThrow('is not in progress');
  });

  test('an erased subject is not re-imported while a vendor still holds it, and may return once every vendor confirmed', async () => {
    await eraseSubject(t.db, 'back@x.io', { actor: 'dpo', vendors: ['salesforce', 'mailchimp'] });
    const resync = () =>
      runBatch(t.db, { integration: 'salesforce', mapping: MAPPING, records: [sf('BACK@x.io'), sf('other@x.io')] });
    expect(await resync()).toMatchObject({ accepted: 2, inserted: 1, unchanged: 1 });
    expect(await count("contacts WHERE email = 'back@x.io'")).toBe(0);
    for (const request of await claimErasureRequests(t.db))
      await completeErasureRequest(t.db, request.id, { ok: true });
    expect(await resync()).toMatchObject({ inserted: 1, unchanged: 1 });
    expect(await count("contacts WHERE email = 'back@x.io'")).toBe(1);
  });

  test(`a vendor erasure that keeps failing is marked failed after ${MAX_ERASURE_ATTEMPTS} attempts, and the email is dropped`, async () => {
    await eraseSubject(t.db, 'x@y.io', { actor: 'dpo', vendors: ['hubspot'] });
    for (let i = 0; i < MAX_ERASURE_ATTEMPTS; i++) {
      const [request] = await claimErasureRequests(t.db);
      await completeErasureRequest(t.db, request.id, { ok: false, error: `try ${i}` });
    }
    expect((await t.db.query('SELECT status, email, attempts, last_error FROM erasure_requests')).rows).toEqual([
      { status: 'failed', email: null, attempts: MAX_ERASURE_ATTEMPTS, last_error: 'try 4' },
    ]);
    expect(await count("audit_log WHERE action = 'gdpr.vendor_erase' AND outcome = 'failed'")).toBe(1);
  });

  test('a vendor erasure whose worker crashed is taken again once its lease expires, and failed after the last attempt', async () => {
    await eraseSubject(t.db, 'crash@y.io', { actor: 'dpo', vendors: ['hubspot'] });
    const [first] = await claimErasureRequests(t.db, 10, 60_000);
    expect(first).toMatchObject({ integration: 'hubspot', email: 'crash@y.io', attempts: 1 });
    // The worker dies here: while its lease runs, nobody else takes the request.
    expect(await claimErasureRequests(t.db, 10, 60_000)).toEqual([]);
    await t.db.query(`UPDATE erasure_requests SET lease_until = now() - interval '1 second'`);
    const [again] = await claimErasureRequests(t.db, 10, 60_000);
    expect(again).toMatchObject({ id: first.id, email: 'crash@y.io', attempts: 2 });

    await t.db.query(`UPDATE erasure_requests SET attempts = $1, lease_until = now() - interval '1 second'`, [
      MAX_ERASURE_ATTEMPTS,
    ]);
    expect(await claimErasureRequests(t.db, 10, 60_000)).toEqual([]);
    const { rows } = await t.db.query('SELECT status, email, last_error FROM erasure_requests');
    expect(rows).toEqual([
      {
        status: 'failed',
        email: null,
        last_error: `lease expired after ${MAX_ERASURE_ATTEMPTS} attempts (worker crashed or stalled)`,
      },
    ]);
    expect(await count("audit_log WHERE action = 'gdpr.vendor_erase' AND outcome = 'failed'")).toBe(1);
    await expect(completeErasureRequest(t.db, again.id, { ok: true })).rejects.toThrow('is not in progress');
  });

  test('erasure and opt-out refuse bad input with a message', async () => {
    await expect(eraseSubject(t.db, 'not an email', { actor: 'a' })).rejects.toThrow('email must be an email address');
    await expect(eraseSubject(t.db, 'a@b.io', { actor: ' ' })).rejects.toThrow('actor is required');
    await expect(eraseSubject(t.db, 'a@b.io', { actor: 'a', vendors: ['Sales Force'] })).rejects.toThrow(
      'vendor must be an integration name',
    );
    await expect(optOut(t.db, 42 as never, { actor: 'a' })).rejects.toThrow('email must be an email address');
  });

  test('CCPA opt-out stops the subject going to marketing destinations only, and stores no email', async () => {
    await optOut(t.db, 'Out@X.io', { actor: 'webhook:ccpa' });
    await optOut(t.db, 'out@x.io ', { actor: 'webhook:ccpa' });
    expect(await isOptedOut(t.db, 'OUT@x.io')).toBe(true);
    expect(await isOptedOut(t.db, 'in@x.io')).toBe(false);
    const records = [{ email: 'in@x.io' }, { email: ' out@X.IO' }, { email: null }];
    expect(await filterOptedOut(t.db, 'marketing', records)).toEqual([{ email: 'in@x.io' }, { email: null }]);
    expect(await filterOptedOut(t.db, 'crm', records)).toEqual(records);
    expect(await filterOptedOut(t.db, 'marketing', [{ email_address: 'out@x.io' }], 'email_address')).toEqual([]);
    expect(
      await filterOptedOut(t.db, 'marketing', records, 'email', {
        ...COMPLIANCE,
        ccpa: { ...COMPLIANCE.ccpa, enabled: false },
      }),
    ).toEqual(records);
    expect(await count("privacy_opt_outs t WHERE t::text LIKE '%out@%'")).toBe(0);
    expect((await t.db.query("SELECT outcome FROM audit_log WHERE action = 'ccpa.opt_out' ORDER BY id")).rows).toEqual([
      { outcome: 'recorded' },
      { outcome: 'already_recorded' },
    ]);
  });

  test('retention anonymizes contacts older than data_retention_days once, and deletes old quarantined records and events', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const daysAgo = (d: number) => new Date(now.getTime() - d * 86_400_000).toISOString();
    await runBatch(t.db, {
      integration: 'salesforce',
      mapping: MAPPING,
      records: [
        sf('old@x.io', { LastModifiedDate: daysAgo(400) }),
        sf('recent@x.io', { LastModifiedDate: daysAgo(10) }),
        sf('bad', { LastModifiedDate: daysAgo(400) }),
      ],
    });
    await t.db.query('UPDATE pipeline_quarantine SET last_seen_at = $1', [daysAgo(366)]);
    await t.db.copyRows(
      'contact_staging',
      ['batch_id', 'ord', 'email', 'loaded_at'],
      [
        [2, 0, 'a@x.io', daysAgo(2)],
        [3, 0, 'b@x.io', now],
      ],
    );
    const event = (id: string, at: string) => ({
      event: 'Viewed',
      properties: { time: Date.parse(at), distinct_id: 'u1', $insert_id: id },
    });
    await upsertEvents(t.db, 'mixpanel', [event('old', daysAgo(366)), event('recent', daysAgo(364))]);
    // Deleted: the old quarantined record, the stale staging row, the old event and the anonymized contact's source row.
    expect(await applyRetention(t.db, now)).toEqual({ deleted: 4, anonymized: 1 });
    expect((await t.db.query('SELECT event_id FROM events')).rows).toEqual([{ event_id: 'recent' }]);
    expect((await t.db.query('SELECT email FROM contact_staging')).rows).toEqual([{ email: 'b@x.io' }]);
    await t.db.exec('TRUNCATE contact_staging');
    const { rows } = await t.db.query(
      'SELECT email, phone, first_name, anonymized_at FROM contacts ORDER BY updated_at',
    );
    expect(rows[0].email).toMatch(/^anonymized-[0-9a-f-]{36}@anonymized\.invalid$/);
    expect(rows[0]).toMatchObject({ phone: null, first_name: 'Ann' });
    expect(new Date(rows[0].anonymized_at).toISOString()).toBe(now.toISOString());
    expect(rows[1]).toMatchObject({ email: 'recent@x.io', phone: '+14155550100', anonymized_at: null });
    expect(await applyRetention(t.db, now)).toEqual({ deleted: 0, anonymized: 0 });
    expect(await count("audit_log WHERE action = 'gdpr.retention'")).toBe(2);

    const deleting = { ...COMPLIANCE, gdpr: { ...COMPLIANCE.gdpr, retentionAction: 'delete' as const } };
    expect(await applyRetention(t.db, new Date(now.getTime() + 400 * 86_400_000), deleting)).toEqual({
      deleted: 4,
      anonymized: 0,
    });
    expect(await count('contacts')).toBe(0);
    await expect(applyRetention(t.db, new Date('nope'))).rejects.toThrow('now must be a valid Date');
  });
}

describe('compliance on PGlite', () => complianceSuite(pipelinePglite));
describeWithService('compliance on PostgreSQL', TEST_DATABASE_URL, () =>
  complianceSuite(() => pipelinePostgres(TEST_DATABASE_URL, 'h4_compliance')),
);
