import { generateKeyPairSync } from 'crypto';
import { IntegrationError, WebhookRejected, type RateLimitObservation } from '../../connector';
import { startFakeSalesforce, type FakeSalesforce } from '@data-sync/vendor-fakes/salesforce';
import {
  buildOutboundMessage,
  createSalesforce,
  parseOutboundMessage,
  salesforce,
  SOAP_ACK,
  type SalesforceConfig,
} from '.';
import { salesforceRateLimit } from './client';
import { jwtAudience } from './config';
import { soqlDateTime, soqlString } from '.';

const ORG = '00D5e000000KQ2eEAG';
const fast = { sleep: async () => undefined };

function config(url: string, extra: Record<string, unknown> = {}): SalesforceConfig {
  return salesforce.configSchema.parse({
    baseUrl: url,
    auth: { type: 'client_credentials', clientId: 'fake-client-id', clientSecret: 'fake-client-secret' },
    organizationId: ORG,
    webhookToken: 'outbound-token-0123456789',
    bulkPollMs: 1,
    ...extra,
  });
}

let fake: FakeSalesforce;
afterEach(async () => fake?.close());

test('pulled contacts carry Account.Name from the lookup, as the mapping reads it', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 3 } });
  const page = await createSalesforce(config(fake.url), fast).pull('Contact', null);
  expect(page.done).toBe(true);
  const first = page.records[0] as { Account: { Name: string }; AccountId: string; attributes: { type: string } };
  expect(first.attributes.type).toBe('Contact');
  expect(first.Account.Name).toBe(fake.state.objects.get('Account')!.get(first.AccountId)!.Name);
});

test('deleted records are reported through queryAll after the changes', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 5 } });
  const connector = createSalesforce(config(fake.url), fast);
  const full = await connector.pull('Contact', null);
  const [victim] = fake.ids('Contact');
  fake.state.deleteRecord('Contact', victim);
  const next = await connector.pull('Contact', full.cursor);
  expect(next.records).toEqual([]);
  expect(next.deletedIds).toEqual([victim]);
  const again = await connector.pull('Contact', next.cursor);
  expect(again.deletedIds).toEqual([]);
});

test('an expired query locator resumes from the watermark without gaps or repeats', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 10 }, pageSize: 4 });
  const connector = createSalesforce(config(fake.url, { batchSize: 200 }), fast);
  const first = await connector.pull('Contact', null);
  const cursor = JSON.parse(first.cursor);
  cursor.next = cursor.next.replace(/01g5e[0-9A-F]+/, '01g5eEXPIRED');
  const ids = first.records.map((r) => r.Id);
  let text = JSON.stringify(cursor);
  for (;;) {
    const page = await connector.pull('Contact', text);
    ids.push(...page.records.map((r) => r.Id));
    text = page.cursor;
    if (page.done) break;
  }
  expect(ids.sort()).toEqual(fake.ids('Contact').sort());
});

test('an unreadable cursor is a clear invalid_config error', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 1 } });
  await expect(createSalesforce(config(fake.url), fast).pull('Contact', 'garbage')).rejects.toMatchObject({
    kind: 'invalid_config',
  });
  await expect(createSalesforce(config(fake.url), fast).pull('Contact; DROP', null)).rejects.toMatchObject({
    kind: 'invalid_config',
  });
});

test('pushes up to the threshold use composite calls of at most 200 records', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 0 } });
  const records = Array.from({ length: 450 }, (_, i) => ({
    External_Id__c: `c-${i}`,
    LastName: `L${i}`,
    Email: `c${i}@example.com`,
  }));
  const result = await createSalesforce(config(fake.url), fast).push('Contact', records);
  expect(result).toEqual({ upserted: 450, failed: [] });
  expect(fake.ids('Contact')).toHaveLength(450);
  expect(fake.state.bulkJobs.size).toBe(0);
});

test('pushes above the bulk threshold go through a Bulk API 2.0 ingest job, reporting rejected rows', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 0 } });
  const records: Record<string, unknown>[] = Array.from({ length: 30 }, (_, i) => ({
    External_Id__c: `b-${i}`,
    LastName: `Name, "${i}"`,
    Email: `b${i}@example.com`,
  }));
  records.push({ External_Id__c: 'b-bad', Email: 'nolastname@example.com' });
  const result = await createSalesforce(config(fake.url, { bulkThreshold: 10 }), fast).push('Contact', records);
  expect(result.upserted).toBe(30);
  expect(result.failed).toEqual([{ key: 'b-bad', reason: expect.stringContaining('REQUIRED_FIELD_MISSING') }]);
  expect(fake.state.bulkJobs.size).toBe(1);
  const stored = [...fake.state.objects.get('Contact')!.values()].find((r) => r.External_Id__c === 'b-3');
  expect(stored?.LastName).toBe('Name, "3"');
});

test('records without the external id are reported as failures, not sent', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 0 } });
  const result = await createSalesforce(config(fake.url), fast).push('Contact', [
    { LastName: 'x' },
    { External_Id__c: 'ok', LastName: 'y' },
  ]);
  expect(result.upserted).toBe(1);
  expect(result.failed).toEqual([{ key: '', reason: 'missing external id field External_Id__c' }]);
});

test('erase hard-deletes the contacts and leads with the email', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 4, Lead: 2 } });
  const contact = [...fake.state.objects.get('Contact')!.values()][1];
  const lead = fake.state.upsertRecord('Lead', { LastName: 'Subject', Email: contact.Email, Company: 'X' });
  await createSalesforce(config(fake.url), fast).erase(String(contact.Email));
  expect(fake.ids('Contact')).not.toContain(contact.Id);
  expect(fake.ids('Lead')).not.toContain(lead.Id);
  expect(fake.state.hardDeleted).toEqual(new Set([contact.Id, lead.Id]));
  expect(fake.ids('Contact')).toHaveLength(3);
});

test('erase finds every record with the email, recycled ones too, across query batches, and leaves none recoverable', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 4 }, pageSize: 2 });
  const email = 'subject@example.com';
  const live = fake.state.upsertRecord('Contact', { LastName: 'Subject', Email: email });
  const recycled = fake.state.upsertRecord('Contact', { LastName: 'Subject', Email: email });
  fake.state.deleteRecord('Contact', recycled.Id);
  const leads = [1, 2, 3].map((n) =>
    fake.state.upsertRecord('Lead', { LastName: `Subject${n}`, Email: email, Company: 'X' }),
  );
  await createSalesforce(config(fake.url), fast).erase(email);
  expect(fake.state.hardDeleted).toEqual(new Set([live.Id, recycled.Id, ...leads.map((l) => l.Id)]));
  expect(fake.state.recycleBin.get('Contact')!.size).toBe(0);
  expect(fake.ids('Lead')).toEqual([]);
  expect(fake.ids('Contact')).toHaveLength(4);
});

test("query batches below Salesforce's minimum of 200 are refused in config, naming the field", () => {
  const result = salesforce.configSchema.safeParse({
    auth: { type: 'client_credentials', clientId: 'a', clientSecret: 'b' },
    organizationId: ORG,
    webhookToken: 'outbound-token-0123456789',
    batchSize: 199,
  });
  expect(result.success).toBe(false);
  expect(result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual([
    'batchSize: Salesforce query batches are 200 to 2000 records',
  ]);
});

test('fetch returns the current records by id', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 5 } });
  const ids = fake.ids('Contact').slice(1, 3);
  const records = await createSalesforce(config(fake.url), fast).fetch('Contact', ids);
  expect(records.map((r) => r.Id).sort()).toEqual([...ids].sort());
});

test('Sforce-Limit-Info is reported to observe after each call', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 1 }, dailyLimit: 1000 });
  const seen: RateLimitObservation[] = [];
  await createSalesforce(config(fake.url), { ...fast, observe: (c) => void seen.push(c.rateLimit) }).test();
  expect(seen.at(-1)).toEqual({ limit: 1000, remaining: 999 });
  expect(salesforceRateLimit(new Headers({ 'Sforce-Limit-Info': 'api-usage=18/5000' }), 0)).toEqual({
    limit: 5000,
    remaining: 4982,
  });
});

test('the daily limit (403 REQUEST_LIMIT_EXCEEDED) is a rate_limit error, not auth', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 1 } });
  const connector = createSalesforce(config(fake.url), fast);
  await connector.test();
  fake.failNext(403, 1);
  await expect(connector.pull('Contact', null)).rejects.toMatchObject({ kind: 'rate_limit', status: 403 });
});

test('an expired session is refreshed once and the call succeeds', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 2 } });
  const connector = createSalesforce(config(fake.url), fast);
  await connector.test();
  fake.revokeAuth();
  fake.restoreAuth();
  const page = await connector.pull('Contact', null);
  expect(page.records).toHaveLength(2);
});

test('wrong client credentials are an auth error naming the OAuth error', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 1 } });
  const bad = config(fake.url, {
    auth: { type: 'client_credentials', clientId: 'fake-client-id', clientSecret: 'wrong' },
  });
  const error = await createSalesforce(bad, fast)
    .pull('Contact', null)
    .catch((e: IntegrationError) => e);
  expect(error).toMatchObject({ kind: 'auth', message: expect.stringContaining('invalid_client') });
});

test('the JWT bearer flow signs an assertion the token endpoint verifies', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  fake = await startFakeSalesforce({
    seed: { Contact: 2 },
    jwtPublicKey: publicKey,
    username: 'integration@example.com',
  });
  const jwt = config(fake.url, {
    auth: { type: 'jwt_bearer', clientId: 'fake-client-id', username: 'integration@example.com', privateKey },
  });
  expect((await createSalesforce(jwt, fast).pull('Contact', null)).records).toHaveLength(2);
  const other = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const forged = config(fake.url, {
    auth: {
      type: 'jwt_bearer',
      clientId: 'fake-client-id',
      username: 'integration@example.com',
      privateKey: other.privateKey,
    },
  });
  await expect(createSalesforce(forged, fast).pull('Contact', null)).rejects.toMatchObject({ kind: 'auth' });
});

test('the JWT audience is the login host, not the My Domain base URL: production, sandbox and a configured community URL', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const auth = { type: 'jwt_bearer', clientId: 'fake-client-id', username: 'integration@example.com', privateKey };
  fake = await startFakeSalesforce({
    seed: { Contact: 1 },
    jwtPublicKey: publicKey,
    username: 'integration@example.com',
  });
  expect((await createSalesforce(config(fake.url, { auth }), fast).pull('Contact', null)).records).toHaveLength(1);
  await fake.close();
  fake = await startFakeSalesforce({
    seed: { Contact: 1 },
    jwtPublicKey: publicKey,
    username: 'integration@example.com',
    jwtAudience: 'https://customers.example.com/partners',
  });
  expect(
    (
      await createSalesforce(
        config(fake.url, { auth: { ...auth, audience: 'https://customers.example.com/partners' } }),
        fast,
      ).pull('Contact', null)
    ).records,
  ).toHaveLength(1);
  await expect(createSalesforce(config(fake.url, { auth }), fast).pull('Contact', null)).rejects.toMatchObject({
    kind: 'auth',
    message: expect.stringContaining('audience is invalid'),
  });
  expect(jwtAudience('https://acme--uat.sandbox.my.salesforce.com', undefined)).toBe('https://test.salesforce.com');
  expect(jwtAudience('https://acme.my.salesforce.com', undefined)).toBe('https://login.salesforce.com');
});

test('config errors name the field', () => {
  const result = salesforce.configSchema.safeParse({
    auth: { type: 'client_credentials', clientId: 'a', clientSecret: 'b' },
    organizationId: 'nope',
    webhookToken: 'short',
  });
  expect(result.success).toBe(false);
  const paths = result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
  expect(paths).toEqual(expect.arrayContaining(['organizationId', 'webhookToken']));
});

test('SOQL literals are escaped and datetimes formatted for SOQL', () => {
  expect(soqlString("o'brien\\x")).toBe("'o\\'brien\\\\x'");
  expect(soqlDateTime('2026-01-05T08:00:07.000+0000')).toBe('2026-01-05T08:00:07Z');
});

describe('outbound messages', () => {
  const cfg = { organizationId: ORG, webhookToken: 'outbound-token-0123456789' };
  const request = (body: string, token = cfg.webhookToken) => ({
    method: 'POST',
    url: `https://x.example/webhooks/salesforce?token=${token}`,
    headers: {},
    rawBody: Buffer.from(body),
    now: 0,
  });

  test('parses notifications with nil fields and entities, answers with the SOAP Ack', () => {
    const body = buildOutboundMessage({
      organizationId: ORG,
      notifications: [
        {
          notificationId: '04l000000000001AAA',
          object: 'Contact',
          fields: { Id: '003000000000001AAA', LastName: "O'Brien & <Sons>", Phone: null },
        },
        { notificationId: '04l000000000001AAA', object: 'Contact', fields: { Id: '003000000000001AAA' } },
        { notificationId: '04l000000000002AAA', object: 'Lead', fields: { Id: '00Q000000000001AAA' } },
      ],
    });
    const result = salesforce.verifyWebhook(config('http://127.0.0.1:1'), request(body));
    expect(result.response).toEqual({ status: 200, contentType: 'text/xml; charset=utf-8', body: SOAP_ACK });
    expect(result.events.map((e) => [e.object, e.recordId])).toEqual([
      ['Contact', '003000000000001AAA'],
      ['Lead', '00Q000000000001AAA'],
    ]);
    expect((result.events[0].payload as { fields: Record<string, unknown> }).fields).toEqual({
      Id: '003000000000001AAA',
      LastName: "O'Brien & <Sons>",
      Phone: null,
    });
  });

  test('accepts the 15-character form of the org id', () => {
    const body = buildOutboundMessage({
      organizationId: ORG.slice(0, 15),
      notifications: [
        { notificationId: '04l000000000003AAA', object: 'Contact', fields: { Id: '003000000000009AAA' } },
      ],
    });
    expect(salesforce.verifyWebhook(config('http://127.0.0.1:1'), request(body)).events).toHaveLength(1);
  });

  test('rejects DOCTYPEs, missing tokens and other orgs', () => {
    const good = buildOutboundMessage({
      organizationId: ORG,
      notifications: [
        { notificationId: '04l000000000004AAA', object: 'Contact', fields: { Id: '003000000000009AAA' } },
      ],
    });
    expect(() => parseOutboundMessage('<!DOCTYPE x [<!ENTITY a "b">]>' + good)).toThrow(WebhookRejected);
    expect(() =>
      salesforce.verifyWebhook(config('http://127.0.0.1:1'), {
        ...request(good),
        url: 'https://x.example/webhooks/salesforce',
      }),
    ).toThrow(/token/);
    expect(() =>
      salesforce.verifyWebhook(config('http://127.0.0.1:1'), request(good.replace(ORG, '00D000000000009AAA'))),
    ).toThrow(/another org/);
    expect(() => salesforce.verifyWebhook(config('http://127.0.0.1:1'), { ...request(good), method: 'GET' })).toThrow(
      WebhookRejected,
    );
  });
});

test('the fake refuses and lists a query of a field the object does not have in its describe', async () => {
  fake = await startFakeSalesforce({ seed: { Contact: 1 } });
  const connector = createSalesforce(config(fake.url, { fields: { Contact: ['Email', 'Favourite_Colour'] } }), fast);
  await expect(connector.pull('Contact', null)).rejects.toThrow(/Favourite_Colour/);
  expect(fake.violations!()).toEqual(["SOQL on Contact: no field Favourite_Colour in the standard object's describe"]);
});
