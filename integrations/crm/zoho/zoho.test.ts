import { startFakeZoho, type FakeZoho } from '@data-sync/vendor-fakes/zoho';
import { MemoryTokenStore } from '../../http/oauth-session';
import { createZoho, zoho, type ZohoConfig } from '.';

const fast = { sleep: async () => undefined };
let fake: FakeZoho;
afterEach(async () => fake?.close());

function config(url: string, extra: Partial<ZohoConfig> = {}): ZohoConfig {
  return zoho.configSchema.parse({
    baseUrl: url,
    accountsUrl: url,
    clientId: '1000.FAKECLIENT',
    clientSecret: 'fake-zoho-secret',
    refreshToken: '1000.fake-refresh-token',
    webhookToken: 'zoho-channel-token-123',
    ...extra,
  });
}

async function pullAll(connector: ReturnType<typeof createZoho>, cursor: string | null) {
  const ids: string[] = [];
  const deleted: string[] = [];
  for (;;) {
    const page = await connector.pull('Contacts', cursor);
    ids.push(...page.records.map((r) => String(r.id)));
    deleted.push(...page.deletedIds);
    cursor = page.cursor;
    if (page.done) return { ids, deleted, cursor };
  }
}

test('one access token is refreshed for many calls, and again after it expires', async () => {
  fake = await startFakeZoho({ seed: { Contacts: 5 } });
  const connector = createZoho(config(fake.url), fast);
  await connector.test();
  await connector.pull('Contacts', null);
  expect(fake.state.issuedTokens).toHaveLength(1);
  fake.expireAccessTokens();
  expect((await pullAll(connector, null)).ids).toHaveLength(5);
  expect(fake.state.issuedTokens).toHaveLength(2);
});

test('workers sharing a token store share one access token instead of each minting one', async () => {
  fake = await startFakeZoho({ seed: { Contacts: 2 } });
  const tokenStore = new MemoryTokenStore();
  const workers = [0, 1, 2].map(() => createZoho(config(fake.url), { ...fast, tokenStore }));
  await Promise.all(workers.map((w) => w.pull('Contacts', null)));
  expect(fake.state.issuedTokens).toHaveLength(1);
  fake.expireAccessTokens();
  await Promise.all(workers.map((w) => w.pull('Contacts', null)));
  expect(fake.state.issuedTokens).toHaveLength(2);
});

test("a revoked refresh token is an auth error naming Zoho's error", async () => {
  fake = await startFakeZoho({ seed: { Contacts: 1 } });
  const error = await createZoho(config(fake.url, { refreshToken: '1000.wrong' }), fast)
    .pull('Contacts', null)
    .catch((e) => e);
  expect(error).toMatchObject({ kind: 'auth', message: expect.stringContaining('invalid_code') });
});

test('more records in one second than a page are read page by page without repeats', async () => {
  fake = await startFakeZoho({ seed: { Contacts: 2 } });
  const connector = createZoho(config(fake.url, { pageSize: 3 }), fast);
  const full = await pullAll(connector, null);
  const burst: string[] = [];
  const at = new Date(Date.now() + 10_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
  for (let i = 0; i < 8; i++) {
    const record = fake.state.save('Contacts', { Last_Name: `Burst${i}`, Email: `burst${i}@example.com` });
    record.Modified_Time = at;
    burst.push(record.id);
  }
  const next = await pullAll(connector, full.cursor);
  expect(next.ids.sort()).toEqual(burst.sort());
  expect((await pullAll(connector, next.cursor)).ids).toEqual([]);
});

test('deleted records are reported once after the changes; an empty module answers 204 without error', async () => {
  fake = await startFakeZoho({ seed: { Contacts: 4 } });
  const connector = createZoho(config(fake.url), fast);
  const full = await pullAll(connector, null);
  const victim = fake.ids('Contacts')[1];
  await connector.delete('Contacts', [victim, '5725767999999999999']);
  const next = await pullAll(connector, full.cursor);
  expect(next.deleted).toEqual([victim]);
  expect((await pullAll(connector, next.cursor)).deleted).toEqual([]);
  const empty = await connector.pull('Leads', null);
  expect(empty).toMatchObject({ records: [], done: true });
});

test('erase deletes contacts and leads with the email, and purges them from the recycle bin', async () => {
  fake = await startFakeZoho({ seed: { Contacts: 3 } });
  const [contact, other] = fake.state.modules.get('Contacts')!.values();
  const lead = fake.state.save('Leads', { Last_Name: 'Same', Email: contact.Email });
  await createZoho(config(fake.url), fast).erase(String(contact.Email));
  expect(fake.ids('Contacts')).not.toContain(contact.id);
  expect(fake.ids('Leads')).not.toContain(lead.id);
  expect(fake.state.purged).toEqual(new Set([contact.id, lead.id]));
  expect(fake.state.recycleBin.size).toBe(0);
  // A plain delete stays restorable, as in Zoho.
  await createZoho(config(fake.url), fast).delete('Contacts', [other.id]);
  expect(fake.state.recycleBin).toEqual(new Set([other.id]));
});

test('a chunk where every record fails (Zoho answers 400) fails those records, not the push', async () => {
  fake = await startFakeZoho({ seed: { Contacts: 1 } });
  const [existing] = fake.state.modules.get('Contacts')!.values();
  const connector = createZoho(config(fake.url, { duplicateCheckFields: { Contacts: ['Phone'] } }), fast);
  const result = await connector.push('Contacts', [
    { Phone: '+1 555 0100' },
    { Phone: '+1 555 0101', Last_Name: 'X', Shoe_Size: 44 },
    { Phone: '+1 555 0102', Last_Name: 'Dup', Email: existing.Email },
  ]);
  expect(result).toEqual({
    upserted: 0,
    failed: [
      { key: '+1 555 0100', reason: 'MANDATORY_NOT_FOUND: required field not found (Last_Name)' },
      { key: '+1 555 0101', reason: 'INVALID_DATA: invalid data (Shoe_Size)' },
      { key: '+1 555 0102', reason: 'DUPLICATE_DATA: duplicate data (Email)' },
    ],
  });
});

test('past 2,000 records in one second the pull continues with page_token', async () => {
  fake = await startFakeZoho({ seed: { Contacts: 2050 }, sameSecond: true });
  const { ids } = await pullAll(createZoho(config(fake.url), fast), null);
  expect(ids).toHaveLength(2050);
  expect(new Set(ids).size).toBe(2050);
});

test('upsert reports rejected records with the field Zoho names', async () => {
  fake = await startFakeZoho({ seed: { Contacts: 0 } });
  const result = await createZoho(config(fake.url), fast).push('Contacts', [
    { Email: 'ok@example.com', Last_Name: 'Ok' },
    { Email: 'nolast@example.com' },
    { Email: 'odd@example.com', Last_Name: 'X', Shoe_Size: 44 },
  ]);
  expect(result.upserted).toBe(1);
  expect(result.failed).toEqual([
    { key: 'nolast@example.com', reason: 'MANDATORY_NOT_FOUND: required field not found (Last_Name)' },
    { key: 'odd@example.com', reason: 'INVALID_DATA: invalid data (Shoe_Size)' },
  ]);
});

test('notifications with a wrong token or of an unknown channel are rejected', () => {
  const cfg = config('http://127.0.0.1:1', { channelIds: ['1'] });
  const request = (body: object) => ({
    method: 'POST',
    url: 'https://x.example/zoho',
    headers: {},
    rawBody: Buffer.from(JSON.stringify(body)),
    now: 0,
  });
  const good = {
    server_time: 1,
    module: 'Contacts',
    ids: ['9'],
    operation: 'insert',
    channel_id: '1',
    token: 'zoho-channel-token-123',
  };
  expect(zoho.verifyWebhook(cfg, request(good)).events).toEqual([
    { id: 'zoho:1:1:insert:9', type: 'Contacts.insert', object: 'Contacts', recordId: '9', payload: good },
  ]);
  expect(() => zoho.verifyWebhook(cfg, request({ ...good, token: 'zoho-channel-token-124' }))).toThrow(/token/);
  expect(() => zoho.verifyWebhook(cfg, request({ ...good, channel_id: '2' }))).toThrow(/channel/);
  expect(() => zoho.verifyWebhook(cfg, request({ ...good, ids: 'x' }))).toThrow(/ids/);
});
