import { startFakeDynamics, type FakeDynamics } from '@data-sync/vendor-fakes/dynamics';
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
