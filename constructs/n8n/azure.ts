import { ContainerApp } from '@cdktf/provider-azurerm/lib/container-app';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { AzureDatabase, type AzureDatabaseProps } from '../database/azure';
import { keyVaultSecretEnv, prometheusAgentSidecar } from '../runtime/azure';
import type { AzureSecrets } from '../secrets/azure';
import type { FeatureFlags, N8nShape } from '@data-sync/config';
import { N8N_IMAGE } from '../shared/n8n-image';
import { n8nProcessName, n8nProcesses, n8nSecretNames, type N8nProcess, type N8nRole } from './processes';
import { N8N_DB_PASSWORD_SECRET, N8N_PORT, N8N_STARTUP_SECONDS, webhookOutputs } from './provisioning';

export interface AzureN8nProps {
  /** Resource name prefix, e.g. `ds-prod`. */
  readonly prefix: string;
  readonly resourceGroupName: string;
  readonly location: string;
  readonly environmentId: string;
  /** Default domain of the apps environment: each app's FQDN is `<name>.<domain>` (WEBHOOK_URL without a cycle). */
  readonly environmentDomain: string;
  /** CIDR of the apps environment's subnet: the runtime and n8n's own processes call main's API from there. */
  readonly environmentCidr: string;
  /** Key Vault holding n8nSecretNames(shape) and N8N_DB_PASSWORD_SECRET (filled out of band). */
  readonly secrets: AzureSecrets;
  /** Its own Flexible Server: everything but the database list. */
  readonly database: Omit<AzureDatabaseProps, 'databases'>;
  /** Feature flags: which workflows are published. */
  readonly features: FeatureFlags;
  /** Processes (regular or queue mode) and editor access of the environment. */
  readonly shape: N8nShape;
  /** Where main's metrics go: the Azure Monitor workspace's remote-write URL and its data collection rule. */
  readonly metrics: { readonly remoteWriteUrl: string; readonly ruleId: string };
  /** Public URL of this service's API; @default none: DATA_SYNC_API_URL comes from the N8N_CREDENTIALS settings. */
  readonly apiUrl?: string;
  /** Image; @default N8N_IMAGE. */
  readonly image?: string;
}

/**
 * n8n as Container Apps with its own Flexible Server: main (one replica: it owns schedules and
 * provisioning) and, in queue mode, worker apps without ingress and public webhook apps that the
 * webhook URLs point at. Where the editor is restricted, main's ingress admits only the allowlist and
 * the environment's own subnet. Its identity reads only n8n's secrets (encryption key, owner,
 * credential values, Redis, database password); the `n8n` database user is created out of band with
 * the password stored in Key Vault. Main provisions the workflows before `n8n start`.
 */
export class AzureN8n extends Construct {
  /** The main process (editor, API, schedules). */
  readonly app: ContainerApp;
  readonly apps: Partial<Record<N8nRole, ContainerApp>> = {};
  readonly database: AzureDatabase;
  readonly identity: UserAssignedIdentity;
  /** Public base URL of the webhooks (the webhook processes in queue mode, else main). */
  readonly webhookBaseUrl: string;

  constructor(scope: Construct, id: string, props: AzureN8nProps) {
    super(scope, id);
    this.database = new AzureDatabase(this, 'database', { ...props.database, databases: ['n8n'] });
    this.identity = new UserAssignedIdentity(this, 'identity', {
      name: `${props.prefix}-n8n`,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
    });
    const secretNames = [...n8nSecretNames(props.shape), N8N_DB_PASSWORD_SECRET];
    const grants = [
      ...props.secrets.grantRead('n8n-reads', this.identity.principalId, secretNames),
      // Main's Prometheus agent remote-writes n8n's metrics as n8n's identity, to the rule only.
      new RoleAssignment(this, 'metrics-publisher', {
        scope: props.metrics.ruleId,
        roleDefinitionName: 'Monitoring Metrics Publisher',
        principalId: this.identity.principalId,
        principalType: 'ServicePrincipal',
      }),
    ];
    const fromVault = keyVaultSecretEnv(props.secrets, this.identity.id, secretNames);
    const env = (name: string) => fromVault.env.find((e) => e.name === name)!;
    const processes = n8nProcesses(props.shape, props.features, props.apiUrl);
    const appName = (role: N8nRole) => n8nProcessName(`${props.prefix}-n8n`, role);
    const webhookRole: N8nRole = processes.some((p) => p.role === 'webhook') ? 'webhook' : 'main';
    this.webhookBaseUrl = `https://${appName(webhookRole)}.${props.environmentDomain}`;
    const editor = props.shape.editor;
    const run = (process: N8nProcess): ContainerApp => {
      const served = process.role !== 'worker';
      const restricted = process.role === 'main' && editor.access === 'allowlist';
      const app = new ContainerApp(this, process.role === 'main' ? 'app' : `app-${process.role}`, {
        name: appName(process.role),
        resourceGroupName: props.resourceGroupName,
        containerAppEnvironmentId: props.environmentId,
        revisionMode: 'Single',
        workloadProfileName: 'Consumption',
        identity: { type: 'UserAssigned', identityIds: [this.identity.id] },
        secret: fromVault.secret.filter((s) =>
          [...process.secrets, N8N_DB_PASSWORD_SECRET].some((name) => env(name).secretName === s.name),
        ),
        ...(served
          ? {
              ingress: {
                externalEnabled: true,
                targetPort: N8N_PORT,
                allowInsecureConnections: false,
                trafficWeight: [{ latestRevision: true, percentage: 100 }],
                // Allow rules only: everything else is refused (the environment subnet: the runtime's API calls).
                ...(restricted
                  ? {
                      ipSecurityRestriction: [
                        {
                          name: 'apps-environment',
                          action: 'Allow',
                          ipAddressRange: props.environmentCidr,
                          description: 'the runtime and n8n processes in this environment',
                        },
                        ...editor.cidrs.map((cidr, i) => ({
                          name: `editor-${i}`,
                          action: 'Allow',
                          ipAddressRange: cidr,
                          description: 'n8nEditorAllowlist',
                        })),
                      ],
                    }
                  : {}),
              },
            }
          : {}),
        template: {
          minReplicas: process.instances,
          maxReplicas: process.instances,
          container: [
            {
              name: 'n8n',
              image: props.image ?? N8N_IMAGE,
              cpu: 1,
              memory: '2Gi',
              command: [...process.command],
              env: [
                ...Object.entries(process.environment).map(([name, value]) => ({ name, value })),
                { name: 'WEBHOOK_URL', value: `${this.webhookBaseUrl}/` },
                { name: 'DB_POSTGRESDB_HOST', value: this.database.server.fqdn },
                { name: 'DB_POSTGRESDB_PORT', value: '5432' },
                { name: 'DB_POSTGRESDB_DATABASE', value: 'n8n' },
                { name: 'DB_POSTGRESDB_USER', value: 'n8n' },
                { name: 'DB_POSTGRESDB_PASSWORD', secretName: env(N8N_DB_PASSWORD_SECRET).secretName },
                ...process.secrets.map(env),
                { name: 'N8N_PROTOCOL', value: 'https' },
                { name: 'N8N_PROXY_HOPS', value: '1' },
              ],
              // Main runs n8n's CLI once per workflow before the server listens (2-3 minutes).
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
            ...(process.role === 'main'
              ? [
                  prometheusAgentSidecar(
                    { remoteWriteUrl: props.metrics.remoteWriteUrl, clientId: this.identity.clientId },
                    N8N_PORT,
                    { service: 'data-sync', app: appName('main') },
                  ),
                ]
              : []),
          ],
        },
        dependsOn: grants,
      });
      this.apps[process.role] = app;
      return app;
    };
    this.app = run(processes[0]);
    for (const process of processes.slice(1)) run(process);
    new TerraformOutput(this, 'url', {
      value: `https://${this.app.ingress.fqdn}`,
      description: 'n8n URL',
    }).overrideLogicalId('n8n_url');
    webhookOutputs(this, this.webhookBaseUrl);
  }
}
