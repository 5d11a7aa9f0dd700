import { createHmac } from 'crypto';
import { connectorContract } from '../../contract/connector-contract';
import { WebhookRejected } from '../../connector';
import { startFakeX, type XFake } from '@data-sync/vendor-fakes/x';
import { X_OPENAPI_PRESENT, checkXRequest } from '@data-sync/vendor-fakes/x/openapi';
import { sha256 } from '../meta/audience';
import { xConfigSchema, type XConfig } from './config';
import { x } from './index';
import { xSignature } from './webhook';

let current: XFake;

function configFor(fake: XFake, extra: Partial<XConfig> = {}): XConfig {
  const { bearerToken, userId, consumerKey, consumerSecret, accessToken, accessTokenSecret, adsAccountId, audienceId } =
    fake.credentials;
  return xConfigSchema.parse({
    bearerToken,
    userId,
    consumerKey,
    consumerSecret,
    accessToken,
    accessTokenSecret,
    adsAccountId,
    audienceId,
    baseUrl: fake.url,
    adsBaseUrl: fake.url,
    ...extra,
  });
}

// The reset a 429 names, 100 s ahead: within the wait the client accepts, and at least 60 s away when the test runs.
const reset = String(Math.floor(Date.now() / 1000) + 100);

connectorContract<XConfig>({
  name: 'x',
  module: x,
  object: 'mentions',
  pushObject: 'custom_audience',
  pushSemantics: 'first-wins',
  recordDeletes: false,
  startFake: async (options) => (current = await startFakeX({ seed: { mentions: options.seed?.mentions ?? 0 } })),
  configFor: (_url, pageSize) => configFor(current, { pageSize: Math.max(5, pageSize) }),
  recordId: (record) => String(record.original_id),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      email: `x.member.${i}@push.example.com`,
      first_name: `V${variant}`,
      phone_number: `+1415555${String(2000 + i)}`,
    })),
  tooManyRequests: {
    headers: { 'x-rate-limit-limit': '450', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': reset },
    waitMs: 60_000,
  },
  erasure: {
    email: (fake) => (fake as XFake).seededMembers[0],
    erased: (fake, email) =>
      !(fake as XFake).audience.has(sha256(email)) && (fake as XFake).removed.includes(sha256(email)),
  },
  webhook: {
    body: (config, n) =>
      Buffer.from(
        JSON.stringify({
          for_user_id: config.userId,
          tweet_create_events: [{ id_str: String(1460000000000000100n + BigInt(n)), text: `@acme hello ${n}` }],
        }),
      ),
    sign: (config, body, now) => ({
      method: 'POST',
      url: 'https://api.example.com/webhooks/x',
      headers: {
        'content-type': 'application/json',
        'x-twitter-webhooks-signature': xSignature(config.consumerSecret, body),
      },
      rawBody: body,
      now,
    }),
    forgedConfig: (config) => ({ ...config, consumerSecret: 'guessed-consumer-secret' }),
    replay: 'event-id',
  },
});

describe('x specifics', () => {
  const config = xConfigSchema.parse({
    bearerToken: 'b',
    userId: '2244994945',
    consumerKey: 'k',
    consumerSecret: 'consumer-secret',
  });

  test('the CRC check is answered with sha256= and the base64 HMAC of crc_token under the consumer secret', () => {
    const answer = x.webhookHandshake!(config, {
      method: 'GET',
      url: 'https://api.example.com/webhooks/x?crc_token=challenge-123',
      headers: {},
      rawBody: Buffer.alloc(0),
      now: 0,
    });
    expect(answer.status).toBe(200);
    // The value X's documentation derives for this token and secret, computed independently here.
    expect(JSON.parse(answer.body)).toEqual({
      response_token: `sha256=${createHmac('sha256', 'consumer-secret').update('challenge-123').digest('base64')}`,
    });
    expect(() =>
      x.webhookHandshake!(config, {
        method: 'GET',
        url: 'https://api.example.com/webhooks/x',
        headers: {},
        rawBody: Buffer.alloc(0),
        now: 0,
      }),
    ).toThrow(WebhookRejected);
  });

  test('a delivery for another account is rejected', () => {
    const body = Buffer.from(JSON.stringify({ for_user_id: '999', tweet_create_events: [{ id_str: '1' }] }));
    const request = {
      method: 'POST',
      url: 'https://api.example.com/webhooks/x',
      headers: { 'x-twitter-webhooks-signature': xSignature('consumer-secret', body) },
      rawBody: body,
      now: 0,
    };
    expect(() => x.verifyWebhook(config, request)).toThrow(/expected 2244994945/);
  });

  (X_OPENAPI_PRESENT ? test : test.skip)('the fake names requests the OpenAPI description does not allow', () => {
    expect(checkXRequest('GET', new URL('https://api.x.com/2/users/2244994945/mentions?max_results=5'))).toEqual([]);
    expect(
      checkXRequest('GET', new URL('https://api.x.com/2/users/2244994945/mentions?max_results=500&tweet.fields=bogus')),
    ).toEqual([
      expect.stringContaining('max_results: 500 > maximum 100'),
      expect.stringContaining('undeclared query parameter tweet.fields'),
    ]);
    expect(checkXRequest('DELETE', new URL('https://api.x.com/2/users/me'))).toEqual([
      expect.stringContaining('no such operation'),
    ]);
  });
});
