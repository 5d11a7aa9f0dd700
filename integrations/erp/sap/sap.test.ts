import { startFakeSap, SAP_SERVICE_PATH, type FakeSap } from '@data-sync/vendor-fakes/sap';
import { buildBatch, parseBatchResponse } from '../shared/odata-batch';
import { sap, type SapConfig } from '.';

let fake: FakeSap;
const context = { sleep: async () => undefined };

beforeEach(async () => {
  fake = await startFakeSap({ seed: { persons: 3, organizations: 2 } });
});
afterEach(() => fake.close());

const basic = (): SapConfig =>
  sap.configSchema.parse({
    baseUrl: fake.url,
    auth: { type: 'basic', username: fake.state.username, password: fake.state.password },
  });

test('a communication user (Basic) pulls persons with their email, phone and an ISO last-change time; organizations apart', async () => {
  const connector = sap.create(basic(), context);
  const persons = await connector.pull('persons', null);
  expect(persons.records).toHaveLength(3);
  const [first] = persons.records;
  expect(first).toMatchObject({
    BusinessPartnerCategory: '1',
    LastChangeDateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
  });
  const address = (
    first.to_BusinessPartnerAddress as { results: Record<string, { results: Record<string, string>[] }>[] }
  ).results[0];
  expect(address.to_EmailAddress.results[0].EmailAddress).toMatch(/@example\.com$/);
  expect(address.to_PhoneNumber.results[0].PhoneNumber).toMatch(/^\+1415555/);
  expect((await connector.pull('organizations', null)).records.map((r) => r.BusinessPartnerCategory)).toEqual([
    '2',
    '2',
  ]);
  expect(fake.violations!()).toEqual([]);
});

test('the fake refuses and records a request the EDMX does not allow', async () => {
  const auth = `Basic ${Buffer.from(`${fake.state.username}:${fake.state.password}`).toString('base64')}`;
  const answer = await fetch(`${fake.url}${SAP_SERVICE_PATH}/A_BusinessPartner?$select=EmailAddress`, {
    headers: { authorization: auth },
  });
  expect(answer.status).toBe(400);
  expect(fake.violations!()).toEqual(['Property EmailAddress not found in type A_BusinessPartnerType']);
});

test('a write without a CSRF token is refused; after the session expires the connector fetches a new token and the write lands', async () => {
  const auth = `Basic ${Buffer.from(`${fake.state.username}:${fake.state.password}`).toString('base64')}`;
  const [id] = fake.ids('persons');
  const bare = await fetch(`${fake.url}${SAP_SERVICE_PATH}/A_BusinessPartner('${id}')`, {
    method: 'PATCH',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: '{"FirstName":"X"}',
  });
  expect([bare.status, bare.headers.get('x-csrf-token')]).toEqual([403, 'Required']);

  const connector = sap.create(basic(), context);
  await connector.delete('persons', [id]);
  fake.state.expireSessions();
  const [other] = fake.ids('persons');
  await connector.delete('persons', [other]);
  expect(fake.ids('persons')).not.toContain(other);
});

test("updates go with the ETag just read: a stale one is refused (412), the connector's push lands", async () => {
  const connector = sap.create(basic(), context);
  const [bp] = fake.snapshot('persons') as { BusinessPartner: string; emails: string[] }[];
  const stale = String(fake.state.sets.get('A_BusinessPartner')!.get(`'${bp.BusinessPartner}'`)!.__etag);
  fake.touch('persons', bp.BusinessPartner);
  const auth = `Basic ${Buffer.from(`${fake.state.username}:${fake.state.password}`).toString('base64')}`;
  const handshake = await fetch(`${fake.url}${SAP_SERVICE_PATH}/`, {
    headers: { authorization: auth, 'x-csrf-token': 'Fetch' },
  });
  const headers = {
    authorization: auth,
    'content-type': 'application/json',
    'x-csrf-token': handshake.headers.get('x-csrf-token')!,
    cookie: handshake.headers.getSetCookie()[0].split(';')[0],
    'if-match': stale,
  };
  const refused = await fetch(`${fake.url}${SAP_SERVICE_PATH}/A_BusinessPartner('${bp.BusinessPartner}')`, {
    method: 'PATCH',
    headers,
    body: '{"FirstName":"Lost"}',
  });
  expect(refused.status).toBe(412);

  const record = {
    FirstName: 'New',
    to_BusinessPartnerAddress: { results: [{ to_EmailAddress: { results: [{ EmailAddress: bp.emails[0] }] } }] },
  };
  expect(await connector.push('persons', [record])).toEqual({ upserted: 1, failed: [] });
  expect((fake.snapshot('persons') as { FirstName: string }[])[0].FirstName).toBe('New');
});

test('a push sends its writes in one $batch, one change set per record: a refused record fails alone, the rest land', async () => {
  const calls: string[] = [];
  const counting: typeof fetch = (input, init) => {
    calls.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname.replace(SAP_SERVICE_PATH, '')}`);
    return fetch(input, init);
  };
  const connector = sap.create(basic(), { ...context, fetch: counting });
  const [existing] = fake.snapshot('persons') as { BusinessPartner: string; emails: string[] }[];
  const address = (email: string) => ({ results: [{ to_EmailAddress: { results: [{ EmailAddress: email }] } }] });
  const result = await connector.push('persons', [
    { FirstName: 'Renamed', LastName: 'Person', to_BusinessPartnerAddress: address(existing.emails[0]) },
    { FirstName: 'New', LastName: 'Person', to_BusinessPartnerAddress: address('new.person@example.com') },
    { FirstName: 'Bad', NoSuchField: 'x', to_BusinessPartnerAddress: address('bad.person@example.com') },
  ]);
  expect(result.upserted).toBe(2);
  expect(result.failed).toEqual([
    { key: 'bad.person@example.com', reason: expect.stringMatching(/POST A_BusinessPartner -> 400: .*NoSuchField/) },
  ]);
  expect(calls.filter((c) => c.startsWith('POST'))).toEqual(['POST /$batch']);
  const people = fake.snapshot('persons') as { BusinessPartner: string; FirstName: string; emails: string[] }[];
  expect(people.find((p) => p.BusinessPartner === existing.BusinessPartner)?.FirstName).toBe('Renamed');
  expect(people.some((p) => p.emails.includes('new.person@example.com'))).toBe(true);
  expect(people.some((p) => p.emails.includes('bad.person@example.com'))).toBe(false);
});

test('the fake applies a change set all or nothing: a failing request rolls back the ones before it', async () => {
  const auth = `Basic ${Buffer.from(`${fake.state.username}:${fake.state.password}`).toString('base64')}`;
  const session = await fetch(`${fake.url}${SAP_SERVICE_PATH}/`, {
    headers: { authorization: auth, 'x-csrf-token': 'Fetch' },
  });
  const headers = {
    authorization: auth,
    'x-csrf-token': session.headers.get('x-csrf-token')!,
    cookie: session.headers.getSetCookie()[0].split(';')[0],
  };
  const [id] = fake.ids('persons');
  const batch = buildBatch([
    [
      { method: 'PATCH', path: `A_BusinessPartner('${id}')`, json: { FirstName: 'RolledBack' } },
      {
        method: 'PATCH',
        path: `A_BusinessPartner('${id}')`,
        json: { FirstName: 'X' },
        headers: { 'If-Match': 'W/"stale"' },
      },
    ],
  ]);
  const answer = await fetch(`${fake.url}${SAP_SERVICE_PATH}/$batch`, {
    method: 'POST',
    headers: { ...headers, 'content-type': batch.contentType },
    body: batch.body,
  });
  expect(answer.status).toBe(202);
  const [changeSet] = parseBatchResponse(answer.headers.get('content-type')!, await answer.text());
  expect(changeSet.map((r) => r.status)).toEqual([412]);
  const person = (fake.snapshot('persons') as { BusinessPartner: string; FirstName: string }[]).find(
    (p) => p.BusinessPartner === id,
  );
  expect(person?.FirstName).not.toBe('RolledBack');
});
