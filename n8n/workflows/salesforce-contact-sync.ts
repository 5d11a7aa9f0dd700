/**
 * The design's "Salesforce Contact Sync": Salesforce posts a contact id to the `salesforce-contact`
 * webhook, n8n reads the contact (and its account, for the company) and upserts it into `contacts`.
 *
 * Differences from the design's sketch, each forced by n8n or the schema: the webhook node (2.x)
 * puts the posted JSON under `body`, so the id is `$json.body.contactId`; the row is an upsert on
 * `email` (the table's key) so a repeated event changes nothing; the design's `name, phone, company`
 * are the table's first_name/last_name, phone and company_name, and a Contact has no company field:
 * it is the Name of its Account, read by a second Salesforce node.
 */
import { WEBHOOKS } from '../webhooks';
import { postgresUpsert, salesforceGet, webhookTrigger } from './nodes';
import { linearWorkflow, type N8nWorkflowJson } from './workflow';

export const SALESFORCE_CONTACT_SYNC_ID = 'dsSfContactSync1';

export function salesforceContactSync(): N8nWorkflowJson {
  const contact = (field: string) => `$('Salesforce').item.json.${field}`;
  return linearWorkflow({
    id: SALESFORCE_CONTACT_SYNC_ID,
    name: 'Salesforce Contact Sync',
    nodes: [
      webhookTrigger('Webhook Trigger', WEBHOOKS.salesforceContact),
      salesforceGet('Salesforce', 'contact', '={{ $json.body.contactId }}'),
      // A contact without an account still syncs, with no company.
      salesforceGet('Salesforce Account', 'account', '={{ $json.AccountId }}', { continueOnError: true }),
      postgresUpsert('Database Update', 'contacts', 'email', {
        email: `={{ ${contact('Email')}.trim().toLowerCase() }}`,
        first_name: `={{ ${contact('FirstName')} }}`,
        last_name: `={{ ${contact('LastName')} }}`,
        phone: `={{ ${contact('Phone')} }}`,
        company_name: '={{ $json.Name ?? null }}',
        created_at: `={{ ${contact('CreatedDate')} }}`,
        updated_at: `={{ ${contact('LastModifiedDate')} }}`,
        source: 'salesforce',
      }),
    ],
  });
}
