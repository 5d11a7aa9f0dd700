import { connectorContract } from '../../contract/connector-contract';
import { startFakeZoho } from '@data-sync/vendor-fakes/zoho';
import { zoho, type ZohoConfig } from '.';

connectorContract<ZohoConfig>({
  name: 'zoho',
  module: zoho,
  object: 'Contacts',
  startFake: (options) => startFakeZoho(options),
  configFor: (url, pageSize) =>
    zoho.configSchema.parse({
      baseUrl: url,
      accountsUrl: url,
      clientId: '1000.FAKECLIENT',
      clientSecret: 'fake-zoho-secret',
      refreshToken: '1000.fake-refresh-token',
      pageSize,
      webhookToken: 'zoho-channel-token-123',
      channelIds: ['1000000068001'],
    }),
  recordId: (record) => String(record.id),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      Email: `pushed${i}@example.com`,
      First_Name: `First${variant}`,
      Last_Name: `Last${i}`,
    })),
  webhook: {
    body: (config, n) =>
      Buffer.from(
        JSON.stringify({
          server_time: 1_772_366_400_000 + n,
          query_params: {},
          module: 'Contacts',
          resource_uri: 'https://www.zohoapis.com/crm/v6/Contacts',
          ids: [`57257670000000${n}001`, `57257670000000${n}002`],
          affected_fields: [],
          operation: 'update',
          channel_id: '1000000068001',
          token: config.webhookToken,
        }),
      ),
    sign: (_config, body, now) => ({
      method: 'POST',
      url: 'https://api.example.com/webhooks/zoho',
      headers: { 'content-type': 'application/json' },
      rawBody: body,
      now,
    }),
    forgedConfig: (config) => ({ ...config, webhookToken: 'guessed-channel-token' }),
    replay: 'event-id',
    tamper: (request) => ({
      ...request,
      rawBody: Buffer.from(
        request.rawBody.toString('utf8').replace('"channel_id":"1000000068001"', '"channel_id":"1000000069999"'),
      ),
    }),
  },
});
