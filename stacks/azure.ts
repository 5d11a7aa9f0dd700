import { AzureEventBus } from '../constructs/events/azure';
import { ContainerRegistry } from '@cdktf/provider-azurerm/lib/container-registry';
import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { ResourceGroup } from '@cdktf/provider-azurerm/lib/resource-group';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { UserAssignedIdentity } from '@cdktf/provider-azurerm/lib/user-assigned-identity';
import { Fn, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { CLOUD_SIZING, PROXY_HOPS, type StackSettings } from '@data-sync/config';
import { AzureDatabase } from '../constructs/database/azure';
import { RUNTIME_ROLE } from '../constructs/database/roles';
import { AzureMetricsWorkspace, AzureMonitoring } from '../constructs/monitoring/azure';
import { N8N_DB_PASSWORD_SECRET } from '../constructs/n8n/provisioning';
import { n8nSecretNames } from '../constructs/n8n/processes';
import { AzureN8n } from '../constructs/n8n/azure';
import { AzureNetwork } from '../constructs/network/azure';
import { AzureQueue } from '../constructs/queue/azure';
import { AzureAppsEnvironment, AzureRuntime } from '../constructs/runtime/azure';
import { AzureSchedules, SCHEDULER_TOKEN_SECRET } from '../constructs/schedules/azure';
import { AzureSecrets } from '../constructs/secrets/azure';
import { AzureWorker } from '../constructs/worker/azure';
import { DataSyncStack } from './data-sync-stack';
import { RUNTIME_SECRETS } from './gcp';
import { addressOf } from '../constructs/shared/address';

/** Deployment details config/ does not carry; all optional. */
export interface AzureStackOptions {
  /** Azure region: the default of the azure_location variable. @default `westeurope` */
  readonly region?: string;
}

/**
 * The Azure composition: Container Apps (runtime with blue/green revision labels, a Service Bus
 * worker, scheduled jobs, n8n), Service Bus with dead-lettering, Key Vault, private PostgreSQL
 * Flexible Servers, Log Analytics, and Azure Monitor (managed Prometheus rule group, Service Bus
 * metric alerts, action group, portal dashboard).
 */
export class AzureStack extends DataSyncStack {
  constructor(scope: Construct, settings: StackSettings, options: AzureStackOptions = {}) {
    super(scope, settings);
    const { env } = settings;
    const prefix = `ds-${env.name}`;
    const subscriptionId = new TerraformVariable(this, 'azure_subscription_id', {
      type: 'string',
      description: `Azure subscription of the ${env.name} environment`,
    }).stringValue;
    const location = new TerraformVariable(this, 'azure_location', {
      type: 'string',
      default: options.region ?? 'westeurope',
      description: 'Region of every resource',
    }).stringValue;
    const adminPassword = (name: string, what: string) =>
      new TerraformVariable(this, name, {
        type: 'string',
        sensitive: true,
        nullable: false,
        description: `Administrator password of the ${what} PostgreSQL server (write-only: never stored in state; pass TF_VAR_${name})`,
      }).stringValue;
    new AzurermProvider(this, 'azurerm', { features: [{}], subscriptionId, storageUseAzuread: true });
    const tenantId = new DataAzurermClientConfig(this, 'client').tenantId;
    // Globally unique names (vault, registry, namespace, servers) get a stable suffix per subscription and environment.
    const unique = Fn.substr(Fn.md5(Fn.join('/', [subscriptionId, settings.prefix])), 0, 6);
    const group = new ResourceGroup(this, 'group', {
      name: `${settings.prefix}-rg`,
      location,
      tags: { service: env.serviceName, environment: env.name, managed_by: 'cdktf' },
    });
    const base = { resourceGroupName: group.name, location };
    const n8nEnabled = settings.features.enableN8nWorkflows;

    const network = new AzureNetwork(this, 'network', { prefix, ...base });
    const credentials = settings.integrations.flatMap((i) => i.credentials);
    const runtimeSecrets = [
      ...credentials,
      ...RUNTIME_SECRETS,
      ...(n8nEnabled ? ['N8N_API_KEY', 'N8N_WEBHOOK_TOKEN'] : []),
    ];
    const secrets = new AzureSecrets(this, 'secrets', {
      ...base,
      name: `${prefix}-kv-${unique}`,
      tenantId,
      names: [
        ...runtimeSecrets,
        SCHEDULER_TOKEN_SECRET,
        ...(n8nEnabled ? [...n8nSecretNames(settings.n8n), N8N_DB_PASSWORD_SECRET] : []),
      ],
    });
    const queue = new AzureQueue(this, 'queue', {
      ...base,
      namespaceName: `${prefix}-bus-${unique}`,
      maxDeliveries: env.maxReceiveCount,
      lockSeconds: Math.min(300, env.workerTimeoutSeconds),
    });
    const databaseShared = {
      ...base,
      tenantId,
      delegatedSubnetId: network.databaseSubnet.id,
      privateDnsZoneId: network.databaseDnsZone.id,
      dnsLink: network.databaseDnsLink,
      highAvailability: env.database.multiAz,
      deletionProtection: env.database.deletionProtection,
      backupRetentionDays: env.database.backupRetentionDays,
    };
    const database = new AzureDatabase(this, 'database', {
      ...databaseShared,
      name: `${prefix}-db-${unique}`,
      skuName: CLOUD_SIZING[env.name].azurePostgresSku.runtime,
      storageGb: env.database.allocatedStorageGb,
      administratorPassword: adminPassword('postgres_admin_password', 'data sync'),
      databases: ['data_sync'],
    });

    const identity = new UserAssignedIdentity(this, 'runtime-identity', { ...base, name: `${prefix}-runtime` });
    const schedulerIdentity = new UserAssignedIdentity(this, 'scheduler-identity', {
      ...base,
      name: `${prefix}-scheduler`,
    });
    const registry = new ContainerRegistry(this, 'registry', {
      ...base,
      name: Fn.join('', ['datasync', env.name, unique]),
      sku: 'Standard',
      adminEnabled: false,
      anonymousPullEnabled: false,
    });
    const pull = new RoleAssignment(this, 'runtime-pulls-images', {
      scope: registry.id,
      roleDefinitionName: 'AcrPull',
      principalId: identity.principalId,
      principalType: 'ServicePrincipal',
    });
    const readSecrets = secrets.grantRead('runtime-reads', identity.principalId, runtimeSecrets);
    const schedulerReads = secrets.grantRead('scheduler-reads', schedulerIdentity.principalId, [
      SCHEDULER_TOKEN_SECRET,
    ]);
    const queueGrants = queue.grant('runtime', identity.principalId, ['owner']);
    const events = new AzureEventBus(this, 'events', {
      prefix,
      namespaceId: queue.namespace.id,
      publisherPrincipalId: identity.principalId,
    });
    const metrics = new AzureMetricsWorkspace(this, 'metrics', {
      prefix,
      ...base,
      publisher: { principalId: identity.principalId, clientId: identity.clientId },
    });
    const apps = new AzureAppsEnvironment(this, 'apps', {
      prefix,
      ...base,
      subnetId: network.appsSubnet.id,
      logRetentionDays: env.logRetentionDays,
      zoneRedundant: env.database.multiAz,
    });
    secrets.auditTo(apps.logs.id);

    const n8n = n8nEnabled
      ? new AzureN8n(this, 'n8n', {
          prefix,
          ...base,
          environmentId: apps.environment.id,
          environmentDomain: apps.environment.defaultDomain,
          environmentCidr: Fn.element(network.appsSubnet.addressPrefixes, 0),
          secrets,
          features: settings.features,
          shape: settings.n8n,
          metrics: { remoteWriteUrl: metrics.sink.remoteWriteUrl, ruleId: metrics.rule.id },
          // The runtime app's FQDN in the environment's domain: its own attribute would make a cycle (its environment names n8n's).
          apiUrl: `https://${prefix}-runtime.${apps.environment.defaultDomain}`,
          database: {
            ...databaseShared,
            name: `${prefix}-n8n-db-${unique}`,
            skuName: CLOUD_SIZING[env.name].azurePostgresSku.n8n,
            storageGb: 32,
            administratorPassword: adminPassword('n8n_postgres_admin_password', 'n8n'),
          },
        })
      : undefined;
    const sharedEnv = {
      LOG_LEVEL: 'info',
      DATA_SYNC_ENVIRONMENT: env.name,
      DATABASE_URL: database.urlFor(RUNTIME_ROLE, 'data_sync'),
      // The runtime authenticates to Service Bus as its managed identity (AZURE_CLIENT_ID): the namespace takes no keys.
      DATA_SYNC_QUEUE: 'servicebus',
      DATA_SYNC_SERVICEBUS_HOST: Fn.trimsuffix(Fn.trimprefix(queue.namespace.endpoint, 'https://'), ':443/'),
      DATA_SYNC_SERVICEBUS_QUEUE: queue.queue.name,
      ...events.environment,
      ...(n8n ? { N8N_URL: `https://${n8n.app.ingress.fqdn}` } : {}),
    };
    const grants = [pull, ...readSecrets, metrics.publisherGrant, ...queueGrants, events.sender];
    const runtime = new AzureRuntime(this, 'runtime', {
      name: `${prefix}-runtime`,
      resourceGroupName: group.name,
      environment: apps.environment,
      registry: registry.loginServer,
      repository: env.serviceName,
      imageTags: settings.imageTags,
      activeSlot: settings.activeSlot,
      deploymentSlot: settings.deploymentSlot,
      identity: { id: identity.id, clientId: identity.clientId },
      cpuUnits: env.cpuUnits,
      memoryMb: env.memoryMb,
      instanceCount: env.instanceCount,
      env: { ...sharedEnv, DATA_SYNC_ROLE: 'api', DATA_SYNC_TRUST_PROXY: String(PROXY_HOPS.azure) },
      secrets,
      secretNames: runtimeSecrets,
      metrics: metrics.sink,
      dependsOn: grants,
    });
    this.exposeEndpoints(runtime);
    this.exposeImageRepository(`${registry.loginServer}/${env.serviceName}`);
    const worker = new AzureWorker(this, 'worker', {
      name: `${prefix}-worker`,
      resourceGroupName: group.name,
      environmentId: apps.environment.id,
      image: `${registry.loginServer}/${env.serviceName}:${settings.imageTags[settings.activeSlot]}`,
      registry: registry.loginServer,
      identity: { id: identity.id, clientId: identity.clientId },
      replicas: env.instanceCount,
      cpuUnits: env.cpuUnits,
      memoryMb: env.memoryMb,
      env: sharedEnv,
      secrets,
      secretNames: runtimeSecrets,
      metrics: metrics.sink,
      dependsOn: grants,
    });
    const schedules = new AzureSchedules(this, 'schedules', {
      prefix,
      ...base,
      environmentId: apps.environment.id,
      runtimeUrl: `https://${runtime.app.ingress.fqdn}`,
      identityId: schedulerIdentity.id,
      secrets,
      integrations: settings.integrations,
      dependsOn: schedulerReads,
    });
    const monitoring = new AzureMonitoring(this, 'monitoring', {
      prefix,
      ...base,
      alertEmail: env.alertEmail,
      metrics,
      serviceBus: { namespaceId: queue.namespace.id, queue: queue.queue.name },
    });

    this.provide('api', addressOf(runtime.app));
    this.provide('webhooks', addressOf(runtime.app));
    this.provide('queue', addressOf(queue.queue));
    this.provide('deadLetters', addressOf(queue.queue));
    this.provide('worker', addressOf(worker.app));
    const jobs = Object.values(schedules.jobs);
    if (jobs.length > 0) this.provide('schedules', addressOf(jobs[0]));
    else this.except('schedules', 'no integration is enabled in this environment, so there is nothing to schedule');
    this.provide('secrets', addressOf(secrets.vault));
    this.provide('database', addressOf(database.server));
    if (n8n) this.provide('n8n', addressOf(n8n.app));
    else this.except('n8n', 'enableN8nWorkflows is false for this environment');
    this.provide('alerts', addressOf(monitoring.ruleGroup));
    this.provide('dashboards', addressOf(monitoring.dashboard));
    this.provide('blueGreen', addressOf(runtime.app));
    this.provide('eventBus', addressOf(events.topic));
  }
}
