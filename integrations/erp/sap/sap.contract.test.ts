import { connectorContract } from '../../contract/connector-contract';
import { startFakeSap, type FakeSap } from '@data-sync/vendor-fakes/sap';
import { sap, type SapConfig } from '.';

const WEBHOOK = { username: 'event-mesh', password: 'event-mesh-password-1', source: '/default/sap.s4.beh/S4H100' };

connectorContract<SapConfig>({
  name: 'sap',
  module: sap,
  object: 'persons',
  startFake: (options) => startFakeSap(options),
  configFor: (url, pageSize) =>
    sap.configSchema.parse({
      baseUrl: url,
      pageSize,
      auth: {
        type: 'oauth',
        tokenUrl: `${url}/oauth/token`,
        clientId: 'sb-sync!t100',
        clientSecret: 'fake-xsuaa-secret',
      },
      webhook: WEBHOOK,
    }),
  recordId: (record) => String(record.BusinessPartner),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      FirstName: `Pushed${i}`,
      LastName: `Variant${variant}`,
      to_BusinessPartnerAddress: {
        results: [{ to_EmailAddress: { results: [{ EmailAddress: `pushed${i}@example.com` }] } }],
      },
    })),
  erasure: {
    email: (fake) => {
      const [id] = fake.ids('persons');
      return (fake.snapshot('persons') as { BusinessPartner: string; emails: string[] }[]).find(
        (bp) => bp.BusinessPartner === id,
      )!.emails[0];
    },
    erased: (fake, email) => {
      const emails = [...(fake as FakeSap).state.sets.get('A_AddressEmailAddress')!.values()].map(
        (e) => e.EmailAddress,
      );
      return !emails.includes(email);
    },
  },
  webhook: {
    body: (config, n) =>
      Buffer.from(
        JSON.stringify({
          specversion: '1.0',
          id: `6f1c2a4e-0000-4000-8000-${String(n).padStart(12, '0')}`,
          source: config.webhook!.source,
          type: 'sap.s4.beh.businesspartner.v1.BusinessPartner.Changed.v1',
          datacontenttype: 'application/json',
          time: '2026-03-01T12:00:00Z',
          data: { BusinessPartner: String(1000000 + n) },
        }),
      ),
    sign: (config, body, now) => ({
      method: 'POST',
      url: 'https://api.example.com/webhooks/sap',
      headers: {
        'content-type': 'application/cloudevents+json',
        authorization: `Basic ${Buffer.from(`${config.webhook!.username}:${config.webhook!.password}`).toString('base64')}`,
      },
      rawBody: body,
      now,
    }),
    forgedConfig: (config) => ({ ...config, webhook: { ...config.webhook!, password: 'guessed-password-123' } }),
    replay: 'event-id',
    // Basic credentials sign no body: a delivery re-addressed to another system's events must be refused.
    tamper: (request) => ({
      ...request,
      rawBody: Buffer.from(request.rawBody.toString('utf8').replace('S4H100', 'S4H999')),
    }),
  },
});
