/**
 * The ERP part of the demo mode: starts the SAP S/4HANA, NetSuite and Dynamics 365 fakes on loopback,
 * seeded with generated business partners, customers, contacts and accounts, and returns connector
 * configs pointing at them.
 */
import { startFakeDynamics } from '../dynamics';
import { startFakeNetSuite } from '../netsuite';
import { startFakeSap } from '../sap';

type ErpSystem = 'sap' | 'netsuite' | 'dynamics';

export interface ErpDemoFakes {
  readonly configs: Readonly<Record<ErpSystem, Record<string, unknown>>>;
  readonly urls: Readonly<Record<ErpSystem, string>>;
  close(): Promise<void>;
}

export async function startErpDemoFakes(): Promise<ErpDemoFakes> {
  const [sap, netsuite, dynamics] = await Promise.all([
    startFakeSap({ seed: { persons: 60, organizations: 15 } }),
    startFakeNetSuite({ seed: { customer: 50, contact: 30 } }),
    startFakeDynamics({ seed: { contacts: 60, accounts: 15 } }),
  ]);
  const s = sap.state;
  const n = netsuite.state;
  const d = dynamics.state;
  return {
    configs: {
      sap: {
        baseUrl: sap.url,
        auth: { type: 'oauth', tokenUrl: `${sap.url}/oauth/token`, clientId: s.clientId, clientSecret: s.clientSecret },
      },
      netsuite: {
        accountId: n.accountId,
        baseUrl: netsuite.url,
        clientId: n.clientId,
        certificateId: n.certificateId,
        privateKey: n.privateKey,
      },
      dynamics: {
        orgUrl: dynamics.url,
        tenantId: d.tenantId,
        tokenUrl: `${dynamics.url}/${d.tenantId}/oauth2/v2.0/token`,
        clientId: d.clientId,
        clientSecret: d.clientSecret,
        organizationId: d.organizationId,
      },
    },
    urls: { sap: sap.url, netsuite: netsuite.url, dynamics: dynamics.url },
    close: async () => {
      await Promise.all([sap.close(), netsuite.close(), dynamics.close()]);
    },
  };
}
