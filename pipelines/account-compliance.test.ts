/** GDPR erasure and retention reach the personal data accounts hold (an organization's email and phone). */
import { COMPLIANCE } from '@data-sync/config/compliance';
import { ingestAccountPage } from './accounts';
import { applyRetention, claimErasureRequests, completeErasureRequest, eraseSubject } from './compliance';
import { pipelinePglite, type TestDb } from './testing/db';

let t: TestDb;
beforeAll(async () => {
  t = await pipelinePglite();
}, 60_000);
afterAll(() => t?.close());
beforeEach(() => t.db.exec('TRUNCATE accounts, erasure_requests, audit_log'));

const organization = (id: string, email: string, changed: string) => ({
  id,
  BusinessPartner: id,
  BusinessPartnerCategory: '2',
  OrganizationBPName1: `Org ${id}`,
  LastChangeDateTime: changed,
  to_BusinessPartnerAddress: {
    results: [
      {
        to_EmailAddress: { results: [{ EmailAddress: email }] },
        to_PhoneNumber: { results: [{ PhoneNumber: '+14155550100' }] },
      },
    ],
  },
});
const ingest = (records: Record<string, unknown>[]) =>
  t.db.transaction((tx) =>
    ingestAccountPage(tx, { integration: 'sap', object: 'organizations', records, deletedIds: [] }),
  );
const rows = async () =>
  (await t.db.query('SELECT external_id, name, email, phone FROM accounts ORDER BY external_id')).rows;

test('erasure blanks the email and phone of the subject’s accounts, and a re-pull does not bring them back until every vendor confirmed', async () => {
  await ingest([
    organization('1', 'Owner@SoleTrader.example.com', '2026-01-05T08:00:00.000Z'),
    organization('2', 'ap@initech.example.com', '2026-01-05T08:00:00.000Z'),
  ]);
  const { erased } = await eraseSubject(t.db, 'owner@soletrader.example.com', { actor: 'dpo', vendors: ['sap'] });
  expect(erased.accounts).toBe(1);
  expect(await rows()).toEqual([
    { external_id: '1', name: 'Org 1', email: null, phone: null },
    { external_id: '2', name: 'Org 2', email: 'ap@initech.example.com', phone: '+14155550100' },
  ]);
  // SAP has not erased yet: the next pull still carries the address.
  await ingest([organization('1', 'owner@soletrader.example.com', '2026-01-06T08:00:00.000Z')]);
  expect((await rows())[0]).toMatchObject({ email: null, phone: null });
  const [request] = await claimErasureRequests(t.db);
  await completeErasureRequest(t.db, request.id, { ok: true });
  await ingest([organization('1', 'new.owner@soletrader.example.com', '2026-01-07T08:00:00.000Z')]);
  expect((await rows())[0]).toMatchObject({ email: 'new.owner@soletrader.example.com' });
});

test('retention blanks the personal fields of accounts not updated for data_retention_days, or deletes them', async () => {
  await ingest([
    organization('1', 'old@x.example.com', '2025-01-01T00:00:00.000Z'),
    organization('2', 'recent@x.example.com', '2026-01-01T00:00:00.000Z'),
  ]);
  await t.db.query("UPDATE accounts SET updated_at = '2025-01-01T00:00:00Z' WHERE external_id = '1'");
  const now = new Date('2026-01-02T00:00:00Z');
  const before = await applyRetention(t.db, now);
  expect(before.anonymized).toBe(1);
  expect(await rows()).toEqual([
    { external_id: '1', name: 'Org 1', email: null, phone: null },
    { external_id: '2', name: 'Org 2', email: 'recent@x.example.com', phone: '+14155550100' },
  ]);
  expect((await applyRetention(t.db, now)).anonymized).toBe(0);
  const deleting = { ...COMPLIANCE, gdpr: { ...COMPLIANCE.gdpr, retentionAction: 'delete' as const } };
  await applyRetention(t.db, now, deleting);
  expect((await rows()).map((r) => r.external_id)).toEqual(['2']);
});
