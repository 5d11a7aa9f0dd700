import { Construct } from 'constructs';
import { LbListenerRule } from '@cdktf/provider-aws/lib/lb-listener-rule';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import type { EnvironmentConfig, FeatureFlags } from '@data-sync/config';
import { AwsDatabase } from '../database/aws';
import { AwsFargateService, type AwsTaskContext } from '../runtime/aws';
import { N8N_IMAGE } from '../generic/workload';
import { N8N_PORT, N8N_PROCESS_SECRETS, N8N_STARTUP_SECONDS, n8nStart, webhookOutputs } from './provisioning';

export interface AwsN8nProps {
  /** Resource name prefix, e.g. `data-sync-prod`; n8n resources are `<prefix>-n8n`. */
  readonly prefix: string;
  /** Shared Fargate context of the runtime (cluster, subnets, key, log retention). */
  readonly context: AwsTaskContext;
  /** Listener of the runtime's load balancer; n8n is routed on `pathPrefix`. */
  readonly listenerArn: string;
  readonly loadBalancerSecurityGroupId: string;
  /** Public base URL of the load balancer (webhook URLs n8n generates). */
  readonly publicUrl: string;
  /** Database sizing of the environment (n8n gets its own instance). */
  readonly database: EnvironmentConfig['database'];
  /** Feature flags: which workflows are published. */
  readonly features: FeatureFlags;
  /** Public URL of this service's API, which workflows call. */
  readonly apiUrl: string;
  /** Secrets Manager ARNs of N8N_PROCESS_SECRETS (created empty, filled out of band). */
  readonly secretArns: Readonly<Record<(typeof N8N_PROCESS_SECRETS)[number], string>>;
  /** Path n8n is served under; default `/n8n/`. */
  readonly pathPrefix?: string;
  /** Listener rule priority; default 100. */
  readonly priority?: number;
  /** Image; default N8N_IMAGE. */
  readonly image?: string;
}

/**
 * n8n capability on AWS: an ECS Fargate service running n8n with its own RDS PostgreSQL database,
 * its encryption key, owner and credential values injected from Secrets Manager, reachable through
 * the runtime's load balancer under its own path. The container provisions the workflows before
 * `n8n start` (constructs/n8n/provisioning.ts).
 */
export class AwsN8n extends Construct {
  readonly database: AwsDatabase;
  readonly service: AwsFargateService;
  readonly targetGroup: LbTargetGroup;
  readonly url: string;

  constructor(scope: Construct, id: string, props: AwsN8nProps) {
    super(scope, id);
    const name = `${props.prefix}-n8n`;
    const pathPrefix = props.pathPrefix ?? '/n8n/';
    if (!/^\/[a-z0-9-]+\/$/.test(pathPrefix))
      throw new Error(`AwsN8n: pathPrefix must look like /name/, got "${pathPrefix}"`);
    const ctx = props.context;
    this.database = new AwsDatabase(this, 'database', {
      identifier: name,
      databaseName: 'n8n',
      username: 'n8n',
      sizing: props.database,
      vpcId: ctx.vpcId,
      subnetIds: ctx.subnetIds,
      kmsKeyArn: ctx.kmsKeyArn,
    });
    this.targetGroup = new LbTargetGroup(this, 'tg', {
      name: name.slice(0, 32),
      port: N8N_PORT,
      protocol: 'HTTP',
      targetType: 'ip',
      vpcId: ctx.vpcId,
      deregistrationDelay: '30',
      healthCheck: {
        path: '/healthz',
        matcher: '200',
        interval: 30,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
        timeout: 5,
      },
    });
    const rule = new LbListenerRule(this, 'route', {
      listenerArn: props.listenerArn,
      priority: props.priority ?? 100,
      condition: [{ pathPattern: { values: [pathPrefix.slice(0, -1), `${pathPrefix}*`] } }],
      action: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }],
    });
    this.url = `${props.publicUrl}${pathPrefix}`;
    const start = n8nStart(props.features, props.apiUrl);
    this.service = new AwsFargateService(this, 'service', {
      name,
      context: ctx,
      image: props.image ?? N8N_IMAGE,
      entryPoint: start.command,
      healthCheckGraceSeconds: N8N_STARTUP_SECONDS,
      containerPort: N8N_PORT,
      cpu: 1024,
      memoryMb: 2048,
      desiredCount: 1,
      environment: {
        ...start.environment,
        N8N_PATH: pathPrefix,
        WEBHOOK_URL: this.url,
        N8N_PROTOCOL: 'http',
        DB_POSTGRESDB_HOST: this.database.instance.address,
        DB_POSTGRESDB_PORT: String(this.database.port),
        DB_POSTGRESDB_DATABASE: 'n8n',
        DB_POSTGRESDB_USER: 'n8n',
        DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED: 'false',
      },
      secrets: {
        ...props.secretArns,
        DB_POSTGRESDB_PASSWORD: `${this.database.masterSecretArn}:password::`,
      },
      targetGroupArn: this.targetGroup.arn,
      loadBalancerSecurityGroupId: props.loadBalancerSecurityGroupId,
      taskStatements: [],
    });
    this.service.service.node.addDependency(rule);
    this.database.allowFrom('n8n', this.service.securityGroup.id);
    webhookOutputs(this, this.url);
  }
}
