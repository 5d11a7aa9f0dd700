import { connectorContract } from '../../contract/connector-contract';
import { startFakePipedrive } from '@data-sync/vendor-fakes/pipedrive';
import { pipedrive, type PipedriveConfig } from '.';

function pipedriveConfig(url: string, pageSize = 500): PipedriveConfig {
  return pipedrive.configSchema.parse({
    baseUrl: url,
    apiToken: 'fake-pipedrive-token',
    pageSize,
    companyId: 7001,
    webhookUser: 'sync',
    webhookPassword: 'webhook-password-1',
  });
}

connectorContract<PipedriveConfig>({
  name: 'pipedrive',
  module: pipedrive,
  object: 'persons',
  startFake: (options) => startFakePipedrive(options),
  configFor: (url, pageSize) => pipedriveConfig(url, pageSize),
  deletes: 'sweep',
  recordId: (record) => String(record.id),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      name: `Pushed ${i} v${variant}`,
      emails: [{ value: `pushed${i}@example.com`, primary: true, label: 'work' }],
      phones: [{ value: `+4930${variant}00${i}`, primary: true, label: 'work' }],
    })),
  webhook: {
    body: (config, n) =>
      Buffer.from(
        JSON.stringify({
          meta: {
            id: `5b1e4d6a-0000-4000-8000-${String(n).padStart(12, '0')}`,
            action: 'change',
            entity: 'person',
            entity_id: String(40 + n),
            company_id: String(config.companyId),
            version: '2.0',
            timestamp: '2026-03-01T12:00:00.000Z',
          },
          data: { id: 40 + n, name: 'Ada' },
          previous: { name: 'Ada L.' },
        }),
      ),
    sign: (config, body, now) => ({
      method: 'POST',
      url: 'https://api.example.com/webhooks/pipedrive',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${config.webhookUser}:${config.webhookPassword}`).toString('base64')}`,
      },
      rawBody: body,
      now,
    }),
    forgedConfig: (config) => ({ ...config, webhookPassword: 'guessed-password' }),
    replay: 'event-id',
    tamper: (request) => ({
      ...request,
      rawBody: Buffer.from(request.rawBody.toString('utf8').replace('"company_id":"7001"', '"company_id":"9999"')),
    }),
  },
});
