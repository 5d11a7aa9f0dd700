import { startFakeDynamics, type FakeDynamics } from '@data-sync/vendor-fakes/dynamics';
import { buildBatch, parseBatchResponse } from '../shared/odata-batch';
import { dynamics, type DynamicsConfig } from '.';

const TENANT = '11111111-2222-4333-8444-555555555555';
let fake: FakeDynamics;
const context = { sleep: async () => undefined };

beforeEach(async () => {
  fake = await startFakeDynamics({ seed: { contacts: 3, accounts: 2 }, tenantId: TENANT });
});
afterEach(() => fake.close());

const config = (extra: Partial<DynamicsConfig> = {}): DynamicsConfig =>
  dynamics.configSchema.parse({
    orgUrl: fake.url,
    tenantId: TENANT,
    tokenUrl: `${fake.url}/${TENANT}/oauth2/v2.0/token`,
    clientId: fake.state.clientId,
    clientSecret: fake.state.clientSecret,
    ...extra,
  });

test('accounts upsert by their account number and come back through the delta link; no request breaks the table reference', async () => {
  const connector = dynamics.create(config(), context);
  const full = await connector.pull('accounts', null);
  expect(full.records.map((r) => r.accountnumber).sort()).toEqual(['ACC-1003', 'ACC-1004']);
  expect(await connector.push('accounts', [{ accountnumber: 'ACC-9000', name: 'Initech Europe' }])).toEqual({
    upserted: 1,
    failed: [],
  });
  const delta = await connector.pull('accounts', full.cursor);
  expect(delta.records.map((r) => [r.accountnumber, r.name])).toEqual([['ACC-9000', 'Initech Europe']]);
  expect(fake.violations!()).toEqual([]);
});

test("a push by a column the environment has no alternate key for fails that record with the vendor's reason", async () => {
  const connector = dynamics.create(config({ alternateKeys: { contacts: 'emailaddress2' } }), context);
  const result = await connector.push('contacts', [{ emailaddress2: 'x@example.com', firstname: 'X' }]);
  expect(result.upserted).toBe(0);
  expect(result.failed).toEqual([
    { key: 'x@example.com', reason: expect.stringContaining('not defined as an alternate key') },
  ]);
});

test('a stored cursor whose link points at another host is refused before any token is sent there', async () => {
  const connector = dynamics.create(config(), context);
  const cursor = JSON.stringify({ delta: 'https://attacker.example.com/api/data/v9.2/contacts?$deltatoken=1' });
  await expect(connector.pull('contacts', cursor)).rejects.toMatchObject({ kind: 'invalid_config' });
});

test('a push is one $batch of upserts: a refused row fails alone, the rest land', async () => {
  const posts: string[] = [];
  const counting: typeof fetch = (input, init) => {
    if (init?.method === 'POST') posts.push(new URL(String(input)).pathname);
    return fetch(input, init);
  };
  const connector = dynamics.create(config(), { ...context, fetch: counting });
  const result = await connector.push('contacts', [
    { emailaddress1: 'one@example.com', firstname: 'One', lastname: 'Batch' },
    { emailaddress1: 'bad@example.com', firstname: 'Bad', nosuchcolumn: 'x' },
    { emailaddress1: 'two@example.com', firstname: 'Two', lastname: 'Batch' },
  ]);
  expect(result).toEqual({
    upserted: 2,
    failed: [{ key: 'bad@example.com', reason: expect.stringMatching(/-> 400: .*nosuchcolumn/) }],
  });
  expect(posts.filter((p) => !p.includes('oauth2'))).toEqual(['/api/data/v9.2/$batch']);
  const emails = [...fake.state.tables.get('contacts')!.values()].map((r) => r.emailaddress1);
  expect(emails).toEqual(expect.arrayContaining(['one@example.com', 'two@example.com']));
  expect(emails).not.toContain('bad@example.com');
});

test('the fake ends a batch at its first failure unless the request prefers odata.continue-on-error', async () => {
  const token = await fetch(`${fake.url}/${TENANT}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: fake.state.clientId,
      client_secret: fake.state.clientSecret,
      scope: `${fake.url}/.default`,
    }),
  }).then((r) => r.json() as Promise<{ access_token: string }>);
  const root = `${fake.url}/api/data/v9.2`;
  const batch = buildBatch(
    [
      [{ method: 'PATCH', path: `contacts(emailaddress1='a%40example.com')`, json: { nosuchcolumn: 1 } }],
      [{ method: 'PATCH', path: `contacts(emailaddress1='b%40example.com')`, json: { firstname: 'B' } }],
    ],
    root,
  );
  const send = async (prefer?: string) => {
    const answer = await fetch(`${root}/$batch`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token.access_token}`,
        'content-type': batch.contentType,
        ...(prefer ? { prefer } : {}),
      },
      body: batch.body,
    });
    return parseBatchResponse(answer.headers.get('content-type')!, await answer.text()).map((set) =>
      set.map((r) => r.status),
    );
  };
  expect(await send()).toEqual([[400]]);
  expect(await send('odata.continue-on-error')).toEqual([[400], [204]]);
});
