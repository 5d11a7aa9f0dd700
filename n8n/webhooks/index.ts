/**
 * Every webhook n8n serves, in one place: its path (n8n answers on `/webhook/<path>`), the method and
 * how callers authenticate. Each cloud routes `/webhook/*` to n8n and publishes these URLs as outputs;
 * the editor and REST paths stay private where the cloud can tell them apart.
 */
import { WEBHOOK_AUTH_HEADER } from '../credentials';

/** n8n's production webhook path segment: webhooks answer on `/webhook/<path>` (`N8N_ENDPOINT_WEBHOOK`'s default). */
export const WEBHOOK_PATH_PREFIX = 'webhook';

export interface WebhookDefinition {
  /** Path after `/webhook/`. */
  readonly path: string;
  readonly method: 'POST';
  /** n8n registers the production URL under this id too; fixed so a re-import keeps it. */
  readonly webhookId: string;
  /** Header the caller sends, holding the `webhook` credential's value. */
  readonly authHeader: typeof WEBHOOK_AUTH_HEADER;
  readonly description: string;
}

export const WEBHOOKS = {
  salesforceContact: {
    path: 'salesforce-contact',
    method: 'POST',
    webhookId: '5f0c2a9e-6a51-4c1e-9d55-7d3b1f2a0c01',
    authHeader: WEBHOOK_AUTH_HEADER,
    description: 'Salesforce (Flow HTTP callout) posts {"contactId"} when a contact changes',
  },
  triggerSync: {
    path: 'data-sync-trigger',
    method: 'POST',
    webhookId: '5f0c2a9e-6a51-4c1e-9d55-7d3b1f2a0c02',
    authHeader: WEBHOOK_AUTH_HEADER,
    description: 'Starts a sync of {"integration", "full"?} through the data sync API',
  },
  mindsdbQuery: {
    path: 'mindsdb-query',
    method: 'POST',
    webhookId: '5f0c2a9e-6a51-4c1e-9d55-7d3b1f2a0c03',
    authHeader: WEBHOOK_AUTH_HEADER,
    description: 'Runs a plain-English {"query"} through MindsDB and answers with its result',
  },
} as const satisfies Record<string, WebhookDefinition>;

/** The production URL of a webhook under n8n's public base URL (which ends with `/` or not). */
export function webhookUrl(n8nBaseUrl: string, webhook: WebhookDefinition): string {
  return `${n8nBaseUrl.replace(/\/+$/, '')}/${WEBHOOK_PATH_PREFIX}/${webhook.path}`;
}
