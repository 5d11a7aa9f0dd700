/**
 * The ERP part of the demo mode: starts the SAP S/4HANA and Dynamics 365 fakes on loopback, seeded
 * with generated business partners, contacts and accounts, and returns connector configs pointing at them.
 */
import { startFakeDynamics } from '../../test/fakes/dynamics';
import { startFakeSap } from '../../test/fakes/sap';

type ErpSystem = 'sap' | 'dynamics';

export interface ErpDemoFakes {
  readonly configs: Readonly<Record<ErpSystem, Record<string, unknown>>>;
  readonly urls: Readonly<Record<ErpSystem, string>>;
  close(): Promise<void>;
}

export async function startErpDemoFakes(): Promise<ErpDemoFakes> {
  const [sap, dynamics] = await Promise.all([startFakeSap({ seed: { persons: 60, organizations: 15 } }), startFakeDynamics({ seed: { contacts: 60, accounts: 15 } })]);
  const s = sap.state;
  const d = dynamics.state;
  return {
    configs: {
      sap: { baseUrl: sap.url, auth: { type: 'oauth', tokenUrl: `${sap.url}/oauth/token`, clientId: s.clientId, clientSecret: s.clientSecret } },
      dynamics: { orgUrl: dynamics.url, tenantId: d.tenantId, tokenUrl: `${dynamics.url}/${d.tenantId}/oauth2/v2.0/token`, clientId: d.clientId, clientSecret: d.clientSecret, organizationId: d.organizationId },
    },
    urls: { sap: sap.url, dynamics: dynamics.url },
    close: async () => {
      await Promise.all([sap.close(), dynamics.close()]);
    },
  };
}
