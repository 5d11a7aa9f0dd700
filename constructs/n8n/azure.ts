import { ContainerApp } from '@cdktf/provider-azurerm/lib/container-app';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { AzureDatabase, type AzureDatabaseProps } from '../database/azure';
import { keyVaultSecretEnv } from '../runtime/azure';
import type { AzureSecrets } from '../secrets/azure';
import type { FeatureFlags } from '@data-sync/config';
import { N8N_IMAGE } from '../generic/workload';
import { N8N_SECRETS } from './gcp';
import { N8N_PORT, N8N_PROCESS_SECRETS, N8N_STARTUP_SECONDS, n8nStart, webhookOutputs } from './provisioning';

export interface AzureN8nProps {
  /** Resource name prefix, e.g. `ds-prod`. */
  readonly prefix: string;
  readonly resourceGroupName: string;
  readonly location: string;
  readonly environmentId: string;
  /** Key Vault holding N8N_SECRETS (filled out of band). */
  readonly secrets: AzureSecrets;
  /** Its own Flexible Server: everything but the database list. */
  readonly database: Omit<AzureDatabaseProps, 'databases'>;
  /** Feature flags: which workflows are published. */
  readonly features: FeatureFlags;
  /** Public URL of this service's API; @default none: DATA_SYNC_API_URL comes from the N8N_CREDENTIALS settings. */
  readonly apiUrl?: string;
  /** Image; @default N8N_IMAGE. */
  readonly image?: string;
}

/**
 * n8n as a Container App (one replica: n8n's regular mode is not horizontally scalable) with its
 * own Flexible Server. Its own identity reads only its secrets (encryption key, owner, credential
 * values, database password); the `n8n` database user is created out of band with the password
 * stored in Key Vault. The container provisions the workflows before `n8n start`.
 */
export class AzureN8n extends Construct {
  readonly app: ContainerApp;
  readonly database: AzureDatabase;
  readonly identity: UserAssignedIdentity;

  constructor(scope: Construct, id: string, props: AzureN8nProps) {
    super(scope, id);
    this.database = new AzureDatabase(this, 'database', { ...props.database, databases: ['n8n'] });
    this.identity = new UserAssignedIdentity(this, 'identity', {
      name: `${props.prefix}-n8n`,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
    });
    const grant = props.secrets.grantRead('n8n-reads-secrets', this.identity.principalId);
    const fromVault = keyVaultSecretEnv(props.secrets, this.identity.id, N8N_SECRETS);
    const env = (name: string) => fromVault.env.find((e) => e.name === name)!;
    const start = n8nStart(props.features, props.apiUrl);
    this.app = new ContainerApp(this, 'app', {
      name: `${props.prefix}-n8n`,
      resourceGroupName: props.resourceGroupName,
      containerAppEnvironmentId: props.environmentId,
      revisionMode: 'Single',
      workloadProfileName: 'Consumption',
      identity: { type: 'UserAssigned', identityIds: [this.identity.id] },
      secret: fromVault.secret,
      ingress: {
        externalEnabled: true,
        targetPort: N8N_PORT,
        allowInsecureConnections: false,
        trafficWeight: [{ latestRevision: true, percentage: 100 }],
      },
      template: {
        minReplicas: 1,
        maxReplicas: 1,
        container: [
          {
            name: 'n8n',
            image: props.image ?? N8N_IMAGE,
            cpu: 1,
            memory: '2Gi',
            command: [...start.command],
            env: [
              ...Object.entries(start.environment).map(([name, value]) => ({ name, value })),
              { name: 'DB_POSTGRESDB_HOST', value: this.database.server.fqdn },
              { name: 'DB_POSTGRESDB_PORT', value: '5432' },
              { name: 'DB_POSTGRESDB_DATABASE', value: 'n8n' },
              { name: 'DB_POSTGRESDB_USER', value: 'n8n' },
              { name: 'DB_POSTGRESDB_PASSWORD', secretName: env('N8N_DB_PASSWORD').secretName },
              ...N8N_PROCESS_SECRETS.map(env),
              { name: 'N8N_PROTOCOL', value: 'https' },
              { name: 'N8N_PROXY_HOPS', value: '1' },
            ],
            // The start step runs n8n's CLI once per workflow before the server listens (2-3 minutes).
            startupProbe: [
              {
                transport: 'HTTP',
                path: '/healthz',
                port: N8N_PORT,
                intervalSeconds: 30,
                failureCountThreshold: N8N_STARTUP_SECONDS / 30,
              },
            ],
          },
        ],
      },
      dependsOn: [grant],
    });
    new TerraformOutput(this, 'url', {
      value: `https://${this.app.ingress.fqdn}`,
      description: 'n8n URL',
    }).overrideLogicalId('n8n_url');
    webhookOutputs(this, `https://${this.app.ingress.fqdn}`);
  }
}
