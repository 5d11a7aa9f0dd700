import { createHmac } from 'crypto';
import { connectorContract } from '../../contract/connector-contract';
import { WebhookRejected } from '../../connector';
import { startFakeLinkedin, linkedinMemberHash, type LinkedinFake } from '@data-sync/vendor-fakes/linkedin';
import { linkedinConfigSchema, type LinkedinConfig } from './config';
import { linkedin } from './index';
import { linkedinSignature } from './webhook';

let current: LinkedinFake;

function configFor(fake: LinkedinFake, extra: Partial<LinkedinConfig> = {}): LinkedinConfig {
  return linkedinConfigSchema.parse({
    ...fake.credentials,
    baseUrl: fake.url,
    tokenUrl: `${fake.url}/oauth/v2/accessToken`,
    ...extra,
  });
}

const emailOf = (fake: LinkedinFake, id: string) =>
  fake.responses.get(id)?.formResponse.answers.find((a) => a.questionId === 1)?.answerDetails.textQuestionAnswer.answer;

connectorContract<LinkedinConfig>({
  name: 'linkedin',
  module: linkedin,
  object: 'leads',
  pushObject: 'custom_audience',
  pushSemantics: 'first-wins',
  recordDeletes: false,
  startFake: async (options) => (current = await startFakeLinkedin({ seed: { leads: options.seed?.leads ?? 0 } })),
  configFor: (_url, pageSize) => configFor(current, { pageSize }),
  recordId: (record) => String(record.id),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({ email: `li.member.${i}@push.example.com`, first_name: `V${variant}` })),
  // LinkedIn's 429 carries no Retry-After: the connector waits its throttleWaitMs.
  tooManyRequests: { headers: {}, waitMs: 60_000 },
  erasure: {
    email: (fake) => emailOf(fake as LinkedinFake, fake.ids('leads')[0])!,
    erased: (fake, email) => (fake as LinkedinFake).removed.includes(linkedinMemberHash(email)),
  },
  webhook: {
    body: (_config, n) =>
      Buffer.from(
        JSON.stringify({
          type: 'LEAD_ACTION',
          leadGenFormResponse: `urn:li:leadGenFormResponse:0000-${n}`,
          leadAction: 'CREATED',
          occurredAt: 1772366400000 + n,
        }),
      ),
    sign: (config, body, now) => ({
      method: 'POST',
      url: 'https://api.example.com/webhooks/linkedin',
      headers: { 'content-type': 'application/json', 'x-li-signature': linkedinSignature(config.clientSecret, body) },
      rawBody: body,
      now,
    }),
    forgedConfig: (config) => ({ ...config, clientSecret: 'guessed-client-secret' }),
    replay: 'event-id',
  },
});

describe('linkedin specifics', () => {
  let fake: LinkedinFake;
  beforeEach(async () => {
    fake = await startFakeLinkedin({ seed: { leads: 3 } });
  });
  afterEach(async () => fake.close());

  test('the validation challenge is answered with the hex HMAC-SHA256 of challengeCode under the client secret', () => {
    const config = configFor(fake);
    const code = 'f2d5a5d4-5b6a-4c2e-9b3f-0c1d2e3f4a5b';
    const answer = linkedin.webhookHandshake!(config, {
      method: 'GET',
      url: `https://api.example.com/webhooks/linkedin?challengeCode=${code}`,
      headers: {},
      rawBody: Buffer.alloc(0),
      now: 0,
    });
    expect(JSON.parse(answer.body)).toEqual({
      challengeCode: code,
      challengeResponse: createHmac('sha256', config.clientSecret).update(code).digest('hex'),
    });
    expect(() =>
      linkedin.webhookHandshake!(config, {
        method: 'GET',
        url: 'https://api.example.com/webhooks/linkedin',
        headers: {},
        rawBody: Buffer.alloc(0),
        now: 0,
      }),
    ).toThrow(WebhookRejected);
  });

  test("answers are named by the form's predefined fields; other questions are left out", async () => {
    const page = await linkedin.create(configFor(fake)).pull('leads', null);
    expect(page.records[0].answers).toEqual({
      email: expect.stringContaining('@example.com'),
      first_name: expect.any(String),
      last_name: expect.any(String),
    });
  });

  test('one refresh serves many calls, and erasure says what LinkedIn keeps', async () => {
    const connector = linkedin.create(configFor(fake));
    await connector.test();
    await connector.pull('leads', null);
    expect(fake.issued).toHaveLength(1);
    const outcome = await connector.erase('Someone@Example.com');
    expect(outcome).toMatchObject({ permanent: false, reason: expect.stringContaining('90 days') });
    expect(fake.removed).toEqual([linkedinMemberHash('someone@example.com')]);
  });
});
