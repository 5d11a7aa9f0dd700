import { generateKeyPairSync, sign, type KeyObject } from 'crypto';
import { connectorContract } from '../../contract/connector-contract';
import { WebhookRejected, type WebhookRequest } from '../../connector';
import { sharedWindowBudget } from '../../http/rate-windows';
import { startFakeConstantContact, type ConstantContactFake } from '@data-sync/vendor-fakes/constant_contact';
import { constantContactConfigSchema, type ConstantContactConfig } from './config';
import { constantContact } from './index';

function keyPair(kid: string): {
  kid: string;
  privateKey: KeyObject;
  jwk: { kty: string; kid: string; n?: string; [field: string]: unknown };
} {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    kid,
    privateKey,
    jwk: { ...publicKey.export({ format: 'jwk' }), kty: 'RSA', kid, alg: 'RS256', use: 'sig' },
  };
}

const REAL = keyPair('ctct-1');
const ATTACKER = keyPair('ctct-1');

function configFor(
  fake: { url: string; clientId?: string; refreshToken?: string },
  extra: Record<string, unknown> = {},
): ConstantContactConfig {
  return constantContactConfigSchema.parse({
    clientId: fake.clientId ?? 'fake-client-id',
    clientSecret: 'fake-client-secret',
    refreshToken: fake.refreshToken ?? 'fake-refresh-token-0',
    baseUrl: fake.url,
    tokenUrl: `${fake.url}/oauth2/default/v1/token`,
    listIds: ['LIST_PLACEHOLDER'],
    webhookJwks: { keys: [REAL.jwk] },
    bulkPollMs: 1,
    // Fakes below lift the 4-per-second limit; the pacing test sets both back to it.
    requestsPerSecond: 1000,
    ...extra,
  });
}

function webhookBody(n: number): Buffer {
  return Buffer.from(
    JSON.stringify({ url: `https://api.cc.email/v3/partner/accounts/acct-${n}/plan`, event_type: 'tier.increase' }),
  );
}

function signed(config: ConstantContactConfig, body: Buffer, now: number): WebhookRequest {
  const key = config.webhookJwks?.keys[0]?.n === REAL.jwk.n ? REAL : ATTACKER;
  const header = Buffer.from(
    JSON.stringify({ alg: 'RS256', kid: key.kid, ts: Math.floor(now / 1000), b64: false, crit: ['b64'] }),
  ).toString('base64url');
  const signature = sign('sha256', Buffer.concat([Buffer.from(`${header}.`), body]), key.privateKey).toString(
    'base64url',
  );
  return {
    method: 'POST',
    url: 'https://api.example.com/webhooks/constant_contact',
    headers: { 'content-type': 'application/json', 'X-CTCT-WEBHOOK-SIG': `${header}..${signature}` },
    rawBody: body,
    now,
  };
}

let listId = '';

connectorContract<ConstantContactConfig>({
  name: 'constant_contact',
  module: constantContact,
  object: 'contacts',
  startFake: async (options) => {
    // The contract runs with an instant sleep, so the fake's 4-per-second window is lifted here;
    // pacing is tested below against the real clock.
    const fake = await startFakeConstantContact({ seed: options.seed, pageSize: options.pageSize, perSecond: 10_000 });
    listId = fake.listId('Newsletter');
    return fake;
  },
  configFor: (url, pageSize) => configFor({ url }, { pageSize, listIds: [listId] }),
  recordId: (record) => String(record.contact_id),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      email_address: `contract.${i}@push.example.com`,
      first_name: `Push${i}`,
      last_name: `Variant${variant}`,
    })),
  tooManyRequests: { headers: { 'Retry-After': '2' }, waitMs: 2000 },
  webhook: {
    body: (_config, n) => webhookBody(n),
    sign: signed,
    forgedConfig: (config) => ({ ...config, webhookJwks: { keys: [ATTACKER.jwk] } }),
    replay: 'timestamp',
  },
});

describe('constant contact specifics', () => {
  let fake: ConstantContactFake;
  afterEach(async () => {
    await fake?.close();
  });

  test('refreshes an expired access token once and continues; rotated refresh tokens are kept', async () => {
    fake = await startFakeConstantContact({ seed: { contacts: 3 }, rotateRefreshTokens: true, perSecond: 1000 });
    const config = configFor(fake, { listIds: [fake.listId('Newsletter')] });
    const connector = constantContact.create(config);
    await connector.pull('contacts', null);
    expect(fake.state.tokenGrants).toBe(1);
    fake.expireAccessTokens();
    await connector.pull('contacts', null);
    expect(fake.state.tokenGrants).toBe(2);
    // A new instance (same process) uses the rotated refresh token, not the spent original.
    fake.expireAccessTokens();
    await expect(constantContact.create(config).pull('contacts', null)).resolves.toMatchObject({ done: true });
    expect(fake.state.tokenGrants).toBe(3);
  });

  test('a revoked refresh token is an auth error that says to reauthorize', async () => {
    fake = await startFakeConstantContact({ seed: { contacts: 1 }, perSecond: 1000 });
    fake.revokeAuth();
    const error = await constantContact
      .create(configFor(fake))
      .pull('contacts', null)
      .catch((e) => e);
    expect(error).toMatchObject({ kind: 'auth', message: expect.stringContaining('invalid_grant') });
  });

  test('PKCE apps refresh with the client id and no secret', async () => {
    fake = await startFakeConstantContact({ seed: { contacts: 1 }, perSecond: 1000 });
    const config = configFor(fake, { clientSecret: undefined });
    await expect(constantContact.create(config).test()).resolves.toMatchObject({ ok: true });
  });

  test('deleted contacts come back from the next pull as deletes', async () => {
    fake = await startFakeConstantContact({ seed: { contacts: 4 }, perSecond: 1000 });
    const connector = constantContact.create(configFor(fake));
    const first = await connector.pull('contacts', null);
    const victim = String(first.records[1].contact_id);
    await connector.delete('contacts', [victim, victim]);
    const next = await connector.pull('contacts', first.cursor);
    expect(next).toMatchObject({ records: [], deletedIds: [victim], done: true });
  });

  test('large pushes run as a JSON import activity and map failed lines back to emails', async () => {
    fake = await startFakeConstantContact({ seed: { contacts: 0 }, perSecond: 1000 });
    const connector = constantContact.create(
      configFor(fake, { listIds: [fake.listId('Newsletter')], bulkThreshold: 5 }),
    );
    const records = Array.from({ length: 8 }, (_, i) => ({
      email_address: i === 2 ? 'bad-address' : `bulk.${i}@example.com`,
      first_name: `B${i}`,
    }));
    const result = await connector.push('contacts', records);
    expect(result).toEqual({
      upserted: 7,
      failed: [{ key: 'bad-address', reason: expect.stringContaining('invalid') }],
    });
    expect(fake.state.activities.size).toBe(1);
    expect(fake.ids('contacts')).toHaveLength(7);
  });

  test('imports send the import shape: phone, flat address fields, cf:<name> custom fields, so nothing is dropped', async () => {
    fake = await startFakeConstantContact({ seed: { contacts: 0 }, perSecond: 1000 });
    const connector = constantContact.create(
      configFor(fake, { listIds: [fake.listId('Newsletter')], bulkThreshold: 2 }),
    );
    const colour = fake.state.customFields[0].custom_field_id;
    const records = [
      {
        email_address: 'a@example.com',
        phone_number: '555-555-0001',
        street_address: {
          kind: 'work',
          street: '1 Main St',
          city: 'Springfield',
          state: 'IL',
          postal_code: '62701',
          country: 'US',
        },
        custom_fields: [{ custom_field_id: colour, value: 'teal' }],
      },
      {
        email_address: 'b@example.com',
        phone_number: '555-555-0002',
        street_address: { kind: 'home', street: '2 Elm St', city: 'Shelbyville', postal_code: '62565' },
      },
    ];
    expect(await connector.push('contacts', records)).toEqual({ upserted: 2, failed: [] });
    expect(fake.state.droppedImportFields).toEqual(new Set());
    const [a, b] = [...fake.state.contacts.values()].sort((x, y) =>
      x.email_address.address.localeCompare(y.email_address.address),
    );
    expect(a).toMatchObject({
      phone_numbers: [{ phone_number: '555-555-0001' }],
      street_addresses: [
        { kind: 'work', street: '1 Main St', city: 'Springfield', state: 'IL', postal_code: '62701', country: 'US' },
      ],
      custom_fields: [{ custom_field_id: colour, value: 'teal' }],
    });
    expect(b).toMatchObject({
      phone_numbers: [{ phone_number: '555-555-0002' }],
      street_addresses: [{ kind: 'home', street: '2 Elm St', city: 'Shelbyville', postal_code: '62565' }],
    });
  });

  test('an import larger than 4 MB is split, so Constant Contact drops no contact past the limit', async () => {
    fake = await startFakeConstantContact({ seed: { contacts: 0 }, perSecond: 1000 });
    const connector = constantContact.create(
      configFor(fake, { listIds: [fake.listId('Newsletter')], bulkThreshold: 2 }),
    );
    const street = 'x'.repeat(255);
    const records = Array.from({ length: 14_000 }, (_, i) => ({
      email_address: `big.${i}@example.com`,
      first_name: 'Big',
      street_address: { street, city: 'Springfield' },
    }));
    expect(await connector.push('contacts', records)).toEqual({ upserted: 14_000, failed: [] });
    expect(fake.state.droppedImportRows).toBe(0);
    expect(fake.state.activities.size).toBeGreaterThan(1);
    expect(fake.ids('contacts')).toHaveLength(14_000);
  });

  test('a 429 for the exhausted daily quota fails at once as rate_limit; a throttled burst is retried', async () => {
    // The fake's clock moves only when the connector sleeps, so its one-per-second window passes exactly then.
    let clock = Date.now();
    fake = await startFakeConstantContact({ seed: { contacts: 2 }, perSecond: 1, perDay: 1_000, now: () => clock });
    const sleeps: number[] = [];
    const connector = constantContact.create(configFor(fake, { pageSize: 1 }), {
      sleep: async (ms) => void (sleeps.push(ms), (clock += ms)),
    });
    // Two calls in one second: the second is throttled and retried after a second.
    let cursor: string | null = null;
    for (let done = false; !done;) ({ cursor, done } = await connector.pull('contacts', cursor));
    expect(fake.state.throttled).toBeGreaterThan(0);
    expect(sleeps).toContain(1000);
    fake.state.requestsToday = 1_000;
    sleeps.length = 0;
    const before = fake.requestCount();
    const error = await connector.pull('contacts', null).catch((e) => e);
    expect(error).toMatchObject({ kind: 'rate_limit', message: expect.stringContaining('quota_exceeded') });
    expect(fake.requestCount() - before).toBe(1);
    expect(sleeps).toEqual([]);
  });

  test('a push without any list to join fails per record with the reason', async () => {
    fake = await startFakeConstantContact({ seed: { contacts: 0 }, perSecond: 1000 });
    const result = await constantContact
      .create(configFor(fake, { listIds: [] }))
      .push('contacts', [{ email_address: 'x@example.com' }]);
    expect(result).toEqual({
      upserted: 0,
      failed: [{ key: 'x@example.com', reason: expect.stringContaining('listIds') }],
    });
  });

  test('erase deletes the contact found by email', async () => {
    fake = await startFakeConstantContact({ seed: { contacts: 0 }, perSecond: 1000 });
    const connector = constantContact.create(configFor(fake, { listIds: [fake.listId('Newsletter')] }));
    await connector.push('contacts', [{ email_address: 'erase.me@example.com' }]);
    const outcome = await connector.erase('Erase.Me@example.com');
    expect(fake.ids('contacts')).toEqual([]);
    // Constant Contact keeps the deleted contact: the erasure says so instead of claiming it is gone.
    expect(outcome).toEqual({
      permanent: false,
      ids: [expect.any(String)],
      reason: expect.stringContaining('no permanent delete'),
    });
    expect([...fake.state.contacts.values()].map((c) => c.deleted_at)).toEqual([expect.any(String)]);
    await expect(connector.erase('nobody@example.com')).resolves.toMatchObject({ ids: [] });
  });

  test('paces requests to the full vendor limit of 4 per second, as a window shared through the runtime, without being throttled', async () => {
    // The fake's one-second windows hold exactly the limit the connector keeps to.
    fake = await startFakeConstantContact({
      seed: { contacts: 12 },
      perSecond: 4,
      pageSize: 2,
      clientId: 'paced-client',
    });
    const declared: unknown[] = [];
    const connector = constantContact.create(
      configFor(fake, { clientId: 'paced-client', pageSize: 2, requestsPerSecond: 4 }),
      {
        budget: (key, windows) => {
          declared.push({ key, windows });
          return sharedWindowBudget(`test:${key}`, { windows });
        },
      },
    );
    let cursor: string | null = null;
    let pages = 0;
    for (;;) {
      const page = await connector.pull('contacts', cursor);
      pages++;
      cursor = page.cursor;
      if (page.done) break;
    }
    expect(pages).toBe(6);
    expect(fake.state.throttled).toBe(0);
    // 4 in any second, not a bucket's 2 per second sustained.
    expect(declared).toEqual([
      { key: expect.stringMatching(/^constant_contact:[0-9a-f]{16}$/), windows: [{ limit: 4, windowMs: 1000 }] },
    ]);
  });

  describe('webhooks', () => {
    const config = configFor({ url: 'http://127.0.0.1:1' });
    const now = Date.parse('2026-05-01T08:00:00Z');

    test('returns the event type and payload of a verified delivery', () => {
      const result = constantContact.verifyWebhook(config, signed(config, webhookBody(1), now));
      expect(result.events).toEqual([
        {
          id: expect.stringMatching(/^[0-9a-f]{64}$/),
          type: 'tier.increase',
          payload: JSON.parse(webhookBody(1).toString()),
        },
      ]);
    });

    test('refuses a JWS that is not detached or declares an encoded payload', () => {
      const request = signed(config, webhookBody(2), now);
      const [header, , signature] = request.headers['X-CTCT-WEBHOOK-SIG']!.split('.');
      expect(() =>
        constantContact.verifyWebhook(config, {
          ...request,
          headers: { 'X-CTCT-WEBHOOK-SIG': `${header}.${Buffer.from('x').toString('base64url')}.${signature}` },
        }),
      ).toThrow(WebhookRejected);
      const encoded = Buffer.from(JSON.stringify({ alg: 'RS256', ts: Math.floor(now / 1000) })).toString('base64url');
      expect(() =>
        constantContact.verifyWebhook(config, {
          ...request,
          headers: { 'X-CTCT-WEBHOOK-SIG': `${encoded}..${signature}` },
        }),
      ).toThrow(/b64=false/);
    });

    test('without configured keys every delivery is refused', () => {
      expect(() =>
        constantContact.verifyWebhook({ ...config, webhookJwks: undefined }, signed(config, webhookBody(3), now)),
      ).toThrow(/not configured/);
    });
  });
});
