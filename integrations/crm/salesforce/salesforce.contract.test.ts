import { connectorContract } from '../../contract/connector-contract';
import { startFakeSalesforce } from '@data-sync/vendor-fakes/salesforce';
import { buildOutboundMessage, salesforce, type SalesforceConfig } from '.';

const ORG = '00D5e000000KQ2eEAG';

function salesforceConfig(url: string, batchSize = 2000): SalesforceConfig {
  return salesforce.configSchema.parse({
    baseUrl: url,
    auth: { type: 'client_credentials', clientId: 'fake-client-id', clientSecret: 'fake-client-secret' },
    organizationId: ORG,
    webhookToken: 'outbound-token-0123456789',
    batchSize,
    bulkPollMs: 5,
  });
}

connectorContract<SalesforceConfig>({
  name: 'salesforce',
  module: salesforce,
  object: 'Contact',
  startFake: (options) => startFakeSalesforce({ ...options, organizationId: ORG }),
  // The fake answers batches of the suite's page size, as Salesforce may answer batches smaller than asked.
  configFor: (url) => salesforceConfig(url, 200),
  recordId: (record) => String(record.Id),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      External_Id__c: `ext-${i}`,
      FirstName: `First${variant}`,
      LastName: `Last${i}`,
      Email: `pushed${i}.v${variant}@example.com`,
    })),
  tooManyRequests: { headers: { 'Retry-After': '2' }, waitMs: 2000 },
  webhook: {
    body: (config, n) =>
      Buffer.from(
        buildOutboundMessage({
          organizationId: config.organizationId,
          notifications: [
            {
              notificationId: `04l5e00000Gx7Q${String(n).padStart(2, '0')}AJ`,
              object: 'Contact',
              fields: { Id: '0035e0000000000001AAA', Email: `n${n}@example.com` },
            },
            {
              notificationId: `04l5e00000Gx8Q${String(n).padStart(2, '0')}AJ`,
              object: 'Contact',
              fields: { Id: '0035e0000000000002AAA', Email: null },
            },
          ],
        }),
      ),
    sign: (config, body, now) => ({
      method: 'POST',
      url: `https://api.example.com/webhooks/salesforce?token=${encodeURIComponent(config.webhookToken)}`,
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' },
      rawBody: body,
      now,
    }),
    forgedConfig: (config) => ({ ...config, webhookToken: 'guessed-token-abcdefghij' }),
    replay: 'event-id',
    tamper: (request) => ({
      ...request,
      rawBody: Buffer.from(request.rawBody.toString('utf8').replace(ORG, '00D000000000001AAA')),
    }),
  },
});
