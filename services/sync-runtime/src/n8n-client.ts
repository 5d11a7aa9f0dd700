/** The runtime's n8n client, built from its config the one way every entry point uses. */
import { createN8nClient, type N8nClient } from '@data-sync/n8n/client';
import { WEBHOOK_AUTH_HEADER } from '@data-sync/n8n/credentials';
import type { RuntimeConfig } from './config';

/**
 * null without N8N_URL. The API key goes on every public-API call; N8N_WEBHOOK_TOKEN (the value of
 * n8n's `webhook` credential) on every webhook call, which n8n's webhooks refuse without it.
 */
export function n8nClientFor(
  config: Pick<RuntimeConfig, 'n8nUrl' | 'n8nApiKey' | 'n8nWebhookToken'>,
): N8nClient | null {
  if (!config.n8nUrl) return null;
  return createN8nClient({
    baseUrl: config.n8nUrl,
    apiKey: config.n8nApiKey!,
    webhookHeaders: config.n8nWebhookToken ? { [WEBHOOK_AUTH_HEADER]: config.n8nWebhookToken } : {},
  });
}
