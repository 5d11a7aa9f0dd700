import { ingestAccountPage } from './accounts';
import { ACCOUNT_MIGRATIONS } from './account-migrations';
import { migrate, openPglite, type Db } from './db';
import { PIPELINE_MIGRATIONS } from './migrations';

let db: Db;
beforeAll(async () => {
  db = await openPglite();
  await migrate(db, [...PIPELINE_MIGRATIONS, ...ACCOUNT_MIGRATIONS]);
}, 60_000);
afterAll(() => db?.close());

const sapOrganization = (id: string, name: string, changed: string) => ({
  id,
  BusinessPartner: id,
  BusinessPartnerCategory: '2',
  OrganizationBPName1: name,
  Customer: `C${id}`,
  LastChangeDateTime: changed,
  to_BusinessPartnerAddress: {
    results: [
      {
        to_EmailAddress: { results: [{ EmailAddress: 'AP@Initech.example.com' }] },
        to_PhoneNumber: { results: [{ PhoneNumber: '+14155550100' }] },
      },
    ],
  },
});
const ingest = (object: string, integration: string, records: Record<string, unknown>[], deletedIds: string[] = []) =>
  db.transaction((tx) => ingestAccountPage(tx, { integration, object, records, deletedIds }));
const accounts = async () =>
  (
    await db.query(
      'SELECT source, external_id, name, account_number, email, phone, deleted_at IS NOT NULL AS deleted FROM accounts ORDER BY source, external_id',
    )
  ).rows;

test('SAP organizations land in accounts; a repeat or an older version changes nothing, a newer one updates, a delete is a tombstone', async () => {
  expect(
    await ingest('organizations', 'sap', [sapOrganization('1000007', 'Initech', '2026-01-05T08:00:00.000Z')]),
  ).toMatchObject({ inserted: 1, quarantined: 0 });
  expect(await accounts()).toEqual([
    {
      source: 'sap',
      external_id: '1000007',
      name: 'Initech',
      account_number: 'C1000007',
      email: 'ap@initech.example.com',
      phone: '+14155550100',
      deleted: false,
    },
  ]);
  expect(
    await ingest('organizations', 'sap', [sapOrganization('1000007', 'Initech', '2026-01-05T08:00:00.000Z')]),
  ).toMatchObject({ inserted: 0, updated: 0, unchanged: 1 });
  expect(
    await ingest('organizations', 'sap', [sapOrganization('1000007', 'Initech (old)', '2026-01-04T08:00:00.000Z')]),
  ).toMatchObject({ updated: 0 });
  expect(
    await ingest('organizations', 'sap', [sapOrganization('1000007', 'Initech GmbH', '2026-01-06T08:00:00.000Z')]),
  ).toMatchObject({ updated: 1 });
  expect((await accounts())[0]).toMatchObject({ name: 'Initech GmbH' });
  expect(await ingest('organizations', 'sap', [], ['1000007'])).toMatchObject({ deleted: 1 });
  expect((await accounts())[0]).toMatchObject({ deleted: true });
});

test('Dynamics accounts and NetSuite company customers are accounts; NetSuite persons are not; a nameless account is quarantined', async () => {
  await ingest('accounts', 'dynamics', [
    { id: 'a1', accountid: 'a1', name: 'Globex', accountnumber: 'ACC-1', modifiedon: '2026-01-05T08:00:00Z' },
  ]);
  const netsuite = await ingest('customer', 'netsuite', [
    { id: '7', isperson: 'F', companyname: 'Hooli', entityid: 'CUST7', lastmodifieddate: '2026-01-05T08:00:00Z' },
    { id: '8', isperson: 'T', firstname: 'Ada', companyname: 'Hooli' },
    { id: '9', isperson: 'F', companyname: '' },
  ]);
  expect(netsuite).toMatchObject({ received: 3, inserted: 1, quarantined: 1 });
  expect((await accounts()).filter((a) => a.source !== 'sap').map((a) => [a.source, a.external_id, a.name])).toEqual([
    ['dynamics', 'a1', 'Globex'],
    ['netsuite', '7', 'Hooli'],
  ]);
  const quarantined = await db.query<{ integration: string; mapping: string }>(
    'SELECT integration, mapping FROM pipeline_quarantine',
  );
  expect(quarantined.rows).toEqual([{ integration: 'netsuite', mapping: 'netsuite_to_accounts.customer' }]);
  expect(await ingest('contacts', 'dynamics', [{ id: 'c1' }])).toBeUndefined();
});
