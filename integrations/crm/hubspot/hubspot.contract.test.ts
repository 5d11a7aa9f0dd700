import { connectorContract } from '../../contract/connector-contract';
import { startFakeHubSpot } from '@data-sync/vendor-fakes/hubspot';
import { hubspot, signatureV3, type HubSpotConfig } from '.';

connectorContract<HubSpotConfig>({
  name: 'hubspot',
  module: hubspot,
  object: 'contacts',
  startFake: (options) => startFakeHubSpot(options),
  configFor: (url, pageSize) =>
    hubspot.configSchema.parse({
      baseUrl: url,
      accessToken: 'pat-na1-fake-token',
      clientSecret: 'app-secret-1',
      pageSize,
      searchPageSize: pageSize,
    }),
  recordId: (record) => String(record.id),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      email: `pushed${i}@example.com`,
      firstname: `First${variant}`,
      lastname: `Last${i}`,
    })),
  tooManyRequests: { headers: {}, waitMs: 10_000 },
  webhook: {
    body: (_config, n) =>
      Buffer.from(
        JSON.stringify([
          {
            eventId: 100 + n,
            subscriptionId: 7,
            portalId: 62515,
            appId: 54321,
            occurredAt: 1_700_000_000_000,
            subscriptionType: 'contact.propertyChange',
            attemptNumber: 0,
            objectId: 1234 + n,
            propertyName: 'email',
            propertyValue: `n${n}@example.com`,
            changeSource: 'CRM',
          },
        ]),
      ),
    sign: (config, body, now) => {
      const url = 'https://api.example.com/webhooks/hubspot?source=app';
      const timestamp = String(now);
      return {
        method: 'POST',
        url,
        headers: {
          'content-type': 'application/json',
          'x-hubspot-signature-v3': signatureV3(config.clientSecret, 'POST', url, body.toString('utf8'), timestamp),
          'x-hubspot-request-timestamp': timestamp,
        },
        rawBody: body,
        now,
      };
    },
    forgedConfig: (config) => ({ ...config, clientSecret: 'attacker-secret' }),
    replay: 'timestamp',
  },
});
