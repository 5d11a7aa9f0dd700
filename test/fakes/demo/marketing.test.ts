import { constantContact } from '@data-sync/integrations/marketing/constant_contact';
import { startMarketingDemoFakes } from './marketing';
import { klaviyo } from '@data-sync/integrations/marketing/klaviyo';
import { mailchimp } from '@data-sync/integrations/marketing/mailchimp';

test('the demo fakes start seeded and every marketing connector syncs from them with the returned configs', async () => {
  const demo = await startMarketingDemoFakes();
  try {
    const connectors = [
      { object: 'newsletter', connector: mailchimp.create(mailchimp.configSchema.parse(demo.configs.mailchimp)) },
      { object: 'profiles', connector: klaviyo.create(klaviyo.configSchema.parse(demo.configs.klaviyo)) },
      {
        object: 'contacts',
        connector: constantContact.create(constantContact.configSchema.parse(demo.configs.constant_contact)),
      },
    ];
    for (const { object, connector } of connectors) {
      expect(await connector.test()).toMatchObject({ ok: true });
      const page = await connector.pull(object, null);
      expect(page.records.length).toBeGreaterThan(0);
    }
  } finally {
    await demo.close();
  }
});
