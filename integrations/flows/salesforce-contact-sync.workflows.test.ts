import { migrate } from '../../pipelines/db';
import { pipelinePglite, pipelinePostgres, type TestDb } from '../../pipelines/testing/db';
import { serviceAvailable, TEST_DATABASE_URL } from '../../test/support/services';
import { WebhookRejected } from '../connector';
import { buildOutboundMessage, salesforce, SOAP_ACK, type SalesforceConfig } from '../crm/salesforce';
import { startFakeSalesforce, type FakeSalesforce } from '../../test/fakes/salesforce';
import { handleSalesforceContactMessage, SALESFORCE_FLOW_MIGRATIONS } from './salesforce-contact-sync';

const ORG = '00D5e000000KQ2eEAG';
const TOKEN = 'outbound-token-0123456789';
let db: TestDb;
let fake: FakeSalesforce;
let config: SalesforceConfig;

beforeAll(async () => {
  // PostgreSQL when it runs here (a private schema), else the embedded PGlite: the flow runs either way.
  db = (await serviceAvailable('PostgreSQL', TEST_DATABASE_URL)) ? await pipelinePostgres(TEST_DATABASE_URL, 'sf_contact_flow') : await pipelinePglite();
  await migrate(db.db, SALESFORCE_FLOW_MIGRATIONS);
});
afterAll(async () => db.close());
beforeEach(async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 5 }, organizationId: ORG });
  config = salesforce.configSchema.parse({
    baseUrl: fake.url,
    auth: { type: 'client_credentials', clientId: 'fake-client-id', clientSecret: 'fake-client-secret' },
    organizationId: ORG,
    webhookToken: TOKEN,
  });
});
afterEach(async () => fake.close());

function delivery(notifications: { id: string; contactId: string }[], token = TOKEN) {
  const body = buildOutboundMessage({ organizationId: ORG, notifications: notifications.map((n) => ({ notificationId: n.id, object: 'Contact', fields: { Id: n.contactId } })) });
  return { method: 'POST', url: `https://api.example.com/webhooks/salesforce?token=${token}`, headers: { 'content-type': 'text/xml' }, rawBody: Buffer.from(body), now: Date.now() };
}

async function contactRow(email: unknown) {
  const { rows } = await db.db.query('SELECT email, first_name, last_name, phone, company_name, source FROM contacts WHERE email = $1', [String(email).toLowerCase()]);
  return rows[0];
}

test('a contact outbound message fetches the contacts and upserts them into contacts, answering with the SOAP Ack', async () => {
  const [a, b] = [...fake.state.objects.get('Contact')!.values()];
  const result = await handleSalesforceContactMessage({ db: db.db, config }, delivery([{ id: '04l5e0000000001AAA', contactId: a.Id }, { id: '04l5e0000000002AAA', contactId: b.Id }]));
  expect(result.response).toEqual({ status: 200, contentType: 'text/xml; charset=utf-8', body: SOAP_ACK });
  expect(result.fetched).toBe(2);
  expect(result.batch).toMatchObject({ received: 2, accepted: 2, quarantined: 0 });
  const row = await contactRow(a.Email);
  const account = fake.state.objects.get('Account')!.get(String(a.AccountId))!;
  expect(row).toMatchObject({ email: String(a.Email).toLowerCase(), first_name: a.FirstName, last_name: a.LastName, company_name: account.Name, source: 'salesforce' });
  expect(row.phone).toMatch(/^\+1415555\d{4}$/);
});

test('a repeated delivery is acknowledged without fetching again; a new notification about the same contact updates it', async () => {
  const contact = [...fake.state.objects.get('Contact')!.values()][2];
  const first = await handleSalesforceContactMessage({ db: db.db, config }, delivery([{ id: '04l5e0000000003AAA', contactId: contact.Id }]));
  expect(first.processed).toHaveLength(1);
  const requests = fake.requestCount();
  const repeat = await handleSalesforceContactMessage({ db: db.db, config }, delivery([{ id: '04l5e0000000003AAA', contactId: contact.Id }]));
  expect(repeat).toMatchObject({ processed: [], repeated: [`salesforce:${ORG.slice(0, 15)}:04l5e0000000003AAA`], fetched: 0 });
  expect(repeat.response.body).toBe(SOAP_ACK);
  expect(fake.requestCount()).toBe(requests);

  fake.state.upsertRecord('Contact', { Id: contact.Id, FirstName: 'Renamed' });
  const update = await handleSalesforceContactMessage({ db: db.db, config }, delivery([{ id: '04l5e0000000004AAA', contactId: contact.Id }]));
  expect(update.batch).toMatchObject({ updated: 1 });
  expect((await contactRow(contact.Email)).first_name).toBe('Renamed');
});

test('a forged delivery is rejected and writes nothing', async () => {
  const contact = [...fake.state.objects.get('Contact')!.values()][4];
  await expect(handleSalesforceContactMessage({ db: db.db, config }, delivery([{ id: '04l5e0000000005AAA', contactId: contact.Id }], 'wrong-token-0123456789'))).rejects.toBeInstanceOf(WebhookRejected);
  expect(await contactRow(contact.Email)).toBeUndefined();
});

test('a contact deleted before the fetch is skipped and the message still acknowledged', async () => {
  const contact = [...fake.state.objects.get('Contact')!.values()][3];
  fake.state.deleteRecord('Contact', contact.Id);
  const result = await handleSalesforceContactMessage({ db: db.db, config }, delivery([{ id: '04l5e0000000006AAA', contactId: contact.Id }]));
  expect(result).toMatchObject({ fetched: 0, processed: [expect.stringContaining('04l5e0000000006AAA')] });
  expect(result.batch).toBeUndefined();
});

test('a Salesforce outage surfaces as an error so Salesforce retries the message later', async () => {
  const contact = [...fake.state.objects.get('Contact')!.values()][1];
  fake.failNext(503, 100);
  const fastConfig = { db: db.db, config, context: { sleep: async () => undefined } };
  await expect(handleSalesforceContactMessage(fastConfig, delivery([{ id: '04l5e0000000007AAA', contactId: contact.Id }]))).rejects.toMatchObject({ kind: 'unavailable' });
  const { rows } = await db.db.query("SELECT 1 FROM salesforce_outbound_notifications WHERE event_id LIKE '%04l5e0000000007AAA'");
  expect(rows).toEqual([]);
});
