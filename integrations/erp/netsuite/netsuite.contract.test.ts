import { connectorContract } from '../../contract/connector-contract';
import { startFakeNetSuite, type FakeNetSuite } from '@data-sync/vendor-fakes/netsuite';
import { netsuite, type NetSuiteConfig } from '.';

// One key pair per file: RSA generation is the slow part of starting the fake.
let keyed: FakeNetSuite | undefined;

function netsuiteContract(name: string, auth: (fake: FakeNetSuite) => Partial<NetSuiteConfig>): void {
  connectorContract<NetSuiteConfig>({
    name,
    module: netsuite,
    object: 'customer',
    startFake: async (options) => (keyed = await startFakeNetSuite(options)),
    configFor: (url, pageSize) =>
      netsuite.configSchema.parse({
        accountId: keyed!.state.accountId,
        baseUrl: url,
        ...auth(keyed!),
        pageSize,
      }),
    recordId: (record) => String(record.id),
    deletes: 'sweep',
    // NetSuite's concurrency limit answer carries no Retry-After: the connector waits concurrencyWaitMs.
    tooManyRequests: { headers: {}, waitMs: 2000 },
    pushRecords: (count, variant) =>
      Array.from({ length: count }, (_, i) => ({
        firstName: `Pushed${i}`,
        lastName: `Variant${variant}`,
        email: `pushed${i}@example.com`,
        phone: `+4930${variant}00${i}`,
      })),
    erasure: {
      email: (fake) => String([...(fake as FakeNetSuite).state.records.get('customer')!.values()][0].email),
      erased: (fake, email) =>
        ![...(fake as FakeNetSuite).state.records.get('customer')!.values()].some((r) => r.email === email),
    },
  });
}

netsuiteContract('netsuite', (fake) => ({
  clientId: fake.state.clientId,
  certificateId: fake.state.certificateId,
  privateKey: fake.state.privateKey,
}));
// Token-based authentication: every request signed (OAuth 1.0a, HMAC-SHA256, the account as realm).
netsuiteContract('netsuite (token-based authentication)', (fake) => ({ tba: fake.state.tba }));
