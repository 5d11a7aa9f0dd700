/**
 * Demo mode of `npm run dev`: every vendor fake started on loopback, seeded with generated data,
 * with connector configs pointing at them, so a new user sees syncs and webhooks work without any
 * vendor credentials. Configs are connector input: parse each with its module's configSchema.
 */
import { startFakeHubSpot } from '../hubspot';
import { startFakePipedrive } from '../pipedrive';
import { startFakeSalesforce } from '../salesforce';
import { startFakeZoho } from '../zoho';
import { startAnalyticsDemoFakes } from './analytics';
import { startErpDemoFakes } from './erp';
import { startSocialDemoFakes } from './social';
import { startMarketingDemoFakes } from './marketing';

export interface DemoFakes {
  /** Config input per integration name of config/integrations.ts. */
  readonly configs: Readonly<Record<string, Record<string, unknown>>>;
  /** Base URL of each fake. */
  readonly urls: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/** Credentials and secrets of the demo only; real ones come from the secret store. */
export const DEMO_SECRETS = {
  salesforceOrganizationId: '00D5e000000DEMOEAA',
  salesforceClientId: 'demo-salesforce-client',
  salesforceClientSecret: 'demo-salesforce-secret',
  salesforceWebhookToken: 'demo-outbound-message-token',
  hubspotAccessToken: 'pat-demo-hubspot-token',
  hubspotClientSecret: 'demo-hubspot-app-secret',
  pipedriveApiToken: 'demo-pipedrive-token',
  pipedriveCompanyId: 7001,
  pipedriveWebhookPassword: 'demo-webhook-password',
  zohoClientId: '1000.DEMOCLIENT',
  zohoClientSecret: 'demo-zoho-secret',
  zohoRefreshToken: '1000.demo-refresh-token',
  zohoWebhookToken: 'demo-zoho-channel-token',
} as const;

export async function startDemoFakes(): Promise<DemoFakes> {
  const s = DEMO_SECRETS;
  const [salesforceFake, hubspotFake, pipedriveFake, zohoFake, marketing, analytics, erp, social] = await Promise.all([
    startFakeSalesforce({
      seed: { Account: 20, Contact: 200, Lead: 60, Opportunity: 40 },
      organizationId: s.salesforceOrganizationId,
      clientId: s.salesforceClientId,
      clientSecret: s.salesforceClientSecret,
    }),
    startFakeHubSpot({
      seed: { contacts: 150, companies: 30, deals: 40, tickets: 20 },
      accessToken: s.hubspotAccessToken,
    }),
    startFakePipedrive({ seed: { persons: 80, organizations: 20, deals: 30 }, apiToken: s.pipedriveApiToken }),
    startFakeZoho({
      seed: { Contacts: 90, Leads: 40, Accounts: 20, Deals: 25 },
      clientId: s.zohoClientId,
      clientSecret: s.zohoClientSecret,
      refreshToken: s.zohoRefreshToken,
    }),
    startMarketingDemoFakes(),
    startAnalyticsDemoFakes(),
    startErpDemoFakes(),
    startSocialDemoFakes(),
  ]);
  return {
    configs: {
      salesforce: {
        baseUrl: salesforceFake.url,
        auth: { type: 'client_credentials', clientId: s.salesforceClientId, clientSecret: s.salesforceClientSecret },
        organizationId: s.salesforceOrganizationId,
        webhookToken: s.salesforceWebhookToken,
      },
      hubspot: { baseUrl: hubspotFake.url, accessToken: s.hubspotAccessToken, clientSecret: s.hubspotClientSecret },
      pipedrive: {
        baseUrl: pipedriveFake.url,
        apiToken: s.pipedriveApiToken,
        companyId: s.pipedriveCompanyId,
        webhookUser: 'sync',
        webhookPassword: s.pipedriveWebhookPassword,
      },
      zoho: {
        baseUrl: zohoFake.url,
        accountsUrl: zohoFake.url,
        clientId: s.zohoClientId,
        clientSecret: s.zohoClientSecret,
        refreshToken: s.zohoRefreshToken,
        webhookToken: s.zohoWebhookToken,
      },
      ...marketing.configs,
      ...analytics.configs,
      ...erp.configs,
      ...social.configs,
    },
    urls: {
      salesforce: salesforceFake.url,
      hubspot: hubspotFake.url,
      pipedrive: pipedriveFake.url,
      zoho: zohoFake.url,
      ...marketing.urls,
      ...analytics.urls,
      ...erp.urls,
      ...social.urls,
    },
    close: async () => {
      await Promise.all([
        salesforceFake.close(),
        hubspotFake.close(),
        pipedriveFake.close(),
        zohoFake.close(),
        marketing.close(),
        analytics.close(),
        erp.close(),
        social.close(),
      ]);
    },
  };
}
