/**
 * The n8n credentials the workflows use, by fixed id so a re-import updates them in place. Their
 * values never live here or in Terraform: at start, the provisioning step reads them from the
 * `N8N_CREDENTIALS` secret (a JSON object keyed by credential key, see `credentialSecretShape`)
 * that each cloud injects from its secret manager, and n8n encrypts them with N8N_ENCRYPTION_KEY.
 */
import type { CredentialRef } from '../workflows/workflow';

export interface CredentialDefinition extends CredentialRef {
  /** Key of this credential's entry in the N8N_CREDENTIALS secret. */
  readonly key: string;
  /** Fields that must be in the secret entry. */
  readonly required: readonly string[];
  /** Fields the secret entry may set; absent ones keep n8n's default. */
  readonly optional?: readonly string[];
  /** Non-secret values fixed here (the secret entry cannot override them). */
  readonly fixed?: Readonly<Record<string, unknown>>;
}

/** Header every webhook caller must send; its value is the `webhook` credential's secret. */
export const WEBHOOK_AUTH_HEADER = 'X-Webhook-Token';

export const CREDENTIALS = {
  /**
   * Salesforce through the JWT bearer flow (a connected app with a certificate; no browser consent).
   * `myDomainUrl` is the org's My Domain URL: the token exchange goes there, and API calls go to the
   * `instance_url` Salesforce answers with.
   */
  salesforce: {
    key: 'salesforce',
    id: 'dsSalesforceJwt1',
    name: 'Salesforce (data sync)',
    type: 'salesforceJwtApi',
    required: ['clientId', 'username', 'privateKey'],
    optional: ['myDomainUrl'],
    fixed: { environment: 'production' },
  },
  /** Mailchimp Marketing API key; its `-usN` suffix names the data centre. */
  mailchimp: {
    key: 'mailchimp',
    id: 'dsMailchimpKey01',
    name: 'Mailchimp (data sync)',
    type: 'mailchimpApi',
    required: ['apiKey'],
  },
  /** The data sync service's PostgreSQL (contacts) and the application's users table. */
  postgres: {
    key: 'postgres',
    id: 'dsPostgresMain01',
    name: 'PostgreSQL (data sync)',
    type: 'postgres',
    required: ['host', 'database', 'user', 'password'],
    optional: ['port', 'ssl', 'allowUnauthorizedCerts', 'maxConnections'],
  },
  /** MindsDB API key, sent as `Authorization: Bearer`. */
  mindsdb: {
    key: 'mindsdb',
    id: 'dsMindsdbBearer1',
    name: 'MindsDB (data sync)',
    type: 'httpBearerAuth',
    required: ['token'],
  },
  /** An operator-role API token of this service, for workflows that call its API. */
  dataSyncApi: {
    key: 'dataSyncApi',
    id: 'dsDataSyncApi001',
    name: 'Data Sync API (operator token)',
    type: 'httpBearerAuth',
    required: ['token'],
  },
  /** The shared secret webhook callers send in WEBHOOK_AUTH_HEADER. */
  webhook: {
    key: 'webhook',
    id: 'dsWebhookHeader1',
    name: 'Webhook token (data sync)',
    type: 'httpHeaderAuth',
    required: ['value'],
    fixed: { name: WEBHOOK_AUTH_HEADER },
  },
} as const satisfies Record<string, CredentialDefinition>;

export type CredentialKey = keyof typeof CREDENTIALS;

/** What an operator stores in N8N_CREDENTIALS for the given credentials, with placeholders. */
export function credentialSecretShape(
  definitions: readonly CredentialDefinition[],
): Record<string, Record<string, string>> {
  return Object.fromEntries(
    definitions.map((d) => [
      d.key,
      Object.fromEntries([
        ...d.required.map((f) => [f, '<required>']),
        ...(d.optional ?? []).map((f) => [f, '<optional>']),
      ]),
    ]),
  );
}
