import { Construct } from 'constructs';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { EcrLifecyclePolicy } from '@cdktf/provider-aws/lib/ecr-lifecycle-policy';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository';
import { EcsCluster } from '@cdktf/provider-aws/lib/ecs-cluster';
import { EcsService } from '@cdktf/provider-aws/lib/ecs-service';
import { EcsTaskDefinition } from '@cdktf/provider-aws/lib/ecs-task-definition';
import { Lb } from '@cdktf/provider-aws/lib/lb';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { SLOTS, type Slot } from '../../config';
import { type IamStatement, ServiceRole } from '../generic/aws-iam';
import { cloudwatchAgentConfig, prometheusScrapeConfig } from '../monitoring/aws';

/** What every Fargate task of the stack shares. */
export interface AwsTaskContext {
  readonly accountId: string;
  readonly region: string;
  readonly vpcId: string;
  /** Private subnets the tasks run in. */
  readonly subnetIds: readonly string[];
  readonly cluster: EcsCluster;
  /** KMS key of logs and secrets. */
  readonly kmsKeyArn: string;
  readonly logRetentionDays: number;
}

export interface AwsFargateServiceProps {
  /** Service and task family name. */
  readonly name: string;
  readonly context: AwsTaskContext;
  /** Main container image with tag. */
  readonly image: string;
  readonly containerPort: number;
  readonly cpu: number;
  readonly memoryMb: number;
  readonly desiredCount: number;
  /** Plain environment (no secret values). */
  readonly environment: Record<string, string>;
  /** Environment variables read from Secrets Manager: name -> secret ARN (optionally `:json-key::`). */
  readonly secrets: Record<string, string>;
  /** Target group the main container registers in. */
  readonly targetGroupArn: string;
  /** Security group of the load balancer, allowed to reach containerPort. */
  readonly loadBalancerSecurityGroupId: string;
  /** Extra task-role permissions. */
  readonly taskStatements: readonly IamStatement[];
  /** Extra containers (sidecars) beside the main one. */
  readonly sidecars?: readonly Record<string, unknown>[];
  /** ECR repository ARN the execution role may pull from; default none (public image). */
  readonly repositoryArn?: string;
  /** Replaces the main image's entrypoint (and command); @default the image's own. */
  readonly entryPoint?: readonly string[];
}

/** One ECS Fargate service with its task definition, log group, roles and security group. */
export class AwsFargateService extends Construct {
  readonly service: EcsService;
  readonly taskDefinition: EcsTaskDefinition;
  readonly securityGroup: SecurityGroup;
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: AwsFargateServiceProps) {
    super(scope, id);
    const ctx = props.context;
    this.logGroup = new CloudwatchLogGroup(this, 'logs', { name: `/ecs/${props.name}`, retentionInDays: ctx.logRetentionDays, kmsKeyId: ctx.kmsKeyArn });
    const secretArns = [...new Set(Object.values(props.secrets).map((ref) => ref.replace(/:[^:]*::$/, '')))];
    const execution = new ServiceRole(this, 'execution-role', {
      name: `${props.name}-execution`,
      service: 'ecs-tasks.amazonaws.com',
      accountId: ctx.accountId,
      statements: [
        { sid: 'Logs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${this.logGroup.arn}:*`] },
        ...(props.repositoryArn
          ? [
              // GetAuthorizationToken is account-wide; ECR does not scope it to a repository.
              { sid: 'EcrToken', actions: ['ecr:GetAuthorizationToken'], resources: ['*'] },
              { sid: 'EcrPull', actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'], resources: [props.repositoryArn] },
            ]
          : []),
        ...(secretArns.length ? [{ sid: 'InjectSecrets', actions: ['secretsmanager:GetSecretValue'], resources: secretArns }] : []),
        { sid: 'DecryptSecrets', actions: ['kms:Decrypt'], resources: [ctx.kmsKeyArn] },
      ],
    });
    const task = new ServiceRole(this, 'task-role', { name: `${props.name}-task`, service: 'ecs-tasks.amazonaws.com', accountId: ctx.accountId, statements: props.taskStatements });
    const logConfiguration = (streamPrefix: string) => ({ logDriver: 'awslogs', options: { 'awslogs-group': this.logGroup.name, 'awslogs-region': ctx.region, 'awslogs-stream-prefix': streamPrefix } });
    const main = {
      name: 'app',
      image: props.image,
      ...(props.entryPoint ? { entryPoint: [...props.entryPoint], command: [] } : {}),
      essential: true,
      portMappings: [{ containerPort: props.containerPort, protocol: 'tcp' }],
      environment: Object.entries(props.environment).map(([name, value]) => ({ name, value })),
      secrets: Object.entries(props.secrets).map(([name, valueFrom]) => ({ name, valueFrom })),
      logConfiguration: logConfiguration('app'),
    };
    this.taskDefinition = new EcsTaskDefinition(this, 'task', {
      family: props.name,
      requiresCompatibilities: ['FARGATE'],
      networkMode: 'awsvpc',
      cpu: String(props.cpu),
      memory: String(props.memoryMb),
      executionRoleArn: execution.arn,
      taskRoleArn: task.arn,
      runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
      containerDefinitions: JSON.stringify([main, ...(props.sidecars ?? []).map((s) => ({ ...s, logConfiguration: logConfiguration(String(s.name)) }))]),
    });
    this.securityGroup = new SecurityGroup(this, 'sg', {
      name: props.name,
      description: `${props.name}: from the load balancer only`,
      vpcId: ctx.vpcId,
      egress: [{ protocol: '-1', fromPort: 0, toPort: 0, cidrBlocks: ['0.0.0.0/0'], description: 'vendor APIs, AWS APIs and the database' }],
    });
    new VpcSecurityGroupIngressRule(this, 'from-lb', {
      securityGroupId: this.securityGroup.id,
      referencedSecurityGroupId: props.loadBalancerSecurityGroupId,
      ipProtocol: 'tcp',
      fromPort: props.containerPort,
      toPort: props.containerPort,
      description: 'load balancer',
    });
    this.service = new EcsService(this, 'service', {
      name: props.name,
      cluster: ctx.cluster.arn,
      taskDefinition: this.taskDefinition.arn,
      desiredCount: props.desiredCount,
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      propagateTags: 'SERVICE',
      enableEcsManagedTags: true,
      healthCheckGracePeriodSeconds: 60,
      deploymentCircuitBreaker: { enable: true, rollback: true },
      networkConfiguration: { subnets: [...ctx.subnetIds], securityGroups: [this.securityGroup.id], assignPublicIp: false },
      loadBalancer: [{ targetGroupArn: props.targetGroupArn, containerName: 'app', containerPort: props.containerPort }],
    });
  }
}

export interface AwsRuntimeProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** Service name (metrics `service` label). */
  readonly serviceName: string;
  readonly accountId: string;
  readonly region: string;
  readonly vpcId: string;
  /** Public subnets of the load balancer. */
  readonly publicSubnetIds: readonly string[];
  /** Private subnets of the tasks. */
  readonly privateSubnetIds: readonly string[];
  readonly kmsKeyArn: string;
  readonly logRetentionDays: number;
  /** Slot that receives 100% of the traffic; the other gets 0. */
  readonly activeSlot: Slot;
  /** Image tag per slot. */
  readonly imageTags: Readonly<Record<Slot, string>>;
  /** Tasks per slot. */
  readonly instanceCount: number;
  /** CPU units per task (1024 = 1 vCPU). */
  readonly cpuUnits: number;
  /** Memory per task, MiB. */
  readonly memoryMb: number;
  /** Plain runtime environment (no secret values). */
  readonly environment: Record<string, string>;
  /** Runtime environment read from Secrets Manager: name -> secret ARN. */
  readonly secrets: Record<string, string>;
  /** Task-role permissions of the runtime (queue, secrets). */
  readonly taskStatements: readonly IamStatement[];
  /** ACM certificate for HTTPS on 443 (HTTP then redirects); default none: HTTP on port 80 only. */
  readonly certificateArn?: string;
  /** Port the runtime listens on; default 3000. */
  readonly containerPort?: number;
  /** CloudWatch agent image of the metrics sidecar; default the public ECR image pinned here. */
  readonly cloudwatchAgentImage?: string;
}

/**
 * Runtime capability on AWS: an ECS Fargate cluster with a blue and a green service, each with its
 * own task definition and image tag, behind one ALB whose listener forwards with weights (active
 * slot 100, other 0). Each task runs a CloudWatch agent sidecar that scrapes the runtime's /metrics
 * into the DataSync namespace. Switching activeSlot changes only the listener weights.
 */
export class AwsRuntime extends Construct {
  readonly cluster: EcsCluster;
  readonly loadBalancer: Lb;
  readonly listener: LbListener;
  readonly loadBalancerSecurityGroup: SecurityGroup;
  readonly repository: EcrRepository;
  readonly targetGroups = {} as Record<Slot, LbTargetGroup>;
  readonly services = {} as Record<Slot, AwsFargateService>;
  readonly taskContext: AwsTaskContext;
  readonly metricsLogGroup: CloudwatchLogGroup;
  private readonly https: boolean;
  /** Listener port of each slot's own endpoint, for smoke tests before a switch. */
  static readonly SLOT_PORTS: Readonly<Record<Slot, number>> = { blue: 8443, green: 8444 };

  constructor(scope: Construct, id: string, props: AwsRuntimeProps) {
    super(scope, id);
    const port = props.containerPort ?? 3000;
    this.https = props.certificateArn !== undefined;
    this.cluster = new EcsCluster(this, 'cluster', { name: props.prefix, setting: [{ name: 'containerInsights', value: 'enabled' }] });
    this.taskContext = { accountId: props.accountId, region: props.region, vpcId: props.vpcId, subnetIds: props.privateSubnetIds, cluster: this.cluster, kmsKeyArn: props.kmsKeyArn, logRetentionDays: props.logRetentionDays };
    this.repository = new EcrRepository(this, 'repository', {
      name: props.serviceName === props.prefix ? props.prefix : `${props.prefix}/${props.serviceName}`,
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: [{ encryptionType: 'KMS', kmsKey: props.kmsKeyArn }],
    });
    new EcrLifecyclePolicy(this, 'repository-lifecycle', {
      repository: this.repository.name,
      policy: JSON.stringify({ rules: [{ rulePriority: 1, description: 'keep the last 50 images', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 50 }, action: { type: 'expire' } }] }),
    });
    this.loadBalancerSecurityGroup = new SecurityGroup(this, 'lb-sg', {
      name: `${props.prefix}-lb`,
      description: `${props.prefix} load balancer: HTTP(S) from the internet`,
      vpcId: props.vpcId,
      ingress: [
        { protocol: 'tcp', fromPort: 80, toPort: 80, cidrBlocks: ['0.0.0.0/0'], description: 'HTTP' },
        ...(props.certificateArn ? [{ protocol: 'tcp', fromPort: 443, toPort: 443, cidrBlocks: ['0.0.0.0/0'], description: 'HTTPS' }] : []),
        ...SLOTS.map((slot) => ({ protocol: 'tcp', fromPort: AwsRuntime.SLOT_PORTS[slot], toPort: AwsRuntime.SLOT_PORTS[slot], cidrBlocks: ['0.0.0.0/0'], description: `${slot} slot endpoint (smoke tests)` })),
      ],
      egress: [{ protocol: 'tcp', fromPort: 0, toPort: 65535, cidrBlocks: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], description: 'targets in the VPC' }],
    });
    this.loadBalancer = new Lb(this, 'lb', {
      name: `${props.prefix}`.slice(0, 32),
      loadBalancerType: 'application',
      internal: false,
      securityGroups: [this.loadBalancerSecurityGroup.id],
      subnets: [...props.publicSubnetIds],
      dropInvalidHeaderFields: true,
      enableDeletionProtection: false,
    });
    for (const slot of SLOTS) {
      this.targetGroups[slot] = new LbTargetGroup(this, `tg-${slot}`, {
        name: `${props.prefix}-${slot}`.slice(0, 32),
        port,
        protocol: 'HTTP',
        targetType: 'ip',
        vpcId: props.vpcId,
        deregistrationDelay: '30',
        healthCheck: { path: '/health', matcher: '200', interval: 15, healthyThreshold: 2, unhealthyThreshold: 3, timeout: 5 },
      });
    }
    const forward = {
      type: 'forward',
      forward: { targetGroup: SLOTS.map((slot) => ({ arn: this.targetGroups[slot].arn, weight: slot === props.activeSlot ? 100 : 0 })) },
    };
    if (props.certificateArn) {
      this.listener = new LbListener(this, 'https', { loadBalancerArn: this.loadBalancer.arn, port: 443, protocol: 'HTTPS', sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06', certificateArn: props.certificateArn, defaultAction: [forward] });
      new LbListener(this, 'http-redirect', { loadBalancerArn: this.loadBalancer.arn, port: 80, protocol: 'HTTP', defaultAction: [{ type: 'redirect', redirect: { port: '443', protocol: 'HTTPS', statusCode: 'HTTP_301' } }] });
    } else {
      this.listener = new LbListener(this, 'http', { loadBalancerArn: this.loadBalancer.arn, port: 80, protocol: 'HTTP', defaultAction: [forward] });
    }
    // Each slot also answers on its own port, so a deploy pipeline can smoke-test the idle slot.
    for (const slot of SLOTS) {
      const tls = props.certificateArn ? { protocol: 'HTTPS', sslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06', certificateArn: props.certificateArn } : { protocol: 'HTTP' };
      new LbListener(this, `slot-${slot}`, { loadBalancerArn: this.loadBalancer.arn, port: AwsRuntime.SLOT_PORTS[slot], ...tls, defaultAction: [{ type: 'forward', targetGroupArn: this.targetGroups[slot].arn }] });
    }
    this.metricsLogGroup = new CloudwatchLogGroup(this, 'metrics-logs', { name: `/ecs/${props.prefix}/metrics`, retentionInDays: props.logRetentionDays, kmsKeyId: props.kmsKeyArn });
    const sidecar = {
      name: 'cloudwatch-agent',
      image: props.cloudwatchAgentImage ?? 'public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.247357.0b252275',
      essential: false,
      environment: [
        { name: 'PROMETHEUS_CONFIG_CONTENT', value: prometheusScrapeConfig(props.serviceName, port) },
        { name: 'CW_CONFIG_CONTENT', value: cloudwatchAgentConfig(this.metricsLogGroup.name) },
      ],
    };
    for (const slot of SLOTS) {
      this.services[slot] = new AwsFargateService(this, slot, {
        name: `${props.prefix}-api-${slot}`,
        context: this.taskContext,
        image: `${this.repository.repositoryUrl}:${props.imageTags[slot]}`,
        containerPort: port,
        cpu: props.cpuUnits,
        memoryMb: props.memoryMb,
        desiredCount: props.instanceCount,
        environment: { ...props.environment, PORT: String(port), HOST: '0.0.0.0', DATA_SYNC_SLOT: slot },
        secrets: props.secrets,
        targetGroupArn: this.targetGroups[slot].arn,
        loadBalancerSecurityGroupId: this.loadBalancerSecurityGroup.id,
        repositoryArn: this.repository.arn,
        sidecars: [sidecar],
        taskStatements: [
          ...props.taskStatements,
          { sid: 'MetricsSidecarLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], resources: [this.metricsLogGroup.arn, `${this.metricsLogGroup.arn}:*`] },
        ],
      });
      // The listener must exist before a service registers in its target group.
      this.services[slot].service.node.addDependency(this.listener);
    }
  }

  /** Public URL of the load balancer (the active slot). */
  get url(): string {
    return `${this.https ? 'https' : 'http'}://${this.loadBalancer.dnsName}`;
  }

  /** Each slot's own endpoint on the load balancer. */
  get slotUrls(): Readonly<Record<Slot, string>> {
    return { blue: `${this.url}:${AwsRuntime.SLOT_PORTS.blue}`, green: `${this.url}:${AwsRuntime.SLOT_PORTS.green}` };
  }
}
