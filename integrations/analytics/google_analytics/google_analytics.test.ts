import { createHash } from 'crypto';
import { connectorContract } from '../../contract/connector-contract';
import { startFakeGa4, type Ga4Fake } from '@data-sync/vendor-fakes/ga4';
import { addDays } from '../shared/time';
import { googleAnalyticsConfigSchema, type GoogleAnalyticsConfig } from './config';
import { dayIn, googleAnalytics } from './index';

function configFor(fake: Ga4Fake, extra: Record<string, unknown> = {}): GoogleAnalyticsConfig {
  const { propertyId, clientEmail, privateKey, privateKeyId, measurementId, apiSecret } = fake.credentials;
  return googleAnalyticsConfigSchema.parse({
    propertyId,
    clientEmail,
    privateKey,
    privateKeyId,
    measurementId,
    apiSecret,
    startDate: addDays(dayIn('UTC', Date.now()), -10),
    tokenUrl: `${fake.url}/token`,
    dataApiUrl: fake.url,
    collectUrl: fake.url,
    userDeletionUrl: fake.url,
    ...extra,
  });
}

let current: Ga4Fake;
const LOOK_BACK = 3;

connectorContract<GoogleAnalyticsConfig>({
  name: 'google_analytics',
  module: googleAnalytics,
  object: 'metrics',
  startFake: async (options) => (current = await startFakeGa4({ seed: options.seed })),
  configFor: (_url, pageSize) => configFor(current, { pageSize, lookBackDays: LOOK_BACK }),
  recordId: (record) => String(record.id),
  // GA4 has no change tracking: every pull reads the look-back days again, whole.
  lookBackWindow: (fake) => {
    const since = addDays(dayIn('UTC', Date.now()), -LOOK_BACK).replace(/-/g, '');
    return fake.ids('metrics').filter((id) => id.split('|')[0] >= since);
  },
  pushObject: 'events',
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      client_id: `${1000 + i}.1767225600`,
      email: `contract.${i}@push.example.com`,
      name: 'contract_push',
      params: { variant, event_id: `contract-${i}` },
    })),
  pushSemantics: 'append',
  pushAuthErrors: false,
  tooManyRequests: { headers: {}, waitMs: 2000 },
  recordDeletes: false,
  erasure: {
    email: () => 'ada.lovelace.1@example.com',
    erased: (fake, email) =>
      (fake as Ga4Fake).userDeletions.some(
        (d) => d.type === 'USER_ID' && d.userId === createHash('sha256').update(email).digest('hex'),
      ),
  },
});

describe('google analytics specifics', () => {
  let fake: Ga4Fake;
  beforeEach(async () => {
    fake = await startFakeGa4({ seed: { metrics: 8 } });
  });
  afterEach(async () => fake.close());

  test('a report row becomes a record with the date, dimensions, metric values and the pull id', async () => {
    const page = await googleAnalytics.create(configFor(fake)).pull('metrics', null);
    expect(page.done).toBe(true);
    expect(page.records).toHaveLength(8);
    expect(page.records[0]).toEqual({
      id: `${page.records[0].date}|${(page.records[0].dimensions as { eventName: string }).eventName}`,
      date: expect.stringMatching(/^\d{8}$/),
      dimensions: { eventName: expect.any(String) },
      metrics: { eventCount: expect.stringMatching(/^\d+$/), activeUsers: expect.stringMatching(/^\d+$/) },
      pullId: expect.any(String),
    });
    expect(new Set(page.records.map((r) => r.pullId)).size).toBe(1);
    expect(fake.reports[0]).toMatchObject({
      dimensions: [{ name: 'date' }, { name: 'eventName' }],
      returnPropertyQuota: true,
      offset: '0',
    });
  });

  test('the Measurement Protocol validation refuses bad events before anything is sent', async () => {
    const result = await googleAnalytics.create(configFor(fake)).push('events', [
      { client_id: '1.1', name: 'good_event', params: { event_id: 'g' } },
      { client_id: '1.1', name: 'first_visit', params: { event_id: 'reserved' } },
      { name: 'no_client', params: { event_id: 'n' } },
    ]);
    expect(result.upserted).toBe(1);
    expect(result.failed).toEqual([
      { key: 'n', reason: 'client_id is required' },
      { key: 'reserved', reason: 'NAME_RESERVED: Event name first_visit is reserved.' },
    ]);
    expect(fake.collected.map((e) => e.name)).toEqual(['good_event']);
  });

  test('the access token is fetched once and reused across calls', async () => {
    const connector = googleAnalytics.create(configFor(fake));
    await connector.test();
    await connector.pull('metrics', null);
    const tokens = fake.requestCount();
    expect(tokens).toBe(3);
  });

  test('a wrong private key is an auth failure naming the JWT problem', async () => {
    const other = await startFakeGa4();
    const check = await googleAnalytics.create(configFor(fake, { privateKey: other.credentials.privateKey })).test();
    await other.close();
    expect(check).toMatchObject({ ok: false, message: expect.stringContaining('Invalid JWT Signature') });
  });
});
