/**
 * Every connector module, keyed by its catalog name in config/integrations.ts. The runtime looks
 * connectors up here; registry.test.ts checks the keys against the catalog.
 */
import type { ConnectorModule } from './connector';
import { hubspot } from './crm/hubspot';
import { pipedrive } from './crm/pipedrive';
import { salesforce } from './crm/salesforce';
import { zoho } from './crm/zoho';
import { amplitude } from './analytics/amplitude';
import { googleAnalytics } from './analytics/google_analytics';
import { mixpanel } from './analytics/mixpanel';
import { constantContact } from './marketing/constant_contact';
import { klaviyo } from './marketing/klaviyo';
import { mailchimp } from './marketing/mailchimp';
import { dynamics } from './erp/dynamics';
import { netsuite } from './erp/netsuite';
import { sap } from './erp/sap';
import { facebook } from './social/facebook';
import { instagram } from './social/instagram';
import { linkedin } from './social/linkedin';
import { x } from './social/x';

// CRM connectors (integrations/crm/).
const CRM: Record<string, ConnectorModule> = { salesforce, hubspot, pipedrive, zoho };

// Marketing connectors (integrations/marketing/).
const MARKETING: Record<string, ConnectorModule> = { mailchimp, klaviyo, constant_contact: constantContact };

// Analytics connectors (integrations/analytics/).
const ANALYTICS: Record<string, ConnectorModule> = { google_analytics: googleAnalytics, mixpanel, amplitude };

// ERP connectors (integrations/erp/).
const ERP: Record<string, ConnectorModule> = { sap, netsuite, dynamics };

// Social connectors (integrations/social/).
const SOCIAL: Record<string, ConnectorModule> = { facebook, instagram, x, linkedin };

export const CONNECTORS: Readonly<Record<string, ConnectorModule>> = {
  ...CRM,
  ...MARKETING,
  ...ANALYTICS,
  ...ERP,
  ...SOCIAL,
};

/** The connector module named `name`, or an error naming the known ones. */
export function connectorFor(name: string): ConnectorModule {
  const module = CONNECTORS[name];
  if (!module)
    throw new Error(`Unknown integration "${name}": known are ${Object.keys(CONNECTORS).sort().join(', ') || 'none'}`);
  return module;
}
