/**
 * The marketing part of the demo mode: starts the Mailchimp, Klaviyo and Constant Contact fakes on
 * loopback, seeded with generated data, and returns connector configs pointing at them, so
 * `npm run dev` shows a sync without any vendor credentials.
 */
import { startFakeConstantContact } from '../constant_contact';
import { startFakeKlaviyo } from '../klaviyo';
import { startFakeMailchimp } from '../mailchimp';
import type { ConstantContactConfig } from '@data-sync/integrations/marketing/constant_contact';
import type { KlaviyoConfig } from '@data-sync/integrations/marketing/klaviyo';
import type { MailchimpConfig } from '@data-sync/integrations/marketing/mailchimp';

export interface MarketingDemoFakes {
  readonly configs: {
    readonly mailchimp: Partial<MailchimpConfig> & Pick<MailchimpConfig, 'apiKey'>;
    readonly klaviyo: Partial<KlaviyoConfig> & Pick<KlaviyoConfig, 'apiKey'>;
    readonly constant_contact: Partial<ConstantContactConfig> &
      Pick<ConstantContactConfig, 'clientId' | 'refreshToken'>;
  };
  readonly urls: Readonly<Record<'mailchimp' | 'klaviyo' | 'constant_contact', string>>;
  close(): Promise<void>;
}

/** Webhook secrets of the demo only; real ones come from the secret store. */
const DEMO_SECRET = 'demo-webhook-secret-not-for-production';

export async function startMarketingDemoFakes(): Promise<MarketingDemoFakes> {
  const [mailchimp, klaviyo, constantContact] = await Promise.all([
    startFakeMailchimp({ seed: { newsletter: 120, product_updates: 40 } }),
    startFakeKlaviyo({ seed: { profiles: 150, email_open: 300, email_click: 80, purchase: 25 } }),
    startFakeConstantContact({ seed: { contacts: 90 } }),
  ]);
  return {
    configs: {
      mailchimp: { apiKey: mailchimp.apiKey, baseUrl: mailchimp.url, webhookSecret: DEMO_SECRET },
      klaviyo: { apiKey: klaviyo.apiKey, baseUrl: klaviyo.url, webhookSecret: DEMO_SECRET },
      constant_contact: {
        clientId: constantContact.clientId,
        clientSecret: constantContact.clientSecret,
        refreshToken: constantContact.refreshToken,
        baseUrl: constantContact.url,
        tokenUrl: `${constantContact.url}/oauth2/default/v1/token`,
        listIds: [constantContact.listId('Newsletter')],
      },
    },
    urls: { mailchimp: mailchimp.url, klaviyo: klaviyo.url, constant_contact: constantContact.url },
    close: async () => {
      await Promise.all([mailchimp.close(), klaviyo.close(), constantContact.close()]);
    },
  };
}
