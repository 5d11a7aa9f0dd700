import { ContainerApp } from '@cdktf/provider-azurerm/lib/container-app';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { AzureDatabase, type AzureDatabaseProps } from '../database/azure';
import { keyVaultSecretEnv } from '../runtime/azure';
import type { AzureSecrets } from '../secrets/azure';
import { N8N_IMAGE, N8N_SECRETS } from './gcp';

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
  /** Image (default N8N_IMAGE). */
  readonly image?: string;
}

/**
 * n8n as a Container App (one replica: n8n's regular mode is not horizontally scalable) with its
 * own Flexible Server. Its own identity reads only its secrets; the `n8n` database user is created
 * out of band with the password stored in Key Vault.
 */
export class AzureN8n extends Construct {
  readonly app: ContainerApp;
  readonly database: AzureDatabase;
  readonly identity: UserAssignedIdentity;

  constructor(scope: Construct, id: string, props: AzureN8nProps) {
    super(scope, id);
    this.database = new AzureDatabase(this, 'database', { ...props.database, databases: ['n8n'] });
    this.identity = new UserAssignedIdentity(this, 'identity', { name: `${props.prefix}-n8n`, resourceGroupName: props.resourceGroupName, location: props.location });
    const grant = props.secrets.grantRead('n8n-reads-secrets', this.identity.principalId);
    const fromVault = keyVaultSecretEnv(props.secrets, this.identity.id, N8N_SECRETS);
    const env = (name: string) => fromVault.env.find((e) => e.name === name)!;
    this.app = new ContainerApp(this, 'app', {
      name: `${props.prefix}-n8n`,
      resourceGroupName: props.resourceGroupName,
      containerAppEnvironmentId: props.environmentId,
      revisionMode: 'Single',
      workloadProfileName: 'Consumption',
      identity: { type: 'UserAssigned', identityIds: [this.identity.id] },
      secret: fromVault.secret,
      ingress: { externalEnabled: true, targetPort: 5678, allowInsecureConnections: false, trafficWeight: [{ latestRevision: true, percentage: 100 }] },
      template: {
        minReplicas: 1,
        maxReplicas: 1,
        container: [
          {
            name: 'n8n',
            image: props.image ?? N8N_IMAGE,
            cpu: 1,
            memory: '2Gi',
            env: [
              { name: 'DB_TYPE', value: 'postgresdb' },
              { name: 'DB_POSTGRESDB_HOST', value: this.database.server.fqdn },
              { name: 'DB_POSTGRESDB_PORT', value: '5432' },
              { name: 'DB_POSTGRESDB_DATABASE', value: 'n8n' },
              { name: 'DB_POSTGRESDB_USER', value: 'n8n' },
              { name: 'DB_POSTGRESDB_SSL_ENABLED', value: 'true' },
              { name: 'DB_POSTGRESDB_PASSWORD', secretName: env('N8N_DB_PASSWORD').secretName },
              env('N8N_ENCRYPTION_KEY'),
              { name: 'N8N_PROTOCOL', value: 'https' },
              { name: 'N8N_PROXY_HOPS', value: '1' },
              { name: 'N8N_DIAGNOSTICS_ENABLED', value: 'false' },
              { name: 'N8N_VERSION_NOTIFICATIONS_ENABLED', value: 'false' },
              { name: 'EXECUTIONS_DATA_PRUNE', value: 'true' },
            ],
            startupProbe: [{ transport: 'HTTP', path: '/healthz', port: 5678, intervalSeconds: 30, failureCountThreshold: 10 }],
          },
        ],
      },
      dependsOn: [grant],
    });
    new TerraformOutput(this, 'url', { value: `https://${this.app.ingress.fqdn}`, description: 'n8n URL' }).overrideLogicalId('n8n_url');
  }
}
