import { createHash } from 'crypto';
import { connectorContract } from '../../contract/connector-contract';
import { IntegrationError, WebhookRejected, type WebhookRequest } from '../../connector';
import { startFakeMailchimp, type MailchimpFake } from '@data-sync/vendor-fakes/mailchimp';
import { apiRoot, mailchimpConfigSchema, type MailchimpConfig } from './config';
import { mailchimp, subscriberHash } from './index';

const SECRET = 'mailchimp-webhook-secret-0123456789';

function configFor(fake: { url: string; apiKey?: string }, extra: Record<string, unknown> = {}): MailchimpConfig {
  return mailchimpConfigSchema.parse({
    apiKey: fake.apiKey ?? 'fake0000000000000000000000000000-us6',
    baseUrl: fake.url,
    webhookSecret: SECRET,
    batchPollMs: 1,
    ...extra,
  });
}

function firedAt(now: number): string {
  return new Date(now).toISOString().slice(0, 19).replace('T', ' ');
}

function webhookBody(n: number, type = 'subscribe', firedAtText = '2026-03-01 12:00:00'): Buffer {
  const email = `hook.${n}@example.com`;
  return Buffer.from(
    new URLSearchParams({
      type,
      fired_at: firedAtText,
      'data[id]': subscriberHash(email),
      'data[email]': email,
      'data[email_type]': 'html',
      'data[list_id]': 'a6b5da1054',
      'data[merges][FNAME]': `Hook${n}`,
      'data[merges][LNAME]': 'Tester',
    }).toString(),
  );
}

function signed(config: MailchimpConfig, body: Buffer, now: number): WebhookRequest {
  // Mailchimp sends fired_at with the delivery; a request "sent at now" carries now's fired_at.
  const text = body.toString('utf8');
  const rawBody = /(^|&)fired_at=/.test(text)
    ? Buffer.from(text.replace(/fired_at=[^&]*/, `fired_at=${encodeURIComponent(firedAt(now))}`))
    : body;
  return {
    method: 'POST',
    url: `https://api.example.com/webhooks/mailchimp?secret=${encodeURIComponent(config.webhookSecret ?? '')}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'MailChimp' },
    rawBody,
    now,
  };
}

connectorContract<MailchimpConfig>({
  name: 'mailchimp',
  module: mailchimp,
  object: 'newsletter',
  startFake: (options) => startFakeMailchimp({ seed: options.seed }),
  configFor: (url, pageSize) => configFor({ url }, { pageSize }),
  recordId: (record) => String(record.id),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      email_address: `contract.${i}@push.example.com`,
      merge_fields: { FNAME: `Push${i}`, LNAME: `Variant${variant}` },
    })),
  webhook: {
    body: (_config, n) => webhookBody(n),
    sign: signed,
    forgedConfig: (config) => ({ ...config, webhookSecret: 'an-attacker-guessed-secret-value' }),
    // Deliveries are not signed and Mailchimp retries them: repeats are recognised by event id.
    replay: 'event-id',
    // The body carries no signature, so the URL's secret is the only thing an attacker can get wrong.
    tamper: (request) => ({ ...request, url: request.url.replace(/secret=[^&]*/, 'secret=tampered') }),
  },
});

describe('mailchimp specifics', () => {
  let fake: MailchimpFake;
  afterEach(async () => {
    await fake?.close();
  });

  test('the API host comes from the key suffix unless overridden', () => {
    expect(apiRoot(mailchimpConfigSchema.parse({ apiKey: 'abc123-us19' }))).toBe('https://us19.api.mailchimp.com/3.0');
    expect(apiRoot(mailchimpConfigSchema.parse({ apiKey: 'abc123-us19', baseUrl: 'http://127.0.0.1:9/' }))).toBe(
      'http://127.0.0.1:9/3.0',
    );
    expect(() => mailchimpConfigSchema.parse({ apiKey: 'no-suffix-here!' })).toThrow(/data centre/);
  });

  test('never has more than 10 calls in flight per API key, even across connector instances', async () => {
    fake = await startFakeMailchimp({ latencyMs: 30, seed: { newsletter: 0 } });
    const config = configFor(fake);
    const records = (prefix: string) =>
      Array.from({ length: 30 }, (_, i) => ({ email_address: `${prefix}.${i}@example.com` }));
    const [a, b] = await Promise.all([
      mailchimp.create(config).push('newsletter', records('a')),
      mailchimp.create(config).push('newsletter', records('b')),
    ]);
    expect(a).toEqual({ upserted: 30, failed: [] });
    expect(b).toEqual({ upserted: 30, failed: [] });
    expect(fake.state.peakConnections).toBeLessThanOrEqual(10);
    expect(fake.state.peakConnections).toBeGreaterThan(1);
  });

  test('large pushes go through POST /batches and report per-record failures from the results archive', async () => {
    fake = await startFakeMailchimp({ seed: { newsletter: 0 } });
    const config = configFor(fake, { batchThreshold: 10, batchSize: 8 });
    const records = Array.from({ length: 20 }, (_, i) => ({
      email_address: i === 5 ? 'not-an-email' : `bulk.${i}@example.com`,
      merge_fields: { FNAME: `B${i}` },
    }));
    const result = await mailchimp.create(config).push('newsletter', records);
    expect(result.upserted).toBe(19);
    expect(result.failed).toEqual([{ key: 'not-an-email', reason: expect.stringContaining('valid email') }]);
    expect(fake.state.batches.size).toBe(3);
    expect(fake.members('newsletter').map((m) => m.email_address)).toContain('bulk.19@example.com');
    const putCalls = fake.state.batches.values().next().value!.operations;
    expect(putCalls[0]).toMatchObject({
      method: 'PUT',
      path: `/lists/${fake.listId('newsletter')}/members/${subscriberHash('bulk.0@example.com')}`,
    });
    expect(JSON.parse(putCalls[0].body!)).toMatchObject({
      status_if_new: 'subscribed',
      email_address: 'bulk.0@example.com',
    });
  });

  test('status_if_new applies to new members only; an existing status is kept', async () => {
    fake = await startFakeMailchimp({ seed: { newsletter: 0 } });
    const connector = mailchimp.create(configFor(fake, { statusIfNew: 'pending' }));
    await connector.push('newsletter', [{ email_address: 'Mixed.Case@Example.com' }]);
    expect(fake.members('newsletter')).toMatchObject([
      { email_address: 'Mixed.Case@Example.com', status: 'pending', id: subscriberHash('mixed.case@example.com') },
    ]);
    await connector.push('newsletter', [
      { email_address: 'mixed.case@example.com', status_if_new: 'subscribed', merge_fields: { FNAME: 'M' } },
    ]);
    expect(fake.members('newsletter')).toMatchObject([{ status: 'pending', merge_fields: { FNAME: 'M' } }]);
  });

  test('a record without an email fails alone; the others are pushed', async () => {
    fake = await startFakeMailchimp({ seed: { newsletter: 0 } });
    const result = await mailchimp
      .create(configFor(fake))
      .push('newsletter', [{ merge_fields: {} }, { email_address: 'ok@example.com' }]);
    expect(result).toEqual({ upserted: 1, failed: [{ key: '#0', reason: 'email_address is required' }] });
  });

  test('erase permanently deletes the subscriber from every audience, and Mailchimp then refuses to re-add them', async () => {
    fake = await startFakeMailchimp({ seed: { newsletter: 0, product_updates: 0 } });
    const connector = mailchimp.create(configFor(fake));
    await connector.push('newsletter', [{ email_address: 'gone@example.com' }]);
    await connector.push('product_updates', [{ email_address: 'gone@example.com' }]);
    await connector.erase('Gone@Example.com');
    expect(fake.members('newsletter')).toEqual([]);
    expect(fake.members('product_updates')).toEqual([]);
    const again = await connector.push('newsletter', [{ email_address: 'gone@example.com' }]);
    expect(again.failed).toEqual([
      { key: 'gone@example.com', reason: expect.stringContaining('Forgotten Email Not Subscribed') },
    ]);
    await expect(connector.erase('never-there@example.com')).resolves.toBeUndefined();
  });

  // Mailchimp does not document whether an unfiltered member list includes archived members.
  test.each([true, false])(
    'archived members come back from the incremental pull as deletes, once (archived in unfiltered lists: %s)',
    async (archivedInUnfiltered) => {
      fake = await startFakeMailchimp({ seed: { newsletter: 5 }, archivedInUnfiltered });
      const connector = mailchimp.create(configFor(fake));
      const first = await connector.pull('newsletter', null);
      expect(first.records).toHaveLength(5);
      const victim = String(first.records[2].id);
      await connector.delete('newsletter', [victim, victim]);
      const next = await connector.pull('newsletter', first.cursor);
      expect(next).toMatchObject({ records: [], deletedIds: [victim], done: true });
      expect(await connector.pull('newsletter', next.cursor)).toMatchObject({
        records: [],
        deletedIds: [],
        done: true,
      });
    },
  );

  test('pages through more same-second changes than fit in one page without gaps or repeats', async () => {
    fake = await startFakeMailchimp({ seed: { newsletter: 23 } });
    const connector = mailchimp.create(configFor(fake, { pageSize: 2 }));
    const ids: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 50; i++) {
      const page = await connector.pull('newsletter', cursor);
      ids.push(...page.records.map((r) => String(r.id)));
      cursor = page.cursor;
      if (page.done) break;
    }
    expect(new Set(ids).size).toBe(23);
    expect(ids).toHaveLength(23);
    const calls = fake.state.lists.get(fake.listId('newsletter'))!;
    expect(calls.members.size).toBe(23);
  });

  test('a corrupt cursor is a clear error', async () => {
    fake = await startFakeMailchimp({ seed: { newsletter: 1 } });
    await expect(mailchimp.create(configFor(fake)).pull('newsletter', 'garbage')).rejects.toMatchObject({
      kind: 'invalid_config',
    });
  });

  test('an unknown audience name is an invalid_config error naming it', async () => {
    fake = await startFakeMailchimp({ seed: { newsletter: 1 } });
    const error = await mailchimp
      .create(configFor(fake))
      .pull('vip', null)
      .catch((e) => e);
    expect(error).toBeInstanceOf(IntegrationError);
    expect(error).toMatchObject({ kind: 'invalid_config', message: expect.stringContaining('"vip"') });
  });

  describe('webhooks', () => {
    const config = configFor({ url: 'http://127.0.0.1:1' });
    const now = Date.parse('2026-05-01T08:00:00Z');

    test('answers the GET validation request with 200 and no events', () => {
      const result = mailchimp.verifyWebhook(config, { ...signed(config, Buffer.alloc(0), now), method: 'GET' });
      expect(result).toEqual({ events: [], response: { status: 200, contentType: 'text/plain', body: '' } });
      expect(() =>
        mailchimp.verifyWebhook(config, {
          ...signed(config, Buffer.alloc(0), now),
          method: 'GET',
          url: 'https://api.example.com/webhooks/mailchimp',
        }),
      ).toThrow(WebhookRejected);
    });

    test('parses the form-encoded event into a nested payload with the member id', () => {
      const result = mailchimp.verifyWebhook(config, signed(config, webhookBody(101, 'profile'), now));
      expect(result.events).toEqual([
        {
          id: createHash('sha256')
            .update(signed(config, webhookBody(101, 'profile'), now).rawBody)
            .digest('hex'),
          type: 'profile',
          object: 'a6b5da1054',
          recordId: subscriberHash('hook.101@example.com'),
          payload: expect.objectContaining({
            data: expect.objectContaining({ merges: { FNAME: 'Hook101', LNAME: 'Tester' } }),
          }),
        },
      ]);
    });

    test('a form field that names a prototype property is refused and changes no object of the process', () => {
      for (const field of [
        'data[__proto__][portalId]',
        'data[constructor][prototype][portalId]',
        '__proto__[portalId]',
      ]) {
        const body = Buffer.from(
          `type=profile&fired_at=2026-05-01+07:59:00&${encodeURIComponent(field)}=1&data[email]=a%40x.io`,
        );
        expect(() => mailchimp.verifyWebhook(config, signed(config, body, now))).toThrow(
          /names (__proto__|constructor)/,
        );
      }
      expect(({} as Record<string, unknown>).portalId).toBeUndefined();
    });

    test('refuses deliveries fired outside the allowed window and unknown event types', () => {
      const old = signed(config, webhookBody(102), now - 27 * 60 * 60_000);
      expect(() => mailchimp.verifyWebhook(config, { ...old, now })).toThrow(/older/);
      expect(() =>
        mailchimp.verifyWebhook(
          { ...config, webhookMaxAgeMs: 60 * 60_000 },
          { ...signed(config, webhookBody(105), now - 2 * 60 * 60_000), now },
        ),
      ).toThrow(/older/);
      expect(() => mailchimp.verifyWebhook(config, signed(config, webhookBody(103, 'hack'), now))).toThrow(
        WebhookRejected,
      );
    });

    test('without a configured secret every delivery is refused', () => {
      const open = { ...config, webhookSecret: undefined };
      expect(() => mailchimp.verifyWebhook(open, signed(config, webhookBody(104), now))).toThrow(/not configured/);
    });
  });
});

test('a bad config is an invalid_config error naming the field', () => {
  expect(() => mailchimp.create({ apiKey: 'abc-us6', pageSize: 5000 } as unknown as MailchimpConfig)).toThrow(
    expect.objectContaining({ kind: 'invalid_config', message: expect.stringContaining('pageSize') }),
  );
});

test('an upemail event names the member by its new id', () => {
  const config = configFor({ url: 'http://127.0.0.1:1' });
  const now = Date.parse('2026-05-02T08:00:00Z');
  const body = Buffer.from(
    new URLSearchParams({
      type: 'upemail',
      fired_at: '2026-05-02 08:00:00',
      'data[list_id]': 'a6b5da1054',
      'data[new_id]': subscriberHash('new@example.com'),
      'data[new_email]': 'new@example.com',
      'data[old_email]': 'old@example.com',
    }).toString(),
  );
  const [event] = mailchimp.verifyWebhook(config, signed(config, body, now)).events;
  expect(event).toMatchObject({ type: 'upemail', recordId: subscriberHash('new@example.com') });
});
