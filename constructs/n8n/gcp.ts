import { CloudRunV2Service } from '@cdktf/provider-google/lib/cloud-run-v2-service';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { GcpDatabase, type GcpDatabaseProps } from '../database/gcp';
import type { FeatureFlags } from '@data-sync/config';
import { N8N_IMAGE } from '../generic/workload';
import type { GcpSecrets } from '../secrets/gcp';
import { N8N_PORT, N8N_PROCESS_SECRETS, N8N_STARTUP_SECONDS, n8nStart, webhookOutputs } from './provisioning';

/** Secret names n8n needs on GCP and Azure: N8N_PROCESS_SECRETS and its database user's password. */
export const N8N_SECRETS = [...N8N_PROCESS_SECRETS, 'N8N_DB_PASSWORD'] as const;

export interface GcpN8nProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** Short prefix for the service account id, e.g. `ds-prod`. */
  readonly accountPrefix: string;
  /** Region of the service and its database. */
  readonly region: string;
  /** Secrets holding N8N_SECRETS (filled out of band). */
  readonly secrets: GcpSecrets;
  /** Its own Cloud SQL instance: everything but name and databases. */
  readonly database: Omit<GcpDatabaseProps, 'name' | 'databases' | 'region'>;
  /** VPC network and subnetwork for direct VPC egress to the database. */
  readonly network: { readonly networkId: string; readonly subnetworkId: string };
  /** Feature flags: which workflows are published. */
  readonly features: FeatureFlags;
  /** Public URL of this service's API; @default none: DATA_SYNC_API_URL comes from the N8N_CREDENTIALS settings. */
  readonly apiUrl?: string;
  /** Image; @default N8N_IMAGE. */
  readonly image?: string;
}

/**
 * n8n on Cloud Run (one instance: n8n's regular mode is not horizontally scalable) with its own
 * Cloud SQL instance. Its encryption key, owner, credential values and database password come from
 * Secret Manager; the database user `n8n` is created out of band with that password. The container
 * provisions the workflows before `n8n start` (constructs/n8n/provisioning.ts).
 */
export class GcpN8n extends Construct {
  readonly service: CloudRunV2Service;
  readonly database: GcpDatabase;
  readonly serviceAccount: ServiceAccount;

  constructor(scope: Construct, id: string, props: GcpN8nProps) {
    super(scope, id);
    this.database = new GcpDatabase(this, 'database', {
      ...props.database,
      name: `${props.prefix}-n8n-db`,
      region: props.region,
      databases: ['n8n'],
    });
    this.serviceAccount = new ServiceAccount(this, 'identity', {
      accountId: `${props.accountPrefix}-n8n`,
      displayName: `${props.prefix} n8n`,
    });
    const grants = props.secrets.grantAccess('n8n', `serviceAccount:${this.serviceAccount.email}`, N8N_SECRETS);
    const secret = (name: string) => ({
      secretKeyRef: { secret: props.secrets.secrets[name].secretId, version: 'latest' },
    });
    const start = n8nStart(props.features, props.apiUrl);
    this.service = new CloudRunV2Service(this, 'service', {
      name: `${props.prefix}-n8n`,
      location: props.region,
      ingress: 'INGRESS_TRAFFIC_ALL',
      deletionProtection: props.database.deletionProtection,
      template: {
        serviceAccount: this.serviceAccount.email,
        scaling: { minInstanceCount: 1, maxInstanceCount: 1 },
        vpcAccess: {
          egress: 'PRIVATE_RANGES_ONLY',
          networkInterfaces: [{ network: props.network.networkId, subnetwork: props.network.subnetworkId }],
        },
        containers: [
          {
            name: 'n8n',
            image: props.image ?? N8N_IMAGE,
            command: [...start.command],
            ports: { containerPort: N8N_PORT },
            resources: { limits: { cpu: '1', memory: '2048Mi' }, cpuIdle: false },
            env: [
              ...Object.entries(start.environment).map(([name, value]) => ({ name, value })),
              { name: 'DB_POSTGRESDB_HOST', value: this.database.instance.privateIpAddress },
              { name: 'DB_POSTGRESDB_PORT', value: '5432' },
              { name: 'DB_POSTGRESDB_DATABASE', value: 'n8n' },
              { name: 'DB_POSTGRESDB_USER', value: 'n8n' },
              // Private IP inside the VPC; Cloud SQL's per-instance CA is not in the image's trust store.
              { name: 'DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED', value: 'false' },
              { name: 'DB_POSTGRESDB_PASSWORD', valueSource: secret('N8N_DB_PASSWORD') },
              ...N8N_PROCESS_SECRETS.map((name) => ({ name, valueSource: secret(name) })),
              { name: 'N8N_PROTOCOL', value: 'https' },
              { name: 'N8N_PROXY_HOPS', value: '1' },
            ],
            // The start step runs n8n's CLI once per workflow before the server listens (2-3 minutes).
            startupProbe: {
              httpGet: { path: '/healthz', port: N8N_PORT },
              periodSeconds: 10,
              failureThreshold: N8N_STARTUP_SECONDS / 10,
            },
          },
        ],
      },
      dependsOn: grants,
    });
    // Webhooks reach n8n without Google credentials; n8n's user management guards the editor and API.
    new CloudRunV2ServiceIamMember(this, 'public-invoker', {
      name: this.service.name,
      location: props.region,
      role: 'roles/run.invoker',
      member: 'allUsers',
    });
    new TerraformOutput(this, 'url', { value: this.service.uri, description: 'n8n URL' }).overrideLogicalId('n8n_url');
    webhookOutputs(this, this.service.uri);
  }
}
