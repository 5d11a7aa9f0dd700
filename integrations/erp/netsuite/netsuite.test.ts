import { generateKeyPairSync } from 'crypto';
import { startFakeNetSuite, type FakeNetSuite } from '@data-sync/vendor-fakes/netsuite';
import { netsuite, netsuiteHost, type NetSuiteConfig } from '.';

let fake: FakeNetSuite;
const context = { sleep: async () => undefined };

beforeAll(async () => {
  fake = await startFakeNetSuite({ seed: { customer: 2, contact: 3 } });
});
afterAll(() => fake.close());

const config = (extra: Partial<NetSuiteConfig> = {}): NetSuiteConfig =>
  netsuite.configSchema.parse({
    accountId: fake.state.accountId,
    baseUrl: fake.url,
    clientId: fake.state.clientId,
    certificateId: fake.state.certificateId,
    privateKey: fake.state.privateKey,
    ...extra,
  });

test('the REST host follows the account id, sandboxes included', () => {
  expect(netsuiteHost('1234567_SB1')).toBe('https://1234567-sb1.suitetalk.api.netsuite.com');
});

test('contacts pull with ISO timestamps; a company customer is pushed as a company', async () => {
  const connector = netsuite.create(config(), context);
  const page = await connector.pull('contact', null);
  expect(page.records).toHaveLength(3);
  expect(page.records[0]).toMatchObject({
    id: expect.stringMatching(/^\d+$/),
    lastmodifieddate: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
  });
  expect(await connector.push('customer', [{ companyName: 'Initech', email: 'ap@initech.example.com' }])).toEqual({
    upserted: 1,
    failed: [],
  });
  const created = [...fake.state.records.get('customer')!.values()].find((r) => r.email === 'ap@initech.example.com');
  expect(created).toMatchObject({ isperson: 'F', companyname: 'Initech', externalid: 'ap@initech.example.com' });
});

test('an assertion signed with another key than the mapped certificate is refused as auth', async () => {
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
  const check = await netsuite.create(config({ privateKey: other }), context).test();
  expect(check).toMatchObject({ ok: false, message: expect.stringMatching(/^auth: .*invalid_client/) });
});
