import type { Construct } from 'constructs';
import { Lazy, TerraformOutput } from 'cdktf';
import { CLOUD_SIZING, PROXY_HOPS, type StackSettings } from '@data-sync/config';
import { N8N_METRIC_LIST } from '@data-sync/monitoring/n8n-metrics';
import { IbmPostgres } from '../constructs/database/ibm';
import { IbmEventBus } from '../constructs/events/ibm';
import { RUNTIME_ROLE } from '../constructs/database/roles';
import {
  IbmIamAuthorizationPolicy,
  IbmIamServiceId,
  IbmIamServicePolicy,
  IbmProvider,
  IbmResourceGroup,
} from '../constructs/providers/ibm';
import { IbmMetricsRelay, IbmMonitoring, ibmRemoteWriteUrl } from '../constructs/monitoring/ibm';
import { IbmN8n } from '../constructs/n8n/ibm';
import { N8N_PROCESS_SECRETS } from '../constructs/n8n/provisioning';
import { n8nSecretNames } from '../constructs/n8n/processes';
import { IbmQueue } from '../constructs/queue/ibm';
import { IbmRuntime } from '../constructs/runtime/ibm';
import { IbmSecrets } from '../constructs/secrets/ibm';
import { IbmWorker } from '../constructs/worker/ibm';
import { addressOf } from '../constructs/shared/address';
import { DataSyncStack } from './data-sync-stack';

/** Deployment details config/ does not carry; all optional. */
export interface IbmStackOptions {
  /** IBM Cloud region. @default `us-south` */
  readonly region?: string;
  /** Resource group name. @default `default` */
  readonly resourceGroup?: string;
  /** Custom API hostname mapped to the active app, with the Code Engine TLS secret of its certificate. @default none: each app's own HTTPS endpoint */
  readonly customDomain?: { readonly domainName: string; readonly certificate: string };
  /** Image repository without tag. @default `us.icr.io/data-sync/data-sync-service` */
  readonly imageRepository?: string;
}

/** Secrets Manager secrets beside the integration credentials. */
export const IBM_EXTRA_SECRETS = [
  'DATA_SYNC_ENCRYPTION_KEY',
  // The first admin token; copied into the runtime-credentials secret with the others.
  'DATA_SYNC_ADMIN_TOKEN',
  ...N8N_PROCESS_SECRETS,
  'N8N_API_KEY',
  'N8N_WEBHOOK_TOKEN',
  // The API key of the events service ID (IbmEventBus), created out of band: the runtime's only way to publish events.
  'DATA_SYNC_IBM_EN_API_KEY',
  // A Monitor API token of the stack's Monitoring instance, the bearer of the runtime's remote write; created
  // out of band (Terraform would keep it in its state).
  'DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN',
] as const;

/** The IBM Cloud stack: the capabilities of stacks/capabilities.ts from IBM Cloud services, through the typed wrappers of constructs/providers/ibm.ts. */
export class IbmStack extends DataSyncStack {
  readonly secrets: IbmSecrets;
  readonly queue: IbmQueue;
  readonly database: IbmPostgres;
  readonly runtime: IbmRuntime;
  readonly worker: IbmWorker;
  readonly n8n?: IbmN8n;
  readonly monitoring: IbmMonitoring;

  constructor(scope: Construct, settings: StackSettings, options: IbmStackOptions = {}) {
    super(scope, settings);
    const { env, prefix } = settings;
    const region = options.region ?? 'us-south';
    new IbmProvider(this, 'ibm', { region });
    const resourceGroupId = new IbmResourceGroup(this, 'group', { name: options.resourceGroup ?? 'default' }).attr(
      'id',
    );

    this.secrets = new IbmSecrets(this, 'secrets', {
      prefix,
      region,
      resourceGroupId,
      integrations: settings.integrations,
      // The queue's Redis (queue mode, config/n8n-shape.ts) is n8n's like its other secrets.
      extra: [...new Set([...IBM_EXTRA_SECRETS, ...n8nSecretNames(settings.n8n)])],
    });
    const kmsGuid = this.secrets.kmsInstance.attr('guid');
    const dbReadsKey = new IbmIamAuthorizationPolicy(this, 'db-reads-key', {
      source_service_name: 'databases-for-postgresql',
      target_service_name: 'kms',
      target_resource_instance_id: kmsGuid,
      roles: ['Reader'],
      description: 'Databases for PostgreSQL encrypt disks and backups with the stack root key',
    });
    this.queue = new IbmQueue(this, 'queue', {
      prefix,
      region,
      resourceGroupId,
      enterprise: CLOUD_SIZING[env.name].ibmEventStreamsEnterprise,
      kmsInstanceGuid: kmsGuid,
      rootKeyCrn: this.secrets.rootKeyCrn,
      partitions: env.instanceCount,
    });
    this.database = new IbmPostgres(this, 'database', {
      name: prefix,
      region,
      resourceGroupId,
      rootKeyCrn: this.secrets.rootKeyCrn,
      sizing: env.database,
    });
    this.database.node.addDependency(dbReadsKey);

    // The runtime's identity: its API key (created out of band) goes into the runtime-credentials secret.
    const identity = new IbmIamServiceId(this, 'runtime-identity', {
      name: `${prefix}-runtime`,
      description: 'Data sync runtime and worker',
    });
    new IbmIamServicePolicy(this, 'runtime-event-streams', {
      iam_service_id: identity.id,
      roles: ['Reader', 'Writer'],
      resource_attributes: [
        { name: 'serviceName', value: 'messagehub' },
        { name: 'serviceInstance', value: this.queue.instance.attr('guid') },
      ],
      description: 'Produce and consume sync jobs',
    });
    // One policy per secret the runtime reads (its credentials and keys, never n8n's): a grant on the
    // instance would let it read every secret in it.
    const n8nOnly = new Set<string>(n8nSecretNames(settings.n8n));
    for (const [key, secretId] of this.secrets.secretIds) {
      if (n8nOnly.has(key)) continue;
      new IbmIamServicePolicy(this, `runtime-reads-${key}`, {
        iam_service_id: identity.id,
        roles: ['SecretsReader'],
        resource_attributes: [
          { name: 'serviceName', value: 'secrets-manager' },
          { name: 'serviceInstance', value: this.secrets.secretsManager.attr('guid') },
          { name: 'resourceType', value: 'secret' },
          { name: 'resource', value: secretId },
        ],
        description: `Read ${key}`,
      });
    }

    const events = new IbmEventBus(this, 'events', { prefix, region, resourceGroupId });

    const imageRepository = options.imageRepository ?? 'us.icr.io/data-sync/data-sync-service';
    this.runtime = new IbmRuntime(this, 'runtime', {
      prefix,
      resourceGroupId,
      imageRepository,
      activeSlot: settings.activeSlot,
      imageTags: settings.imageTags,
      instanceCount: env.instanceCount,
      cpuUnits: env.cpuUnits,
      memoryMb: env.memoryMb,
      customDomain: options.customDomain,
      config: {
        LOG_LEVEL: CLOUD_SIZING[env.name].logLevel,
        DATA_SYNC_ENVIRONMENT: env.name,
        // The worker job shares this config map and serves no HTTP, so only the API apps use it.
        DATA_SYNC_TRUST_PROXY: String(PROXY_HOPS.ibm),
        // The serving role's password and the owner role's DATABASE_MIGRATION_URL go into the
        // runtime-credentials secret (runtime_secret_keys); the deployment's self-signed CA verifies the server.
        DATABASE_URL: this.database.urlFor(RUNTIME_ROLE, 'data_sync'),
        DATABASE_CA: this.database.serverCaBase64,
        // No Event Streams binding in the runtime yet: jobs queue in PostgreSQL (the store binding).
        DATA_SYNC_QUEUE: 'store',
        ...events.environment,
        // Nothing scrapes a Code Engine app: each process sends its metrics, with the token from runtime-credentials.
        DATA_SYNC_METRICS_REMOTE_WRITE_URL: ibmRemoteWriteUrl(region),
        // n8n's app lives in the runtime's project, so its endpoint exists only once both are declared (a
        // private one where the editor is restricted); N8N_API_KEY and N8N_WEBHOOK_TOKEN come with the
        // runtime-credentials secret.
        ...(settings.features.enableN8nWorkflows
          ? { N8N_URL: Lazy.stringValue({ produce: () => this.n8n!.app.attr('endpoint') }) }
          : {}),
      },
    });
    const stableTag = settings.imageTags[settings.deploymentSlot === 'blue' ? 'green' : 'blue'];
    this.worker = new IbmWorker(this, 'worker', {
      prefix,
      projectId: this.runtime.projectId,
      image: `${imageRepository}:${stableTag}`,
      configMapName: this.runtime.configMapName,
      secretName: this.runtime.secretName,
      instanceCount: env.instanceCount,
    });
    if (settings.features.enableN8nWorkflows) {
      this.n8n = new IbmN8n(this, 'n8n', {
        prefix,
        projectId: this.runtime.projectId,
        region,
        resourceGroupId,
        rootKeyCrn: this.secrets.rootKeyCrn,
        database: env.database,
        features: settings.features,
        shape: settings.n8n,
        apiUrl: options.customDomain
          ? `https://${options.customDomain.domainName}`
          : this.runtime.apps[settings.activeSlot].attr('endpoint'),
      });
      this.n8n.database.node.addDependency(dbReadsKey);
      // n8n cannot push its metrics and nothing scrapes a Code Engine app: a relay job scrapes main (one instance).
      new IbmMetricsRelay(this, 'n8n-metrics', {
        prefix: `${prefix}-n8n`,
        projectId: this.runtime.projectId,
        image: `${imageRepository}:${stableTag}`,
        scrapeUrl: `${this.n8n.app.attr('endpoint')}/metrics`,
        metrics: N8N_METRIC_LIST,
        instance: `${prefix}-n8n`,
        region,
        tokenSecretName: this.runtime.secretName,
      });
    }
    this.monitoring = new IbmMonitoring(this, 'monitoring', {
      prefix,
      region,
      resourceGroupId,
      alertEmail: env.alertEmail,
      logRetentionDays: env.logRetentionDays,
    });

    if (this.runtime.domainMapping)
      new TerraformOutput(this, 'api_cname_target', {
        value: this.runtime.domainMapping.attr('cname_target'),
        description: 'CNAME target for the API domain',
      });
    this.exposeEndpoints(this.runtime);
    this.exposeImageRepository(imageRepository);
    if (this.n8n) new TerraformOutput(this, 'n8n_url', { value: this.n8n.app.attr('endpoint') });
    new TerraformOutput(this, 'runtime_secret_keys', {
      value: [
        'PGPASSWORD',
        'DATABASE_MIGRATION_URL',
        ...[...this.secrets.secretIds.keys()].filter((key) => !n8nOnly.has(key)),
      ],
      description:
        "Keys the runtime-credentials Code Engine secret must hold (ibmcloud ce secret update --from-env-file): the serving role data_sync_app's password, the owner role's URL and the runtime secrets",
    });
    this.provide('api', addressOf(this.runtime.apps[settings.activeSlot]));
    this.provide('webhooks', addressOf(this.runtime.domainMapping ?? this.runtime.apps[settings.activeSlot]));
    this.provide('queue', addressOf(this.queue.jobs));
    // Provisioned for an Event Streams binding; until the runtime has one, dead letters are the store queue's (PostgreSQL).
    this.provide('deadLetters', addressOf(this.queue.deadLetters));
    this.provide('worker', addressOf(this.worker.job));
    // The worker's own scheduler enqueues each enabled integration on its interval. Code Engine cron
    // subscriptions are not in the provider (IBM-Cloud/terraform-provider-ibm#5231) and could not
    // authenticate to the API anyway: they send no Authorization header.
    this.provide('schedules', addressOf(this.worker.job));
    this.provide('secrets', addressOf(this.secrets.secretsManager));
    this.provide('database', addressOf(this.database.database));
    if (this.n8n) this.provide('n8n', addressOf(this.n8n.app));
    else this.except('n8n', 'enableN8nWorkflows is false for this stack');
    this.provide('alerts', addressOf(this.monitoring.channel));
    this.provide('dashboards', addressOf(this.monitoring.dashboard));
    // The custom domain maps to the active slot's app; without one, `url` names the active app's endpoint.
    this.provide('blueGreen', addressOf(this.runtime.domainMapping ?? this.runtime.apps[settings.activeSlot]));
    this.provide('eventBus', addressOf(events.instance));
  }
}
