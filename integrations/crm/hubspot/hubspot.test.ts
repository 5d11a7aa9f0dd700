import { startFakeHubSpot, type FakeHubSpot } from '@data-sync/vendor-fakes/hubspot';
import { createHubSpot, hubspot, hubspotRateLimit, signatureV3, type HubSpotConfig } from '.';

const fast = { sleep: async () => undefined };
let fake: FakeHubSpot;
afterEach(async () => fake?.close());

function config(url: string, extra: Partial<HubSpotConfig> = {}): HubSpotConfig {
  return hubspot.configSchema.parse({
    baseUrl: url,
    accessToken: 'pat-na1-fake-token',
    clientSecret: 'app-secret-1',
    ...extra,
  });
}

async function pullAll(connector: ReturnType<typeof createHubSpot>, cursor: string | null) {
  const ids: string[] = [];
  const deleted: string[] = [];
  let pages = 0;
  for (;;) {
    const page = await connector.pull('contacts', cursor);
    pages++;
    ids.push(...page.records.map((r) => String(r.id)));
    deleted.push(...page.deletedIds);
    cursor = page.cursor;
    if (page.done) return { ids, deleted, cursor, pages };
  }
}

test('incremental search reads runs of equal timestamps by id, without gaps or repeats', async () => {
  fake = await startFakeHubSpot({ seed: { contacts: 3 } });
  const connector = createHubSpot(config(fake.url, { pageSize: 5, searchPageSize: 4 }), fast);
  const full = await pullAll(connector, null);
  // Eleven edits in the same millisecond, more than a search page: search returns them in arbitrary order.
  const at = new Date(Date.now() + 5000).toISOString();
  const edited: string[] = [];
  for (let i = 0; i < 11; i++) {
    const record = fake.state.upsertRecord('contacts', { email: `burst${i}@example.com` });
    record.updatedAt = at;
    record.properties.lastmodifieddate = at;
    edited.push(record.id);
  }
  const incremental = await pullAll(connector, full.cursor);
  expect(incremental.ids.sort()).toEqual(edited.sort());
  expect(incremental.pages).toBeGreaterThan(3);
});

test('a change search indexes late, behind a later one, is still pulled, and exactly once', async () => {
  fake = await startFakeHubSpot({ seed: { contacts: 5 } });
  const connector = createHubSpot(config(fake.url, { pageSize: 2, searchPageSize: 2 }), fast);
  const full = await pullAll(connector, null);
  const [late, prompt] = fake.ids('contacts');
  fake.touchUnindexed('contacts', late);
  fake.touch('contacts', prompt);
  const first = await pullAll(connector, full.cursor);
  expect(first.ids).toEqual([prompt]);
  // The index catches up: the earlier change becomes searchable after the watermark passed it.
  fake.indexNow(late);
  const second = await pullAll(connector, first.cursor);
  expect(second.ids).toEqual([late]);
  const third = await pullAll(connector, second.cursor);
  expect(third.ids).toEqual([]);
});

test('archived contacts are reported as deletes once', async () => {
  fake = await startFakeHubSpot({ seed: { contacts: 6 } });
  const connector = createHubSpot(config(fake.url), fast);
  const full = await pullAll(connector, null);
  const victim = fake.ids('contacts')[2];
  await connector.delete('contacts', [victim]);
  const next = await pullAll(connector, full.cursor);
  expect(next.deleted).toEqual([victim]);
  expect((await pullAll(connector, next.cursor)).deleted).toEqual([]);
});

test('gdpr-delete erases the contact by email, and erasing again is not an error', async () => {
  fake = await startFakeHubSpot({ seed: { contacts: 3 } });
  const [first] = fake.state.objects.get('contacts')!.values();
  const connector = createHubSpot(config(fake.url), fast);
  await connector.erase(String(first.properties.email));
  expect(fake.ids('contacts')).not.toContain(first.id);
  expect(fake.state.gdprDeleted).toEqual([first.properties.email]);
  await expect(connector.erase(String(first.properties.email))).resolves.toBeUndefined();
  await expect(connector.erase('not-an-email')).rejects.toMatchObject({ kind: 'invalid_config' });
});

test('batch upsert splits into 100s and reports per-record errors of a 207', async () => {
  fake = await startFakeHubSpot({ seed: { contacts: 0 } });
  const records = Array.from({ length: 150 }, (_, i) => ({
    properties: { email: `b${i}@example.com`, firstname: 'B' },
  }));
  const result = await createHubSpot(config(fake.url), fast).push('contacts', [
    ...records,
    { email: 'x@example.com', favourite_colour: 'blue' },
    { firstname: 'no email' },
  ]);
  expect(result.upserted).toBe(150);
  expect(result.failed).toEqual([
    { key: '', reason: 'missing id property email' },
    { key: 'x@example.com', reason: expect.stringContaining('favourite_colour') },
  ]);
  expect(fake.ids('contacts')).toHaveLength(150);
});

test('companies are upserted by a unique property, not by domain, which companies may share', async () => {
  fake = await startFakeHubSpot({ seed: { companies: 0 } });
  const connector = createHubSpot(config(fake.url), fast);
  const companies = [
    { external_id: 'acct-1', name: 'Acme EU', domain: 'acme.example.com' },
    { external_id: 'acct-2', name: 'Acme US', domain: 'acme.example.com' },
  ];
  expect(await connector.push('companies', companies)).toEqual({ upserted: 2, failed: [] });
  expect(await connector.push('companies', companies)).toEqual({ upserted: 2, failed: [] });
  expect(fake.ids('companies')).toHaveLength(2);
  // Asking for domain anyway fails as HubSpot fails it: the whole batch, with its message.
  const byDomain = createHubSpot(config(fake.url, { idProperties: { companies: 'domain' } }), fast);
  await expect(byDomain.push('companies', companies)).rejects.toMatchObject({
    kind: 'vendor_error',
    message: expect.stringContaining('non-unique 0-2 property domain'),
  });
});

test('the DAILY policy fails at once as rate_limit, without retrying', async () => {
  fake = await startFakeHubSpot({ seed: { contacts: 1 }, dailyLimit: 1 });
  const connector = createHubSpot(config(fake.url), fast);
  await connector.pull('contacts', null).catch(() => undefined);
  const before = fake.requestCount();
  await expect(connector.pull('contacts', null)).rejects.toMatchObject({
    kind: 'rate_limit',
    message: expect.stringContaining('daily'),
  });
  expect(fake.requestCount() - before).toBe(1);
});

test('rate-limit headers are read as remaining calls in the interval', () => {
  const headers = new Headers({
    'X-HubSpot-RateLimit-Max': '190',
    'X-HubSpot-RateLimit-Remaining': '0',
    'X-HubSpot-RateLimit-Interval-Milliseconds': '10000',
  });
  expect(hubspotRateLimit(headers, 0)).toEqual({ limit: 190, remaining: 0, resetMs: 10_000 });
});

test('the v3 signature covers the URI with HubSpot-decoded characters', () => {
  const now = 1_700_000_000_000;
  const body = Buffer.from('[{"eventId":1,"portalId":5,"subscriptionType":"contact.creation","objectId":9}]');
  const encoded = 'https://api.example.com/webhooks/hubspot?email=a%40b.com';
  const signature = signatureV3(
    's3cret',
    'POST',
    'https://api.example.com/webhooks/hubspot?email=a@b.com',
    body.toString(),
    String(now),
  );
  const cfg = config('http://127.0.0.1:1', { clientSecret: 's3cret' });
  const result = hubspot.verifyWebhook(cfg, {
    method: 'POST',
    url: encoded,
    headers: { 'X-HubSpot-Signature-v3': signature, 'X-HubSpot-Request-Timestamp': String(now) },
    rawBody: body,
    now,
  });
  expect(result.events).toEqual([
    { id: 'hubspot:5:1', type: 'contact.creation', object: 'contacts', recordId: '9', payload: expect.any(Object) },
  ]);
  expect(() =>
    hubspot.verifyWebhook(
      { ...cfg, portalId: 6 },
      {
        method: 'POST',
        url: encoded,
        headers: { 'X-HubSpot-Signature-v3': signature, 'X-HubSpot-Request-Timestamp': String(now) },
        rawBody: body,
        now,
      },
    ),
  ).toThrow(/portal/);
  expect(() => hubspot.verifyWebhook(cfg, { method: 'POST', url: encoded, headers: {}, rawBody: body, now })).toThrow(
    /missing/,
  );
});

test('config errors name the field', () => {
  const result = hubspot.configSchema.safeParse({ accessToken: '', clientSecret: 'x', pageSize: 500 });
  const paths = result.success ? [] : result.error.issues.map((i) => i.path.join('.'));
  expect(paths).toEqual(expect.arrayContaining(['accessToken', 'pageSize']));
});
