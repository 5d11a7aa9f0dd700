/** The runtime's n8n client, built from its config the one way every entry point uses. */
import { createN8nClient, type N8nClient } from '@data-sync/n8n/client';
import { WEBHOOK_AUTH_HEADER } from '@data-sync/n8n/credentials';
import type { RuntimeConfig } from './config';

/**
 * Headers the platform in front of n8n wants on every call (a Google ID token where Cloud Run admits only
 * invokers), asked for per call so the source can refresh an expired token.
 */
export type N8nAuth = () => Promise<Readonly<Record<string, string>>>;

/** Builds the bundle's N8nAuth for n8n at `n8nUrl`; a bundle whose platform needs none passes no factory. */
export type N8nAuthFactory = (n8nUrl: string) => N8nAuth;

/**
 * null without N8N_URL. The API key goes on every public-API call; N8N_WEBHOOK_TOKEN (the value of
 * n8n's `webhook` credential) on every webhook call, which n8n's webhooks refuse without it; `auth`'s
 * headers on every call of either kind.
 */
export function n8nClientFor(
  config: Pick<RuntimeConfig, 'n8nUrl' | 'n8nApiKey' | 'n8nWebhookToken'>,
  auth?: N8nAuthFactory,
): N8nClient | null {
  if (!config.n8nUrl) return null;
  const headersFor = auth?.(config.n8nUrl);
  return createN8nClient({
    baseUrl: config.n8nUrl,
    apiKey: config.n8nApiKey!,
    webhookHeaders: config.n8nWebhookToken ? { [WEBHOOK_AUTH_HEADER]: config.n8nWebhookToken } : {},
    ...(headersFor ? { fetch: withHeaders(headersFor) } : {}),
  });
}

/** fetch with `headersFor`'s headers added to the client's own (which are a plain object). */
const withHeaders =
  (headersFor: N8nAuth): typeof fetch =>
  async (input, init) =>
    fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), ...(await headersFor()) } });
