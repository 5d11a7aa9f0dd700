import { AwsEventBus } from '../constructs/events/aws';
import type { Construct } from 'constructs';
import { Lazy, TerraformOutput } from 'cdktf';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { CLOUD_SIZING, PROXY_HOPS, type StackSettings } from '@data-sync/config';
import { AwsDatabase, rdsCaCertificate } from '../constructs/database/aws';
import { RUNTIME_ROLE } from '../constructs/database/roles';
import { type ExistingAwsVpc, AwsAccessLogs, AwsNetwork } from '../constructs/network/aws';
import { AwsMonitoring } from '../constructs/monitoring/aws';
import { AwsN8n } from '../constructs/n8n/aws';
import { N8N_PROCESS_SECRETS } from '../constructs/n8n/provisioning';
import { N8N_QUEUE_SECRETS, n8nSecretNames } from '../constructs/n8n/processes';
import { AwsQueue } from '../constructs/queue/aws';
import { AwsRuntime } from '../constructs/runtime/aws';
import { AwsSchedules } from '../constructs/schedules/aws';
import { AwsSecrets } from '../constructs/secrets/aws';
import { AwsWorker } from '../constructs/worker/aws';
import { addressOf } from '../constructs/shared/address';
import { DataSyncStack } from './data-sync-stack';

/** Deployment details config/ does not carry; all optional. */
export interface AwsStackOptions {
  /** AWS region. @default `us-east-1` */
  readonly region?: string;
  /** Deploy into this VPC instead of creating one. @default a new VPC */
  readonly existingVpc?: ExistingAwsVpc;
  /** Custom API hostname with its ACM certificate (us-east-1) on the CloudFront distribution. @default the distribution's *.cloudfront.net name */
  readonly customDomain?: { readonly domainName: string; readonly certificate: string };
}

/** Secrets created empty beside the integration credentials (see the README section "Filling secrets"). */
/** The Lambda Node.js runtimes' file of Amazon's CA certificates, RDS's among them (loaded only when named). */
export const LAMBDA_AMAZON_CA_BUNDLE = '/var/runtime/ca-cert.pem';

export const AWS_RUNTIME_SECRETS = [
  'runtime/DATA_SYNC_ENCRYPTION_KEY',
  'runtime/DATA_SYNC_ADMIN_TOKEN',
  'runtime/N8N_API_KEY',
  'runtime/N8N_WEBHOOK_TOKEN',
  // The serving role's password (ECS and Lambda) and the owner role's URL (ECS only): see "Database TLS and roles".
  'runtime/DATABASE_PASSWORD',
  'runtime/DATABASE_MIGRATION_URL',
  ...N8N_PROCESS_SECRETS.map((name) => `n8n/${name}` as const),
  ...N8N_QUEUE_SECRETS.map((name) => `n8n/${name}` as const),
] as const;

/** The AWS reference stack: every capability of stacks/capabilities.ts from AWS services. */
export class AwsStack extends DataSyncStack {
  readonly network: AwsNetwork;
  readonly secrets: AwsSecrets;
  readonly queue: AwsQueue;
  readonly database: AwsDatabase;
  readonly runtime: AwsRuntime;
  readonly worker: AwsWorker;
  readonly schedules: AwsSchedules;
  readonly n8n?: AwsN8n;
  readonly monitoring: AwsMonitoring;

  constructor(scope: Construct, settings: StackSettings, options: AwsStackOptions = {}) {
    super(scope, settings);
    const { env, prefix } = settings;
    const region = options.region ?? 'us-east-1';
    new AwsProvider(this, 'aws', {
      region,
      defaultTags: [
        { tags: { service: env.serviceName, environment: env.name, stack: settings.stackName, 'managed-by': 'cdktf' } },
      ],
    });

    this.network = new AwsNetwork(this, 'network', {
      prefix,
      existing: options.existingVpc,
      natGateways: CLOUD_SIZING[env.name].awsNatGateways,
    });
    this.secrets = new AwsSecrets(this, 'secrets', {
      prefix,
      integrations: settings.integrations,
      extra: AWS_RUNTIME_SECRETS,
    });
    const keyArn = this.secrets.key.arn;
    this.network.flowLogs({
      accountId: this.secrets.accountId,
      kmsKeyArn: keyArn,
      retentionDays: env.logRetentionDays,
    });
    const extra = (key: (typeof AWS_RUNTIME_SECRETS)[number]) => this.secrets.extra.get(key)!.arn;
    this.queue = new AwsQueue(this, 'queue', {
      prefix,
      kmsKeyArn: keyArn,
      maxDeliveries: env.maxReceiveCount,
      workerTimeoutSeconds: env.workerTimeoutSeconds,
    });
    this.database = new AwsDatabase(this, 'database', {
      identifier: prefix,
      databaseName: 'datasync',
      username: 'datasync',
      sizing: env.database,
      vpcId: this.network.vpcId,
      subnetIds: this.network.privateSubnetIds,
      kmsKeyArn: keyArn,
    });

    const credentialSecrets = Object.fromEntries(
      [...this.secrets.credentials].map(([name, secret]) => [name, secret.arn]),
    );
    const databaseCa = rdsCaCertificate(this, this.database.caCertIdentifier);
    const events = new AwsEventBus(this, 'events', { prefix, kmsKeyArn: keyArn });
    const common = {
      LOG_LEVEL: CLOUD_SIZING[env.name].logLevel,
      DATA_SYNC_ENVIRONMENT: env.name,
      DATA_SYNC_QUEUE: 'sqs',
      DATA_SYNC_SQS_QUEUE_URL: this.queue.queue.url,
      DATA_SYNC_SQS_DLQ_URL: this.queue.deadLetterQueue.url,
    };

    this.runtime = new AwsRuntime(this, 'runtime', {
      prefix,
      serviceName: env.serviceName,
      accountId: this.secrets.accountId,
      region,
      vpcId: this.network.vpcId,
      privateSubnetIds: this.network.privateSubnetIds,
      kmsKeyArn: keyArn,
      logRetentionDays: env.logRetentionDays,
      activeSlot: settings.activeSlot,
      imageTags: settings.imageTags,
      instanceCount: env.instanceCount,
      cpuUnits: env.cpuUnits,
      memoryMb: env.memoryMb,
      customDomain: options.customDomain,
      accessLogs: new AwsAccessLogs(this, 'access-logs', {
        prefix,
        accountId: this.secrets.accountId,
        retentionDays: env.logRetentionDays,
      }),
      environment: {
        ...common,
        DATABASE_URL: this.database.urlFor(RUNTIME_ROLE),
        DATABASE_CA: databaseCa,
        DATA_SYNC_ROLE: 'api',
        // The ECS services drain the outbox onto the topic; the Lambda worker only writes to it.
        ...events.environment,
        DATA_SYNC_TRUST_PROXY: String(PROXY_HOPS.aws),
        // n8n is routed on the runtime's own load balancer, so its URL exists only once both are declared.
        ...(settings.features.enableN8nWorkflows
          ? { N8N_URL: Lazy.stringValue({ produce: () => this.n8n!.url }) }
          : {}),
      },
      secrets: {
        ...credentialSecrets,
        PGPASSWORD: extra('runtime/DATABASE_PASSWORD'),
        DATABASE_MIGRATION_URL: extra('runtime/DATABASE_MIGRATION_URL'),
        DATA_SYNC_ENCRYPTION_KEY: extra('runtime/DATA_SYNC_ENCRYPTION_KEY'),
        // The first admin token: from Secrets Manager, never printed into the logs.
        DATA_SYNC_ADMIN_TOKEN: extra('runtime/DATA_SYNC_ADMIN_TOKEN'),
        ...(settings.features.enableN8nWorkflows
          ? { N8N_API_KEY: extra('runtime/N8N_API_KEY'), N8N_WEBHOOK_TOKEN: extra('runtime/N8N_WEBHOOK_TOKEN') }
          : {}),
      },
      taskStatements: [
        { sid: 'Enqueue', actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes'], resources: [this.queue.queue.arn] },
        {
          sid: 'InspectAndRedriveDeadLetters',
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
          resources: [this.queue.deadLetterQueue.arn],
        },
        { sid: 'QueueKey', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [keyArn] },
        events.publishStatement,
      ],
    });
    for (const slot of ['blue', 'green'] as const)
      this.database.allowFrom(`api-${slot}`, this.runtime.services[slot].securityGroup.id);

    this.worker = new AwsWorker(this, 'worker', {
      name: `${prefix}-worker`,
      accountId: this.secrets.accountId,
      region,
      partition: this.secrets.partition,
      queueArn: this.queue.queue.arn,
      kmsKeyArn: keyArn,
      timeoutSeconds: env.workerTimeoutSeconds,
      logRetentionDays: env.logRetentionDays,
      vpcId: this.network.vpcId,
      subnetIds: this.network.privateSubnetIds,
      secretArns: [
        ...Object.values(credentialSecrets),
        extra('runtime/DATABASE_PASSWORD'),
        extra('runtime/DATA_SYNC_ENCRYPTION_KEY'),
      ],
      // Lambda cannot inject secrets as ECS does: it is told which to read and reads them at start. It serves as
      // the DML-only role and migrates nothing: it checks that the schema has its bundle's migrations, which the
      // ECS API (the owner's URL) applies, and fails its start until then (SQS redelivers). Lambda allows 4 KB
      // of environment in all: credentials go by name under one prefix (a map of ARNs outgrew it in prod), and
      // the RDS CA comes from the runtime's Amazon CA bundle, which holds the RDS roots (NODE_EXTRA_CA_CERTS),
      // instead of 1.5 KB of PEM.
      environment: {
        ...common,
        DATABASE_URL: this.database.urlFor(RUNTIME_ROLE),
        DATA_SYNC_MIGRATIONS: 'check',
        NODE_EXTRA_CA_CERTS: LAMBDA_AMAZON_CA_BUNDLE,
        DATA_SYNC_ROLE: 'worker',
        DATABASE_PASSWORD_SECRET_ARN: extra('runtime/DATABASE_PASSWORD'),
        DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN: extra('runtime/DATA_SYNC_ENCRYPTION_KEY'),
        DATA_SYNC_CREDENTIAL_SECRET_PREFIX: this.secrets.credentialNamePrefix,
        DATA_SYNC_CREDENTIAL_SECRETS: [...this.secrets.credentialNames.values()].join(','),
      },
    });
    this.database.allowFrom('worker', this.worker.securityGroup.id);

    this.schedules = new AwsSchedules(this, 'schedules', {
      prefix,
      accountId: this.secrets.accountId,
      integrations: settings.integrations,
      queueArn: this.queue.queue.arn,
      deadLetterQueueArn: this.queue.deadLetterQueue.arn,
      kmsKeyArn: keyArn,
    });

    if (settings.features.enableN8nWorkflows) {
      this.n8n = new AwsN8n(this, 'n8n', {
        prefix,
        context: this.runtime.taskContext,
        listenerArn: this.runtime.listener.arn,
        loadBalancerArn: this.runtime.loadBalancer.arn,
        loadBalancerSecurityGroupId: this.runtime.loadBalancerSecurityGroup.id,
        publicUrl: this.runtime.url,
        database: env.database,
        features: settings.features,
        shape: settings.n8n,
        metrics: { serviceName: env.serviceName, logGroup: this.runtime.metricsLogGroup },
        apiUrl: this.runtime.url,
        databaseCa,
        secretArns: Object.fromEntries(
          n8nSecretNames(settings.n8n).map((name) => [
            name,
            extra(`n8n/${name}` as (typeof AWS_RUNTIME_SECRETS)[number]),
          ]),
        ),
      });
    }

    this.monitoring = new AwsMonitoring(this, 'monitoring', {
      prefix,
      serviceName: env.serviceName,
      kmsKeyArn: keyArn,
      alertEmail: env.alertEmail,
      integrations: settings.integrations,
      queueName: this.queue.queue.name,
      deadLetterQueueName: this.queue.deadLetterQueue.name,
      region,
    });

    this.exposeEndpoints(this.runtime);
    this.exposeImageRepository(this.runtime.repository.repositoryUrl);
    new TerraformOutput(this, 'queue_url', { value: this.queue.queue.url });
    if (this.n8n) new TerraformOutput(this, 'n8n_url', { value: this.n8n.url });

    // HTTPS only through CloudFront; the load balancer behind it is internal.
    this.provide('api', addressOf(this.runtime.distributions.active));
    this.provide('webhooks', addressOf(this.runtime.distributions.active));
    this.provide('queue', addressOf(this.queue.queue));
    this.provide('deadLetters', addressOf(this.queue.deadLetterQueue));
    this.provide('worker', addressOf(this.worker.function));
    this.provide('schedules', addressOf(this.schedules.group));
    this.provide('secrets', addressOf(this.secrets.key));
    this.provide('database', addressOf(this.database.instance));
    if (this.n8n) this.provide('n8n', addressOf(this.n8n.service.service));
    else this.except('n8n', 'enableN8nWorkflows is false for this stack');
    this.provide('alerts', addressOf(this.monitoring.topic));
    this.provide('dashboards', addressOf(this.monitoring.dashboard));
    // Weighted forward between the blue and green target groups.
    this.provide('blueGreen', addressOf(this.runtime.listener));
    this.provide('eventBus', addressOf(events.topic));
  }
}
