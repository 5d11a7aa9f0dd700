/**
 * What every cloud's n8n container shares: the start step that provisions workflows and credentials
 * before `n8n start` (n8n/provisioning/start.js, passed to the stock image's Node as `node -e`), the
 * environment that secures n8n, and the names of the secrets it reads. No provider is imported here.
 */
import { TerraformOutput } from 'cdktf';
import type { Construct } from 'constructs';
import * as fs from 'fs';
import * as path from 'path';
import type { FeatureFlags } from '@data-sync/config/environments';
import { provisioningPlan } from '@data-sync/n8n/provisioning/plan';
import { WEBHOOKS, webhookUrl } from '@data-sync/n8n/webhooks';
import { projectRoot } from '../shared/zip';

/** MindsDB's API base (the design's host); a setting so tests can point it at a local MindsDB. */
export const MINDSDB_API_URL = 'https://mindsdb.com';

/** Port n8n listens on in its container. */
export const N8N_PORT = 5678;

/**
 * How long an n8n container may take before it answers /healthz: the start step imports and publishes
 * each workflow with a CLI call of 12-15 s before `n8n start` listens (about 100 s measured with the five
 * workflows), so every cloud's probes and grace periods allow this long.
 */
export const N8N_STARTUP_SECONDS = 360;

/**
 * Secrets every n8n process reads, each from the cloud's secret manager (never from Terraform state):
 * the credential encryption key (identical on every n8n process), the owner account n8n creates at
 * start (so no setup page can be claimed; the password as a bcrypt hash), and the credential values
 * the start step imports (JSON keyed by credential, see n8n/credentials).
 */
export const N8N_PROCESS_SECRETS = [
  'N8N_ENCRYPTION_KEY',
  'N8N_INSTANCE_OWNER_EMAIL',
  'N8N_INSTANCE_OWNER_PASSWORD_HASH',
  'N8N_CREDENTIALS',
] as const;

/** Secret of n8n's database user's password, where the stack cannot inject the database's own (GCP, Azure). */
export const N8N_DB_PASSWORD_SECRET = 'N8N_DB_PASSWORD';

/** The start step's source, read once from the repository (synth runs from the project root). */
let startSource: string | undefined;
function startScript(): string {
  startSource ??= fs.readFileSync(path.join(projectRoot(), 'n8n', 'provisioning', 'start.js'), 'utf8');
  // Terraform would read these as its own interpolation or template directives inside the string.
  if (/\$\{|%\{/.test(startSource))
    throw new Error('n8n/provisioning/start.js must not contain "${" or "%{" (Terraform reads them in strings)');
  return startSource;
}

export interface N8nStart {
  /** Replaces the image's entrypoint: provision, then run `n8n start` in the foreground. */
  readonly command: readonly string[];
  /** Plain settings of every n8n container (no secret values). */
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * Settings every n8n process shares (main, worker, webhook): the database, execution data pruning
 * (in every environment: executions of a worker are pruned by main, which owns the database), no
 * calls home, and no environment access from workflows.
 */
export const N8N_SHARED_ENVIRONMENT: Readonly<Record<string, string>> = {
  N8N_PORT: String(N8N_PORT),
  // Workflows cannot read the container's environment (it holds N8N_CREDENTIALS).
  N8N_BLOCK_ENV_ACCESS_IN_NODE: 'true',
  N8N_DIAGNOSTICS_ENABLED: 'false',
  N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
  N8N_PERSONALIZATION_ENABLED: 'false',
  // Execution data is pruned after 14 days, or beyond 50,000 executions.
  EXECUTIONS_DATA_PRUNE: 'true',
  EXECUTIONS_DATA_MAX_AGE: '336',
  EXECUTIONS_DATA_PRUNE_MAX_COUNT: '50000',
  DB_TYPE: 'postgresdb',
  DB_POSTGRESDB_SSL_ENABLED: 'true',
};

/**
 * The n8n container's start command and plain environment for an environment's flags. `apiUrl` is
 * this service's public URL (DATA_SYNC_API_URL of the workflows); where Terraform cannot know it
 * without a cycle (the runtime's environment refers to n8n's URL), leave it out and put
 * DATA_SYNC_API_URL in the N8N_CREDENTIALS secret's settings.
 */
export function n8nStart(features: FeatureFlags, apiUrl?: string): N8nStart {
  const settings: Record<string, string> = { MINDSDB_API_URL, ...(apiUrl ? { DATA_SYNC_API_URL: apiUrl } : {}) };
  return {
    command: ['node', '-e', startScript(), 'start'],
    environment: {
      N8N_PROVISIONING: JSON.stringify(provisioningPlan(features)),
      ...settings,
      ...N8N_SHARED_ENVIRONMENT,
      N8N_INSTANCE_OWNER_MANAGED_BY_ENV: 'true',
      // Prometheus metrics on /metrics, scraped into the monitoring catalog (monitoring/n8n-metrics.ts).
      N8N_METRICS: 'true',
    },
  };
}

/** One stack output per n8n webhook (`n8n_webhook_<path>`), the URL its caller is configured with. */
export function webhookOutputs(scope: Construct, n8nBaseUrl: string): void {
  for (const webhook of Object.values(WEBHOOKS)) {
    new TerraformOutput(scope, `webhook-${webhook.path}`, {
      value: webhookUrl(n8nBaseUrl, webhook),
      description: `${webhook.description} (header ${webhook.authHeader})`,
    }).overrideLogicalId(`n8n_webhook_${webhook.path.replace(/-/g, '_')}`);
  }
}
