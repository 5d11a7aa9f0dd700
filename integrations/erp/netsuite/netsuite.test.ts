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

const tba = (extra: Partial<NonNullable<NetSuiteConfig['tba']>> = {}): NetSuiteConfig =>
  netsuite.configSchema.parse({
    accountId: fake.state.accountId,
    baseUrl: fake.url,
    tba: { ...fake.state.tba, ...extra },
  });

test('token-based authentication signs each request: OAuth 1.0a HMAC-SHA256 with the account id as realm', async () => {
  const headers: string[] = [];
  const recording: typeof fetch = (input, init) => {
    headers.push(String(new Headers(init?.headers).get('authorization')));
    return fetch(input, init);
  };
  const connector = netsuite.create(tba(), { ...context, fetch: recording });
  expect((await connector.pull('customer', null)).records.length).toBeGreaterThan(0);
  expect(headers[0]).toMatch(
    new RegExp(`^OAuth realm="${fake.state.accountId.toUpperCase()}", .*oauth_signature_method="HMAC-SHA256"`),
  );
  // No token endpoint is called: every request carries its own signature.
  expect(headers.every((h) => h.startsWith('OAuth '))).toBe(true);
});

test('a wrong token secret, or a repeated nonce, is refused as auth', async () => {
  const check = await netsuite.create(tba({ tokenSecret: 'not-the-secret' }), context).test();
  expect(check).toMatchObject({ ok: false, message: expect.stringMatching(/^auth: .*INVALID_LOGIN/) });
  let header = '';
  const capture: typeof fetch = (input, init) => {
    header = String(new Headers(init?.headers).get('authorization'));
    return fetch(input, init);
  };
  await netsuite.create(tba(), { ...context, fetch: capture }).test();
  const replay = await fetch(`${fake.url}/services/rest/record/v1/customer?limit=1`, {
    headers: { authorization: header },
  });
  expect(replay.status).toBe(401);
});

test('a config names one way to authenticate: TBA or M2M, not both, not neither', () => {
  const base = { accountId: 'TSTDRV1', baseUrl: 'https://ns.example.com' };
  const both = netsuite.configSchema.safeParse({ ...base, tba: fake.state.tba, clientId: 'c' });
  expect(both.success).toBe(false);
  const neither = netsuite.configSchema.safeParse(base);
  expect(neither.success).toBe(false);
  expect(JSON.stringify(neither.error?.issues)).toContain('M2M needs clientId, certificateId and privateKey');
});
