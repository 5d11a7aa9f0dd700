import { connectorContract } from '../../contract/connector-contract';
import { startFakeAmplitude, type AmplitudeFake } from '@data-sync/vendor-fakes/amplitude';
import { amplitudeConfigSchema, amplitudeHosts, type AmplitudeConfig } from './config';
import { amplitude, exportHour } from './index';

const HOUR = 3_600_000;

function configFor(fake: AmplitudeFake, extra: Record<string, unknown> = {}): AmplitudeConfig {
  return amplitudeConfigSchema.parse({
    ...fake.credentials,
    baseUrl: fake.url,
    startDate: new Date(Date.now() - 4 * 86_400_000).toISOString().slice(0, 10),
    ...extra,
  });
}

let current: AmplitudeFake;

connectorContract<AmplitudeConfig>({
  name: 'amplitude',
  module: amplitude,
  object: 'events',
  startFake: async (options) => (current = await startFakeAmplitude({ seed: options.seed })),
  configFor: () => configFor(current),
  recordId: (record) => String(record.uuid),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      event_type: 'contract_push',
      user_id: `contract.${i}@push.example.com`,
      device_id: `contract-device-${i}`,
      insert_id: `contract-${i}`,
      time: 1767225600000 + i,
      event_properties: { variant },
    })),
  pushSemantics: 'first-wins',
  recordDeletes: false,
  // An upload is exported once its hour has ended and the lag (2 h) has passed.
  exposureDelayMs: 4 * HOUR,
  erasure: {
    email: (fake) => String((fake as AmplitudeFake).events.find((e) => e.user_id)!.user_id),
    erased: (fake, email) => (fake as AmplitudeFake).deletionJobs.some((job) => job.user_ids.includes(email)),
  },
});

describe('amplitude specifics', () => {
  let fake: AmplitudeFake;
  beforeEach(async () => {
    fake = await startFakeAmplitude({ seed: { events: 6 } });
  });
  afterEach(async () => fake.close());

  test('export hours are YYYYMMDDTHH in UTC, and the residency picks the hosts', () => {
    expect(exportHour((Date.parse('2026-02-01T05:59:00Z') / HOUR) | 0)).toBe('20260201T05');
    const eu = amplitudeConfigSchema.parse({ apiKey: 'k', secretKey: 's', region: 'eu' });
    expect(amplitudeHosts(eu)).toEqual({
      app: 'https://analytics.eu.amplitude.com',
      ingest: 'https://api.eu.amplitude.com',
    });
    expect(amplitudeHosts({ ...eu, region: 'us' })).toEqual({
      app: 'https://amplitude.com',
      ingest: 'https://api2.amplitude.com',
    });
  });

  test('pulled events come out of the zipped hourly files whole, in upload order', async () => {
    const page = await amplitude.create(configFor(fake, { hoursPerPage: 24 * 5 })).pull('events', null);
    expect(page.records.map((r) => r.uuid)).toEqual(fake.events.map((e) => e.uuid));
    expect(page.records[0]).toMatchObject({
      event_type: 'session_start',
      event_time: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/),
      $insert_id: 'seed-0000',
      app: 187520,
    });
  });

  test('an upload still inside the export lag waits for a later pull', async () => {
    const connector = amplitude.create(configFor(fake));
    let cursor: string | null = null;
    for (let done = false; !done;) ({ cursor, done } = await connector.pull('events', cursor));
    fake.touch('events', fake.ids('events')[0]);
    const early = await connector.pull('events', cursor);
    expect(early).toMatchObject({ records: [], done: true, cursor });
  });

  test('refused events are reported by insert id, and the rest of the upload goes again', async () => {
    const result = await amplitude.create(configFor(fake, { uploadApi: 'httpapi' })).push('events', [
      { event_type: 'ok', user_id: 'user-00001', insert_id: 'good-1' },
      { event_type: 'bad', user_id: 'x', insert_id: 'bad-1' },
    ]);
    expect(result).toEqual({
      upserted: 1,
      failed: [{ key: 'bad-1', reason: 'user_id: Invalid field values on some events' }],
    });
    expect(fake.events.filter((e) => e.$insert_id === 'good-1')).toHaveLength(1);
  });

  test('a 429 for throttled devices pauses as Amplitude asks, then the upload succeeds once', async () => {
    const sleeps: number[] = [];
    fake.failNext(429);
    const result = await amplitude
      .create(configFor(fake), { sleep: async (ms) => void sleeps.push(ms) })
      .push('events', [{ event_type: 'x', device_id: 'device-00042', insert_id: 'throttled-1' }]);
    expect(result).toEqual({ upserted: 1, failed: [] });
    expect(sleeps).toEqual([30_000]);
    expect(fake.events.filter((e) => e.$insert_id === 'throttled-1')).toHaveLength(1);
  });
});
