import { connectorContract } from '../../contract/connector-contract';
import { startFakeDynamics, type FakeDynamics } from '@data-sync/vendor-fakes/dynamics';
import { dynamics, type DynamicsConfig } from '.';

const TENANT = '11111111-2222-4333-8444-555555555555';
const ORGANIZATION = '99999999-0000-4000-8000-000000000001';

connectorContract<DynamicsConfig>({
  name: 'dynamics',
  module: dynamics,
  object: 'contacts',
  startFake: (options) => startFakeDynamics({ ...options, tenantId: TENANT }),
  configFor: (url, pageSize) =>
    dynamics.configSchema.parse({
      orgUrl: url,
      tenantId: TENANT,
      tokenUrl: `${url}/${TENANT}/oauth2/v2.0/token`,
      clientId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
      clientSecret: 'fake-entra-secret',
      pageSize,
      webhookKey: 'dataverse-webhook-key-0001',
      organizationId: ORGANIZATION,
    }),
  recordId: (record) => String(record.contactid),
  pushRecords: (count, variant) =>
    Array.from({ length: count }, (_, i) => ({
      firstname: `Pushed${i}`,
      lastname: `Variant${variant}`,
      emailaddress1: `pushed${i}@example.com`,
      telephone1: `+4930${variant}00${i}`,
    })),
  erasure: {
    email: (fake) => String([...(fake as FakeDynamics).state.tables.get('contacts')!.values()][0].emailaddress1),
    erased: (fake, email) =>
      ![...(fake as FakeDynamics).state.tables.get('contacts')!.values()].some((r) => r.emailaddress1 === email),
  },
  webhook: {
    body: (config, n) =>
      Buffer.from(
        JSON.stringify({
          BusinessUnitId: '00000000-0000-4000-8000-000000000900',
          CorrelationId: `c0ffee00-0000-4000-8000-${String(n).padStart(12, '0')}`,
          Depth: 1,
          InitiatingUserId: '00000000-0000-4000-8000-000000000901',
          MessageName: 'Update',
          Mode: 1,
          OrganizationId: config.organizationId,
          OrganizationName: 'contoso',
          PrimaryEntityId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
          PrimaryEntityName: 'contact',
          Stage: 40,
          InputParameters: [
            { key: 'Target', value: { LogicalName: 'contact', Attributes: [{ key: 'firstname', value: 'Ada' }] } },
          ],
        }),
      ),
    sign: (config, body, now) => ({
      method: 'POST',
      url: `https://api.example.com/webhooks/dynamics?code=${encodeURIComponent(config.webhookKey!)}`,
      headers: {
        'content-type': 'application/json',
        'x-ms-dynamics-organization': 'contoso.crm.dynamics.com',
        'x-ms-dynamics-entity-name': 'contact',
        'x-ms-dynamics-request-name': 'Update',
      },
      rawBody: body,
      now,
    }),
    forgedConfig: (config) => ({ ...config, webhookKey: 'guessed-webhook-key-00000' }),
    replay: 'event-id',
    // The key signs no body: a delivery re-addressed to another organization must be refused.
    tamper: (request) => ({
      ...request,
      rawBody: Buffer.from(
        request.rawBody.toString('utf8').replace(ORGANIZATION, '99999999-0000-4000-8000-000000000002'),
      ),
    }),
  },
});
