import { connectorContract } from '../../contract/connector-contract';
import { IntegrationError } from '../../connector';
import { startFakeMixpanel, type MixpanelFake } from '@data-sync/vendor-fakes/mixpanel';
import { addDays, utcDay } from '../shared/time';
import { mixpanelConfigSchema, mixpanelHosts, type MixpanelConfig } from './config';
import { mixpanel } from './index';

function configFor(fake: MixpanelFake, extra: Record<string, unknown> = {}): MixpanelConfig {
  const c = fake.credentials;
  return mixpanelConfigSchema.parse({
    serviceAccountUsername: c.username,
    serviceAccountSecret: c.secret,
    projectId: c.projectId,
    projectToken: c.projectToken,
    gdprToken: c.gdprToken,
    baseUrl: fake.url,
    startDate: addDays(utcDay(Date.now()), -4),
    ...extra,
  });
}

let current: MixpanelFake;

connectorContract<MixpanelConfig>({
  name: 'mixpanel',
  module: mixpanel,
  object: 'events',
  startFake: async (options) => (current = await startFakeMixpanel({ seed: options.seed })),
  configFor: () => configFor(current),
  recordId: (record) => String((record.properties as { $insert_id: string }).$insert_id),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      event: 'Contract push',
      properties: {
        time: 1767225600 + i,
        distinct_id: `contract.${i}@push.example.com`,
        $insert_id: `contract-${i}`,
        variant,
      },
    })),
  // Mixpanel's 429 carries no Retry-After; the export API's budget is 60 queries an hour.
  tooManyRequests: { headers: {}, waitMs: 60_000 },
  recordDeletes: false,
  erasure: {
    email: (fake) => String((fake as MixpanelFake).profiles.values().next().value!.$email),
    erased: (fake, email) => (fake as MixpanelFake).deletions.some((d) => d.distinct_ids.includes(email)),
  },
});

describe('mixpanel specifics', () => {
  let fake: MixpanelFake;
  beforeEach(async () => {
    fake = await startFakeMixpanel({ seed: { events: 9 } });
  });
  afterEach(async () => fake.close());

  test('the residency picks the export, ingestion and application hosts', () => {
    const eu = mixpanelConfigSchema.parse({
      serviceAccountUsername: 'u',
      serviceAccountSecret: 's',
      projectId: 1,
      projectToken: 't',
      region: 'eu',
    });
    expect(mixpanelHosts(eu)).toEqual({
      data: 'https://data-eu.mixpanel.com',
      api: 'https://api-eu.mixpanel.com',
      app: 'https://eu.mixpanel.com',
    });
    expect(mixpanelHosts({ ...eu, region: 'us' })).toEqual({
      data: 'https://data.mixpanel.com',
      api: 'https://api.mixpanel.com',
      app: 'https://mixpanel.com',
    });
  });

  test('strict import reports each refused event by insert id and imports the rest', async () => {
    const result = await mixpanel.create(configFor(fake)).push('events', [
      { event: 'ok', properties: { time: 1767225600, distinct_id: 'a', $insert_id: 'good-1' } },
      { event: 'bad', properties: { time: 'yesterday', distinct_id: 'a', $insert_id: 'bad-1' } },
    ]);
    expect(result).toEqual({
      upserted: 1,
      failed: [
        {
          key: 'bad-1',
          reason: "properties.time: 'properties.time' is invalid: must be specified as seconds since epoch",
        },
      ],
    });
  });

  test('profiles are set through Engage with the project token', async () => {
    const result = await mixpanel
      .create(configFor(fake))
      .push('profiles', [{ distinct_id: 'ada@example.com', $email: 'ada@example.com', plan: 'team' }]);
    expect(result).toEqual({ upserted: 1, failed: [] });
    expect(fake.profiles.get('ada@example.com')).toMatchObject({ plan: 'team' });
    const wrongToken = await mixpanel
      .create(configFor(fake, { projectToken: 'nope' }))
      .push('profiles', [{ distinct_id: 'x' }]);
    expect(wrongToken.failed).toEqual([{ key: 'x', reason: 'token, missing or empty' }]);
  });

  test('timestamps come in ms, and a late event is found only within the look-back days', async () => {
    const connector = mixpanel.create(configFor(fake, { lookBackDays: 0 }));
    const pullAll = async (cursor: string | null) => {
      const seen: Record<string, unknown>[] = [];
      for (let done = false; !done;) {
        const page = await connector.pull('events', cursor);
        seen.push(...page.records);
        ({ cursor, done } = page);
      }
      return { seen, cursor };
    };
    const full = await pullAll(null);
    expect(full.seen).toHaveLength(9);
    expect((full.seen[0].properties as { time: number }).time).toBeGreaterThan(1e12);
    // The oldest event is three days old: a look-back of 0 days reads today only, so it is not found again.
    const [oldest] = fake.ids('events');
    fake.touch('events', oldest);
    expect((await pullAll(full.cursor)).seen).toEqual([]);
  });

  test('erase without a GDPR token, an unknown object and a foreign cursor are clear errors', async () => {
    const connector = mixpanel.create(configFor(fake, { gdprToken: undefined }));
    await expect(connector.erase('a@b.co')).rejects.toThrow('erasure needs gdprToken');
    await expect(connector.pull('funnels', null)).rejects.toThrow('unknown object "funnels": Mixpanel syncs events');
    await expect(connector.pull('events', 'garbage')).rejects.toBeInstanceOf(IntegrationError);
    expect(() => mixpanel.create({ serviceAccountUsername: 'u' } as never)).toThrow(/serviceAccountSecret/);
  });
});
