import { GcpEventBus } from '../constructs/events/gcp';
import { ArtifactRegistryRepository } from '@cdktf/provider-google/lib/artifact-registry-repository';
import { DataGoogleProject } from '@cdktf/provider-google/lib/data-google-project';
import { GoogleProvider } from '@cdktf/provider-google/lib/provider';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { TerraformVariable } from 'cdktf';
import { addressOf } from '../constructs/shared/address';
import type { Construct } from 'constructs';
import { CLOUD_SIZING, PROXY_HOPS, type StackSettings } from '@data-sync/config';
import { GcpDatabase } from '../constructs/database/gcp';
import { RUNTIME_ROLE } from '../constructs/database/roles';
import { GcpMonitoring } from '../constructs/monitoring/gcp';
import { GcpN8n } from '../constructs/n8n/gcp';
import { N8N_DB_PASSWORD_SECRET } from '../constructs/n8n/provisioning';
import { n8nSecretNames } from '../constructs/n8n/processes';
import { GcpNetwork } from '../constructs/network/gcp';
import { GcpQueue } from '../constructs/queue/gcp';
import { GcpRuntime } from '../constructs/runtime/gcp';
import { GcpSchedules } from '../constructs/schedules/gcp';
import { GcpSecrets } from '../constructs/secrets/gcp';
import { GcpPushWorker } from '../constructs/worker/gcp';
import { DataSyncStack } from './data-sync-stack';

/** Deployment details config/ does not carry; all optional. */
export interface GcpStackOptions {
  /** GCP region: the default of the gcp_region variable. @default `us-central1` */
  readonly region?: string;
}

/**
 * The runtime's own secrets (GCP and Azure) besides the integration credentials; DATA_SYNC_ADMIN_TOKEN is the
 * first admin token, never printed. N8N_API_KEY and N8N_WEBHOOK_TOKEN come only with n8n.
 */
export const RUNTIME_SECRETS = [
  // The serving role's password and the owner role's URL: see the README, "Database TLS and roles".
  'PGPASSWORD',
  'DATABASE_MIGRATION_URL',
  'DATA_SYNC_ENCRYPTION_KEY',
  'DATA_SYNC_ADMIN_TOKEN',
] as const;

/**
 * The GCP composition: Cloud Run v2 runtime with blue-green traffic tags, Pub/Sub with a push
 * worker and dead letters, Cloud Scheduler, Secret Manager + KMS, private Cloud SQL, n8n on Cloud
 * Run with its own Cloud SQL, and Cloud Monitoring alerts and dashboard. The project is the
 * `gcp_project` variable, one project per environment.
 */
export class GcpStack extends DataSyncStack {
  constructor(scope: Construct, settings: StackSettings, options: GcpStackOptions = {}) {
    super(scope, settings);
    const { env, prefix } = settings;
    const project = new TerraformVariable(this, 'gcp_project', {
      type: 'string',
      description: `GCP project id of the ${env.name} environment`,
    }).stringValue;
    const region = new TerraformVariable(this, 'gcp_region', {
      type: 'string',
      default: options.region ?? 'us-central1',
      description: 'Region of every regional resource',
    }).stringValue;
    new GoogleProvider(this, 'google', {
      project,
      region,
      defaultLabels: { service: env.serviceName, environment: env.name, managed_by: 'cdktf' },
    });
    const projectNumber = new DataGoogleProject(this, 'project', { projectId: project }).number;
    const accountPrefix = `ds-${env.name}`;
    const n8nEnabled = settings.features.enableN8nWorkflows;
    // A fixed audience: the endpoint URL would make the runtime's own environment refer to its URL (a cycle).
    const pushAudience = `${prefix}-jobs-push`;

    const network = new GcpNetwork(this, 'network', { prefix, region });
    const credentials = settings.integrations.flatMap((i) => i.credentials);
    const runtimeSecrets = [...RUNTIME_SECRETS, ...(n8nEnabled ? ['N8N_API_KEY', 'N8N_WEBHOOK_TOKEN'] : [])];
    const secrets = new GcpSecrets(this, 'secrets', {
      prefix,
      region,
      projectNumber,
      names: [
        ...credentials,
        ...runtimeSecrets,
        ...(n8nEnabled ? [...n8nSecretNames(settings.n8n), N8N_DB_PASSWORD_SECRET] : []),
      ],
    });
    const queue = new GcpQueue(this, 'queue', {
      prefix,
      region,
      kmsKeyId: secrets.key.id,
      keyGrants: [...secrets.keyGrants],
      projectNumber,
    });
    const database = new GcpDatabase(this, 'database', {
      name: `${prefix}-db`,
      region,
      networkId: network.network.id,
      privateServices: network.privateServices,
      tier: CLOUD_SIZING[env.name].gcpSqlTier.runtime,
      diskSizeGb: env.database.allocatedStorageGb,
      highAvailability: env.database.multiAz,
      deletionProtection: env.database.deletionProtection,
      backupRetentionDays: env.database.backupRetentionDays,
      databases: ['data_sync'],
    });
    const n8n = n8nEnabled
      ? new GcpN8n(this, 'n8n', {
          prefix,
          accountPrefix,
          region,
          secrets,
          features: settings.features,
          shape: settings.n8n,
          project,
          projectNumber,
          // Cloud Run's deterministic URL of the runtime: its own URI would make a cycle (its environment names n8n's).
          apiUrl: `https://${prefix}-runtime-${projectNumber}.${region}.run.app`,
          network: { networkId: network.network.id, subnetworkId: network.subnetwork.id },
          database: {
            networkId: network.network.id,
            privateServices: network.privateServices,
            tier: CLOUD_SIZING[env.name].gcpSqlTier.n8n,
            diskSizeGb: 20,
            highAvailability: env.database.multiAz,
            deletionProtection: env.database.deletionProtection,
            backupRetentionDays: env.database.backupRetentionDays,
          },
        })
      : undefined;

    const registry = new ArtifactRegistryRepository(this, 'images', {
      repositoryId: `${prefix}-images`,
      location: region,
      format: 'DOCKER',
      description: 'Runtime images; tags are immutable so a slot keeps exactly the image it was deployed with',
      dockerConfig: { immutableTags: true },
    });
    const imageRepository = `${region}-docker.pkg.dev/${project}/${registry.repositoryId}/${env.serviceName}`;
    const identity = new ServiceAccount(this, 'runtime-identity', {
      accountId: `${accountPrefix}-runtime`,
      displayName: `${prefix} runtime`,
    });
    const member = `serviceAccount:${identity.email}`;
    // The runtime calls N8N_URL with an ID token of this identity (bundles/gcp.ts): main admits no one else.
    n8n?.grantInvoker('runtime-invoker', member);
    const grants = secrets.grantAccess('runtime', member, [...credentials, ...runtimeSecrets]);
    // Pushes arrive as HTTP requests: a job must finish within the ack deadline (Pub/Sub allows at most 600 s).
    const events = new GcpEventBus(this, 'events', {
      prefix,
      region,
      kmsKeyId: secrets.key.id,
      keyGrants: [...secrets.keyGrants],
      publisher: member,
      serviceAgent: queue.serviceAgent,
    });
    const ackDeadlineSeconds = Math.min(600, env.workerTimeoutSeconds + 60);
    const runtime = new GcpRuntime(this, 'runtime', {
      name: `${prefix}-runtime`,
      region,
      project,
      image: imageRepository,
      imageTags: settings.imageTags,
      activeSlot: settings.activeSlot,
      deploymentSlot: settings.deploymentSlot,
      serviceAccountEmail: identity.email,
      cpuUnits: env.cpuUnits,
      memoryMb: env.memoryMb,
      instanceCount: env.instanceCount,
      timeoutSeconds: ackDeadlineSeconds,
      env: {
        LOG_LEVEL: 'info',
        DATA_SYNC_ROLE: 'all',
        DATA_SYNC_TRUST_PROXY: String(PROXY_HOPS.gcp),
        DATA_SYNC_ENVIRONMENT: env.name,
        GOOGLE_CLOUD_PROJECT: project,
        DATABASE_URL: database.urlFor(RUNTIME_ROLE, 'data_sync'),
        DATABASE_CA: database.serverCa,
        DATA_SYNC_PUBSUB_PUSH_AUDIENCE: pushAudience,
        ...events.environment,
        DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT: `${accountPrefix}-push@${project}.iam.gserviceaccount.com`,
        ...(n8n ? { N8N_URL: n8n.service.uri } : {}),
      },
      secrets: Object.fromEntries(
        [...credentials, ...runtimeSecrets].map((name) => [name, secrets.secrets[name].secretId]),
      ),
      network: { networkId: network.network.id, subnetworkId: network.subnetwork.id },
      deletionProtection: env.database.deletionProtection,
      dependsOn: [...grants, events.publisherGrant],
    });
    this.exposeEndpoints(runtime);
    this.exposeImageRepository(imageRepository);
    const worker = new GcpPushWorker(this, 'worker', {
      prefix,
      accountPrefix,
      queue,
      service: { name: runtime.service.name, location: region, uri: runtime.service.uri },
      maxDeliveries: Math.max(5, env.maxReceiveCount),
      ackDeadlineSeconds,
      audience: pushAudience,
    });
    const schedules = new GcpSchedules(this, 'schedules', {
      prefix,
      region,
      topicId: queue.topic.id,
      integrations: settings.integrations,
    });
    const monitoring = new GcpMonitoring(this, 'monitoring', {
      prefix,
      project,
      alertEmail: env.alertEmail,
      logRetentionDays: env.logRetentionDays,
      services: [runtime.service.name, ...(n8n ? [n8n.service.name] : [])],
      subscriptions: { deadLetters: queue.deadLetterSubscription.name, push: worker.subscription.name },
    });

    this.provide('api', addressOf(runtime.service));
    this.provide('webhooks', addressOf(runtime.service));
    this.provide('queue', addressOf(queue.topic));
    this.provide('deadLetters', addressOf(queue.deadLetterTopic));
    this.provide('worker', addressOf(worker.subscription));
    const jobs = Object.values(schedules.jobs);
    if (jobs.length > 0) this.provide('schedules', addressOf(jobs[0]));
    else this.except('schedules', 'no integration is enabled in this environment, so there is nothing to schedule');
    this.provide('secrets', addressOf(secrets.key));
    this.provide('database', addressOf(database.instance));
    if (n8n) this.provide('n8n', addressOf(n8n.service));
    else this.except('n8n', 'enableN8nWorkflows is false for this environment');
    this.provide('alerts', addressOf(Object.values(monitoring.policies)[0]));
    this.provide('dashboards', addressOf(monitoring.dashboard));
    this.provide('blueGreen', addressOf(runtime.service));
    this.provide('eventBus', addressOf(events.topic));
  }
}
