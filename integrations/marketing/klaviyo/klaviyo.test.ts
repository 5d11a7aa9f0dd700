import { connectorContract } from '../../contract/connector-contract';
import { IntegrationError, WebhookRejected, type WebhookRequest } from '../../connector';
import { startFakeKlaviyo, type KlaviyoFake } from '@data-sync/vendor-fakes/klaviyo';
import { klaviyoConfigSchema, type KlaviyoConfig } from './config';
import { klaviyo, klaviyoSignature } from './index';

const SECRET = 'klaviyo-webhook-secret-0123456789';

function configFor(url: string, extra: Record<string, unknown> = {}): KlaviyoConfig {
  return klaviyoConfigSchema.parse({
    apiKey: 'pk_fake_0123456789abcdef0123456789abcdef',
    baseUrl: url,
    webhookSecret: SECRET,
    bulkPollMs: 1,
    ...extra,
  });
}

function webhookBody(n: number, webhookId = 'wh_01'): Buffer {
  return Buffer.from(
    JSON.stringify({
      data: [
        {
          topic: 'event:klaviyo.opened_email',
          external_id: `evt_${n}`,
          payload: {
            type: 'event',
            id: `evt_${n}`,
            attributes: { datetime: '2026-03-01T11:59:00+00:00', event_properties: { Subject: 'Hello' } },
            relationships: { profile: { data: { type: 'profile', id: `P${n}` } } },
          },
        },
      ],
      meta: { klaviyo_account_id: 'FakeAcct', klaviyo_webhook_id: webhookId, timestamp: '2026-03-01T12:00:00Z' },
    }),
  );
}

function signed(config: KlaviyoConfig, body: Buffer, now: number, webhookId = 'wh_01'): WebhookRequest {
  const timestamp = new Date(now).toISOString();
  return {
    method: 'POST',
    url: 'https://api.example.com/webhooks/klaviyo',
    headers: {
      'content-type': 'application/json',
      'Klaviyo-Webhook-Id': webhookId,
      'Klaviyo-Timestamp': timestamp,
      'Klaviyo-Signature': klaviyoSignature(config.webhookSecret ?? '', body, timestamp),
    },
    rawBody: body,
    now,
  };
}

connectorContract<KlaviyoConfig>({
  name: 'klaviyo',
  module: klaviyo,
  object: 'profiles',
  startFake: (options) => startFakeKlaviyo({ seed: options.seed, pageSize: options.pageSize }),
  configFor: (url, pageSize) => configFor(url, { pageSize }),
  deletes: 'sweep',
  recordId: (record) => String(record.id),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      email: `contract.${i}@push.example.com`,
      first_name: `Push${i}`,
      last_name: `Variant${variant}`,
    })),
  webhook: {
    body: (_config, n) => webhookBody(n),
    sign: signed,
    forgedConfig: (config) => ({ ...config, webhookSecret: 'an-attacker-guessed-secret-value' }),
    replay: 'timestamp',
  },
});

describe('klaviyo specifics', () => {
  let fake: KlaviyoFake;
  afterEach(async () => {
    await fake?.close();
  });

  test('every call carries the API key scheme and the pinned revision header', async () => {
    fake = await startFakeKlaviyo({ seed: { profiles: 3 } });
    await klaviyo.create(configFor(fake.url, { revision: '2026-01-15' })).pull('profiles', null);
    expect([...fake.state.revisions]).toEqual(['2026-01-15']);
  });

  test('the default revision is a current one: profiles and events pull with it, a retired revision answers 410', async () => {
    fake = await startFakeKlaviyo({ seed: { profiles: 3, email_open: 3 } });
    const current = klaviyo.create(configFor(fake.url));
    expect((await current.pull('profiles', null)).records).toHaveLength(3);
    expect((await current.pull('email_open', null)).records).toHaveLength(3);
    expect(fake.state.violations).toEqual([]);
    const retired = klaviyo.create(configFor(fake.url, { revision: '2024-10-15' }));
    await expect(retired.pull('profiles', null)).rejects.toMatchObject({
      kind: 'vendor_error',
      status: 410,
      message: expect.stringContaining('retired'),
    });
  });

  test('an endpoint with a lower documented budget is paced to it (deletion jobs: 3/s)', async () => {
    fake = await startFakeKlaviyo({ seed: { profiles: 7 }, apiKey: 'pk_deletions_0123456789' });
    const config = klaviyoConfigSchema.parse({ apiKey: 'pk_deletions_0123456789', baseUrl: fake.url });
    await klaviyo.create(config).delete('profiles', fake.ids('profiles'));
    expect(fake.ids('profiles')).toEqual([]);
    expect(fake.state.throttled).toBe(0);
  });

  test('windows the vendor declares in RateLimit-Limit lower the documented budget', async () => {
    fake = await startFakeKlaviyo({ seed: { profiles: 12 }, burst: 2, steady: 100, apiKey: 'pk_declared_0123456789' });
    const connector = klaviyo.create(
      klaviyoConfigSchema.parse({ apiKey: 'pk_declared_0123456789', baseUrl: fake.url, pageSize: 2 }),
    );
    let cursor: string | null = null;
    let pages = 0;
    for (let done = false; !done; pages++) ({ cursor, done } = await connector.pull('profiles', cursor));
    expect(pages).toBe(6);
    expect(fake.state.throttled).toBe(0);
  });

  test('a request outside the OpenAPI description is refused and recorded', async () => {
    fake = await startFakeKlaviyo({ seed: { profiles: 1 } });
    const response = await fetch(`${fake.url}/api/profiles?page[size]=500`, {
      headers: { authorization: `Klaviyo-API-Key ${fake.apiKey}`, revision: '2026-07-15' },
    });
    expect(response.status).toBe(400);
    expect(fake.state.violations).toEqual([expect.stringContaining('page[size]=500')]);
  });

  test('pulls a metric object as that metric’s events, found by name, and then only new events', async () => {
    fake = await startFakeKlaviyo({ seed: { profiles: 4, email_open: 9, email_click: 3 } });
    const connector = klaviyo.create(configFor(fake.url, { pageSize: 4 }));
    const ids: string[] = [];
    let cursor: string | null = null;
    for (;;) {
      const page = await connector.pull('email_open', cursor);
      ids.push(...page.records.map((r) => String(r.id)));
      expect(page.records.every((r) => (r.relationships as any).metric.data.id === fake.metricId('email_open'))).toBe(
        true,
      );
      cursor = page.cursor;
      if (page.done) break;
    }
    expect(ids.sort()).toEqual(fake.ids('email_open').sort());
    fake.touch('email_open', ids[0]);
    const next = await connector.pull('email_open', cursor);
    expect(next.records).toHaveLength(1);
    expect(next.records[0].id).not.toBe(ids[0]);
  });

  test('an unknown metric object is an invalid_config error naming it', async () => {
    fake = await startFakeKlaviyo({ seed: { profiles: 1 } });
    await expect(klaviyo.create(configFor(fake.url)).pull('page_view', null)).rejects.toMatchObject({
      kind: 'invalid_config',
      message: expect.stringContaining('"page_view"'),
    });
  });

  test('large pushes run as bulk import jobs and report the rejected profiles by key', async () => {
    fake = await startFakeKlaviyo({ seed: { profiles: 0 } });
    const records = Array.from({ length: 12 }, (_, i) => ({
      email: i === 4 ? 'broken@' : `bulk.${i}@example.com`,
      first_name: `B${i}`,
    }));
    const result = await klaviyo
      .create(configFor(fake.url, { bulkThreshold: 10, bulkSize: 5 }))
      .push('profiles', records);
    expect(result.upserted).toBe(11);
    expect(result.failed).toEqual([{ key: 'broken@', reason: expect.stringContaining('Invalid email') }]);
    expect(fake.state.bulkJobs.size).toBe(3);
    expect(fake.ids('profiles')).toHaveLength(11);
  });

  test('a profile without any identifier fails alone', async () => {
    fake = await startFakeKlaviyo({ seed: { profiles: 0 } });
    const result = await klaviyo
      .create(configFor(fake.url))
      .push('profiles', [{ first_name: 'Nobody' }, { email: 'some@example.com' }]);
    expect(result).toEqual({ upserted: 1, failed: [{ key: '#0', reason: expect.stringContaining('required') }] });
  });

  test('erase files a data-privacy deletion job by email; events cannot be deleted', async () => {
    fake = await startFakeKlaviyo({ seed: { profiles: 0 } });
    const connector = klaviyo.create(configFor(fake.url));
    await connector.push('profiles', [{ email: 'forget.me@example.com' }]);
    await connector.erase('forget.me@example.com');
    expect(fake.state.deletionRequests).toEqual([{ type: 'profile', attributes: { email: 'forget.me@example.com' } }]);
    expect(fake.ids('profiles')).toEqual([]);
    await expect(connector.delete('email_open', ['x'])).rejects.toBeInstanceOf(IntegrationError);
  });

  test('paces calls to the account tier so the vendor never has to throttle', async () => {
    // The fake's windows count arrival times; a little headroom absorbs scheduling jitter on a busy machine.
    fake = await startFakeKlaviyo({ seed: { profiles: 0 }, burst: 8, steady: 400, apiKey: 'pk_paced_0123456789' });
    const config = klaviyoConfigSchema.parse({
      apiKey: 'pk_paced_0123456789',
      baseUrl: fake.url,
      burstPerSecond: 6,
      steadyPerMinute: 360,
    });
    const records = Array.from({ length: 12 }, (_, i) => ({ email: `paced.${i}@example.com` }));
    expect(await klaviyo.create(config).push('profiles', records)).toEqual({ upserted: 12, failed: [] });
    expect(fake.state.throttled).toBe(0);
  });

  test('a stored next link to another host is refused instead of followed with the API key', async () => {
    fake = await startFakeKlaviyo({ seed: { profiles: 1 } });
    const evil = Buffer.from(
      JSON.stringify({ mark: { ts: null, seen: [] }, next: 'https://evil.example.com/api/profiles' }),
    ).toString('base64url');
    await expect(klaviyo.create(configFor(fake.url)).pull('profiles', evil)).rejects.toMatchObject({
      kind: 'invalid_config',
    });
  });

  describe('webhooks', () => {
    const config = configFor('http://127.0.0.1:1');
    const now = Date.parse('2026-05-01T08:00:00Z');

    test('returns each event with its external id, topic and profile', () => {
      expect(klaviyo.verifyWebhook(config, signed(config, webhookBody(7), now)).events).toEqual([
        {
          id: 'evt_7',
          type: 'event:klaviyo.opened_email',
          object: 'events',
          recordId: 'P7',
          payload: expect.objectContaining({ id: 'evt_7' }),
        },
      ]);
    });

    test('accepts epoch-second timestamps too', () => {
      const body = webhookBody(8);
      const timestamp = String(Math.floor(now / 1000));
      const request = {
        ...signed(config, body, now),
        headers: {
          'Klaviyo-Webhook-Id': 'wh_01',
          'Klaviyo-Timestamp': timestamp,
          'Klaviyo-Signature': klaviyoSignature(SECRET, body, timestamp),
        },
      };
      expect(klaviyo.verifyWebhook(config, request).events).toHaveLength(1);
    });

    test('refuses a body whose webhook id does not match the header, or another webhook than configured', () => {
      expect(() => klaviyo.verifyWebhook(config, signed(config, webhookBody(9, 'wh_other'), now))).toThrow(
        /klaviyo_webhook_id/,
      );
      expect(() =>
        klaviyo.verifyWebhook({ ...config, webhookId: 'wh_02' }, signed(config, webhookBody(10), now)),
      ).toThrow(WebhookRejected);
    });

    test('refuses unsigned deliveries', () => {
      const request = signed(config, webhookBody(11), now);
      expect(() =>
        klaviyo.verifyWebhook(config, {
          ...request,
          headers: { 'Klaviyo-Timestamp': request.headers['Klaviyo-Timestamp'] },
        }),
      ).toThrow(/required/);
    });
  });
});
