/**
 * The integration catalog of the design document, as plain data shared by the stacks (schedules,
 * secrets, webhooks) and the runtime (which connectors exist and how often they sync).
 */
export const FAMILIES = ['crm', 'erp', 'marketing', 'analytics', 'social'] as const;
export type IntegrationFamily = (typeof FAMILIES)[number];

export interface IntegrationSettings {
  /** Catalog key, also the connector name and the `:integration` path segment. */
  readonly name: string;
  /** Family whose feature flag (`enableCrmSync`, ...) switches it on. */
  readonly family: IntegrationFamily;
  /** Whether it runs when its family is enabled. */
  readonly enabled: boolean;
  /** How often a scheduled sync runs: `<n>m`, `<n>h` or `<n>d`. */
  readonly syncInterval: string;
  /** Vendor objects synced (CRM objects, Mailchimp lists, Klaviyo metrics). */
  readonly objects: readonly string[];
  /** Objects that receive the internal model's contact changes (bi-directional sync); none: pull only. */
  readonly pushObjects: readonly string[];
  /** Public URL the vendor posts webhooks to, when it sends any. */
  readonly webhookUrl?: string;
  /** Names of the credentials it needs, stored as one secret each. */
  readonly credentials: readonly string[];
  /**
   * The vendor's API hosts, the only ones its config may point at and its calls may reach (https): a name, or
   * `*.domain` for any subdomain. Anything else is refused unless the local-vendor override allows a fake.
   */
  readonly vendorHosts: readonly string[];
}

export const INTEGRATIONS: readonly IntegrationSettings[] = [
  {
    name: 'salesforce',
    family: 'crm',
    enabled: true,
    syncInterval: '1h',
    objects: ['Contact', 'Lead', 'Opportunity', 'Account'],
    pushObjects: [],
    webhookUrl: 'https://api.example.com/webhooks/salesforce',
    credentials: ['SALESFORCE_CLIENT_ID', 'SALESFORCE_CLIENT_SECRET'],
    vendorHosts: ['login.salesforce.com', 'test.salesforce.com', '*.salesforce.com', '*.force.com'],
  },
  {
    name: 'hubspot',
    family: 'crm',
    enabled: true,
    syncInterval: '30m',
    objects: ['contacts', 'companies', 'deals', 'tickets'],
    pushObjects: [],
    webhookUrl: 'https://api.example.com/webhooks/hubspot',
    credentials: ['HUBSPOT_API_KEY'],
    vendorHosts: ['api.hubapi.com', '*.hubapi.com', 'api.hubspot.com'],
  },
  {
    name: 'pipedrive',
    family: 'crm',
    enabled: false,
    syncInterval: '1h',
    objects: ['persons', 'organizations', 'deals'],
    pushObjects: [],
    credentials: ['PIPEDRIVE_API_TOKEN'],
    vendorHosts: ['api.pipedrive.com', '*.pipedrive.com', 'oauth.pipedrive.com'],
  },
  {
    name: 'zoho',
    family: 'crm',
    enabled: false,
    syncInterval: '1h',
    objects: ['Contacts', 'Leads', 'Accounts', 'Deals'],
    pushObjects: [],
    credentials: ['ZOHO_CLIENT_ID', 'ZOHO_CLIENT_SECRET', 'ZOHO_REFRESH_TOKEN'],
    vendorHosts: [
      '*.zohoapis.com',
      '*.zohoapis.eu',
      '*.zohoapis.in',
      '*.zohoapis.com.au',
      '*.zohoapis.jp',
      '*.zohoapis.ca',
      '*.zohoapis.sa',
      'accounts.zoho.com',
      'accounts.zoho.eu',
      'accounts.zoho.in',
      'accounts.zoho.com.au',
      'accounts.zoho.jp',
      'accounts.zohocloud.ca',
      'accounts.zoho.sa',
    ],
  },
  {
    // Business partners (Business Partner OData API); SAP_CLIENT_ID/SECRET are the XSUAA client of the communication arrangement.
    name: 'sap',
    family: 'erp',
    enabled: true,
    syncInterval: '1h',
    objects: ['persons', 'organizations'],
    pushObjects: [],
    webhookUrl: 'https://api.example.com/webhooks/sap',
    credentials: ['SAP_CLIENT_ID', 'SAP_CLIENT_SECRET'],
    vendorHosts: ['*.s4hana.ondemand.com', '*.s4hana.cloud.sap', '*.hana.ondemand.com'],
  },
  {
    // SuiteTalk REST: customers and contacts; OAuth 2.0 machine-to-machine (certificate-signed JWT).
    name: 'netsuite',
    family: 'erp',
    enabled: true,
    syncInterval: '1h',
    objects: ['customer', 'contact'],
    pushObjects: [],
    credentials: ['NETSUITE_CLIENT_ID', 'NETSUITE_CERTIFICATE_ID', 'NETSUITE_PRIVATE_KEY'],
    vendorHosts: ['*.netsuite.com'],
  },
  {
    // Dataverse Web API; the webhook key authenticates the registered service endpoint.
    name: 'dynamics',
    family: 'erp',
    enabled: true,
    syncInterval: '1h',
    objects: ['contacts', 'accounts'],
    pushObjects: [],
    webhookUrl: 'https://api.example.com/webhooks/dynamics',
    credentials: ['DYNAMICS_TENANT_ID', 'DYNAMICS_CLIENT_ID', 'DYNAMICS_CLIENT_SECRET', 'DYNAMICS_WEBHOOK_KEY'],
    vendorHosts: ['*.dynamics.com', 'login.microsoftonline.com'],
  },
  {
    name: 'mailchimp',
    family: 'marketing',
    enabled: true,
    syncInterval: '15m',
    objects: ['newsletter', 'product_updates'],
    pushObjects: ['newsletter'],
    webhookUrl: 'https://api.example.com/webhooks/mailchimp',
    credentials: ['MAILCHIMP_API_KEY'],
    vendorHosts: ['*.api.mailchimp.com', 'login.mailchimp.com'],
  },
  {
    name: 'klaviyo',
    family: 'marketing',
    enabled: false,
    syncInterval: '1h',
    objects: ['profiles', 'email_open', 'email_click', 'purchase'],
    pushObjects: [],
    credentials: ['KLAVIYO_API_KEY'],
    vendorHosts: ['a.klaviyo.com'],
  },
  {
    name: 'constant_contact',
    family: 'marketing',
    enabled: false,
    syncInterval: '1h',
    objects: ['contacts'],
    pushObjects: [],
    credentials: ['CONSTANT_CONTACT_CLIENT_ID', 'CONSTANT_CONTACT_REFRESH_TOKEN'],
    vendorHosts: ['api.cc.email', 'authz.constantcontact.com'],
  },
  {
    // Daily report rows (GA4 Data API) into metrics_daily; GOOGLE_ANALYTICS_CLIENT_ID is the service account's client email.
    name: 'google_analytics',
    family: 'analytics',
    enabled: true,
    syncInterval: '1h',
    objects: ['metrics'],
    pushObjects: [],
    credentials: ['GOOGLE_ANALYTICS_CLIENT_ID', 'GOOGLE_ANALYTICS_PRIVATE_KEY', 'GOOGLE_ANALYTICS_MP_API_SECRET'],
    vendorHosts: [
      'oauth2.googleapis.com',
      'analyticsdata.googleapis.com',
      'www.googleapis.com',
      'www.google-analytics.com',
      'region1.google-analytics.com',
    ],
  },
  {
    name: 'mixpanel',
    family: 'analytics',
    enabled: true,
    syncInterval: '1h',
    objects: ['events'],
    pushObjects: [],
    credentials: [
      'MIXPANEL_SERVICE_ACCOUNT_USERNAME',
      'MIXPANEL_SERVICE_ACCOUNT_SECRET',
      'MIXPANEL_PROJECT_TOKEN',
      'MIXPANEL_GDPR_TOKEN',
    ],
    vendorHosts: ['mixpanel.com', '*.mixpanel.com'],
  },
  {
    name: 'amplitude',
    family: 'analytics',
    enabled: true,
    syncInterval: '1h',
    objects: ['events'],
    pushObjects: [],
    credentials: ['AMPLITUDE_API_KEY', 'AMPLITUDE_SECRET_KEY'],
    vendorHosts: ['amplitude.com', '*.amplitude.com'],
  },
  {
    // Lead Ads leads in (webhook first, this schedule as the safety net); contacts out as hashed Custom Audience members.
    name: 'facebook',
    family: 'social',
    enabled: true,
    syncInterval: '1h',
    objects: ['leads', 'metrics'],
    pushObjects: ['custom_audience'],
    webhookUrl: 'https://api.example.com/webhooks/facebook',
    credentials: ['FACEBOOK_PAGE_ACCESS_TOKEN', 'FACEBOOK_APP_SECRET', 'FACEBOOK_VERIFY_TOKEN'],
    vendorHosts: ['graph.facebook.com'],
  },
  {
    // Instagram Lead Ads (the linked Page's forms, platform "ig"); the ad account's Custom Audience out.
    name: 'instagram',
    family: 'social',
    enabled: true,
    syncInterval: '1h',
    objects: ['leads', 'metrics'],
    pushObjects: ['custom_audience'],
    webhookUrl: 'https://api.example.com/webhooks/instagram',
    credentials: ['INSTAGRAM_ACCESS_TOKEN', 'INSTAGRAM_APP_SECRET', 'INSTAGRAM_VERIFY_TOKEN'],
    vendorHosts: ['graph.facebook.com', 'graph.instagram.com'],
  },
  {
    // Mentions into events (since_id every 15-minute rate window), Account Activity webhooks; contacts out to an Ads API custom audience.
    name: 'x',
    family: 'social',
    enabled: true,
    syncInterval: '15m',
    objects: ['mentions', 'metrics'],
    pushObjects: ['custom_audience'],
    webhookUrl: 'https://api.example.com/webhooks/x',
    credentials: ['X_BEARER_TOKEN', 'X_CONSUMER_KEY', 'X_CONSUMER_SECRET', 'X_ACCESS_TOKEN', 'X_ACCESS_TOKEN_SECRET'],
    vendorHosts: ['api.x.com', 'ads-api.x.com', 'api.twitter.com', 'ads-api.twitter.com'],
  },
  {
    // Lead Gen Forms responses in (lead notifications first, this schedule as the safety net); contacts out to a Matched Audience.
    name: 'linkedin',
    family: 'social',
    enabled: true,
    syncInterval: '1h',
    objects: ['leads', 'metrics'],
    pushObjects: ['custom_audience'],
    webhookUrl: 'https://api.example.com/webhooks/linkedin',
    credentials: ['LINKEDIN_CLIENT_ID', 'LINKEDIN_CLIENT_SECRET', 'LINKEDIN_REFRESH_TOKEN'],
    vendorHosts: ['api.linkedin.com', 'www.linkedin.com'],
  },
];

const INTERVAL = /^([1-9][0-9]*)([mhd])$/;

/** Minutes in a sync interval such as `15m`, `1h` or `1d`; throws naming the bad value. */
export function intervalMinutes(interval: string): number {
  const match = INTERVAL.exec(interval);
  if (!match) throw new Error(`Invalid sync_interval "${interval}": expected <n>m, <n>h or <n>d`);
  const n = Number(match[1]);
  return match[2] === 'm' ? n : match[2] === 'h' ? n * 60 : n * 1440;
}

export function findIntegration(name: string): IntegrationSettings | undefined {
  return INTEGRATIONS.find((i) => i.name === name);
}
