import { Construct } from 'constructs';
import { CloudfrontDistribution } from '@cdktf/provider-aws/lib/cloudfront-distribution';
import { CloudfrontVpcOrigin } from '@cdktf/provider-aws/lib/cloudfront-vpc-origin';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { DataAwsCloudfrontCachePolicy } from '@cdktf/provider-aws/lib/data-aws-cloudfront-cache-policy';
import { DataAwsCloudfrontOriginRequestPolicy } from '@cdktf/provider-aws/lib/data-aws-cloudfront-origin-request-policy';
import { DataAwsEc2ManagedPrefixList } from '@cdktf/provider-aws/lib/data-aws-ec2-managed-prefix-list';
import { EcrLifecyclePolicy } from '@cdktf/provider-aws/lib/ecr-lifecycle-policy';
import { EcrRepository } from '@cdktf/provider-aws/lib/ecr-repository';
import { EcsCluster } from '@cdktf/provider-aws/lib/ecs-cluster';
import { EcsService } from '@cdktf/provider-aws/lib/ecs-service';
import { EcsTaskDefinition } from '@cdktf/provider-aws/lib/ecs-task-definition';
import { Lb } from '@cdktf/provider-aws/lib/lb';
import { LbListener } from '@cdktf/provider-aws/lib/lb-listener';
import { LbListenerRule } from '@cdktf/provider-aws/lib/lb-listener-rule';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import { SLOTS, type Slot } from '@data-sync/config';
import { type IamStatement, ServiceRole } from '../iam/aws';
import { cloudwatchAgentConfig, prometheusScrapeConfig } from '../monitoring/aws';
import { runtimeCommand } from '../shared/runtime-bundle';

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
  /** Port the main container listens on. */
  readonly containerPort: number;
  /** CPU units of the task (1024 = 1 vCPU). */
  readonly cpuUnits: number;
  /** Memory of the task in MiB. */
  readonly memoryMb: number;
  /** Tasks the service keeps running. */
  readonly instanceCount: number;
  /** Plain environment (no secret values). */
  readonly environment: Record<string, string>;
  /** Environment variables read from Secrets Manager: name -> secret ARN (optionally `:json-key::`). */
  readonly secrets: Record<string, string>;
  /** Target group the main container registers in; @default none (a service no load balancer reaches, e.g. a queue worker) */
  readonly targetGroupArn?: string;
  /** Security group of the load balancer, allowed to reach containerPort. */
  readonly loadBalancerSecurityGroupId: string;
  /** Extra task-role permissions. */
  readonly taskStatements: readonly IamStatement[];
  /** Extra containers (sidecars) beside the main one. @default none */
  readonly sidecars?: readonly Record<string, unknown>[];
  /** ECR repository ARN the execution role may pull from. @default none (a public image) */
  readonly repositoryArn?: string;
  /** Replaces the main image's entrypoint (and command); @default the image's own. */
  readonly entryPoint?: readonly string[];
  /** Replaces the main image's command (CMD), keeping its entrypoint; @default the image's own. */
  readonly command?: readonly string[];
  /** Seconds after a task starts before failed load-balancer health checks count. @default 60 */
  readonly healthCheckGraceSeconds?: number;
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
    this.logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: `/ecs/${props.name}`,
      retentionInDays: ctx.logRetentionDays,
      kmsKeyId: ctx.kmsKeyArn,
    });
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
              {
                sid: 'EcrPull',
                actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
                resources: [props.repositoryArn],
              },
            ]
          : []),
        ...(secretArns.length
          ? [{ sid: 'InjectSecrets', actions: ['secretsmanager:GetSecretValue'], resources: secretArns }]
          : []),
        { sid: 'DecryptSecrets', actions: ['kms:Decrypt'], resources: [ctx.kmsKeyArn] },
      ],
    });
    const task = new ServiceRole(this, 'task-role', {
      name: `${props.name}-task`,
      service: 'ecs-tasks.amazonaws.com',
      accountId: ctx.accountId,
      statements: props.taskStatements,
    });
    const logConfiguration = (streamPrefix: string) => ({
      logDriver: 'awslogs',
      options: {
        'awslogs-group': this.logGroup.name,
        'awslogs-region': ctx.region,
        'awslogs-stream-prefix': streamPrefix,
      },
    });
    const main = {
      name: 'app',
      image: props.image,
      ...(props.entryPoint ? { entryPoint: [...props.entryPoint], command: [] } : {}),
      ...(props.command ? { command: [...props.command] } : {}),
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
      cpu: String(props.cpuUnits),
      memory: String(props.memoryMb),
      executionRoleArn: execution.arn,
      taskRoleArn: task.arn,
      runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
      containerDefinitions: JSON.stringify([
        main,
        ...(props.sidecars ?? []).map((s) => ({ ...s, logConfiguration: logConfiguration(String(s.name)) })),
      ]),
    });
    this.securityGroup = new SecurityGroup(this, 'sg', {
      name: props.name,
      description: `${props.name}: from the load balancer only`,
      vpcId: ctx.vpcId,
      egress: [
        {
          protocol: '-1',
          fromPort: 0,
          toPort: 0,
          cidrBlocks: ['0.0.0.0/0'],
          description: 'vendor APIs, AWS APIs and the database',
        },
      ],
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
      desiredCount: props.instanceCount,
      launchType: 'FARGATE',
      platformVersion: 'LATEST',
      propagateTags: 'SERVICE',
      enableEcsManagedTags: true,
      // ECS accepts a grace period only on services behind a load balancer.
      ...(props.targetGroupArn ? { healthCheckGracePeriodSeconds: props.healthCheckGraceSeconds ?? 60 } : {}),
      deploymentCircuitBreaker: { enable: true, rollback: true },
      networkConfiguration: {
        subnets: [...ctx.subnetIds],
        securityGroups: [this.securityGroup.id],
        assignPublicIp: false,
      },
      loadBalancer: props.targetGroupArn
        ? [{ targetGroupArn: props.targetGroupArn, containerName: 'app', containerPort: props.containerPort }]
        : [],
    });
  }
}

/** The CloudWatch agent that scrapes a task's Prometheus metrics into CloudWatch (runtime and n8n tasks). */
export const CLOUDWATCH_AGENT_IMAGE = 'public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.247357.0b252275';

export interface AwsRuntimeProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** Service name (metrics `service` label). */
  readonly serviceName: string;
  readonly accountId: string;
  readonly region: string;
  readonly vpcId: string;
  /** Private subnets of the tasks and of the internal load balancer (CloudFront reaches it through a VPC origin). */
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
  /** Where the load balancer and the distributions write access logs (AwsAccessLogs). @default no access logs */
  readonly accessLogs?: { readonly bucketName: string; readonly bucketDomainName: string; readonly albPrefix: string };
  /** Custom hostname of the API and its ACM certificate in us-east-1. @default none: the distribution's own *.cloudfront.net name and certificate */
  readonly customDomain?: { readonly domainName: string; readonly certificate: string };
  /** Port the runtime listens on. @default 3000 */
  readonly containerPort?: number;
  /** CloudWatch agent image of the metrics sidecar. @default the public ECR image pinned here */
  readonly cloudwatchAgentImage?: string;
}

/** Header the CloudFront distributions set on every origin request: which slot the ALB forwards to. */
export const AWS_SLOT_HEADER = 'x-data-sync-slot';
/** CloudFront's origin-facing addresses, the only sources the load balancer accepts. */
const CLOUDFRONT_ORIGIN_FACING = 'com.amazonaws.global.cloudfront.origin-facing';

/**
 * Runtime capability on AWS: an ECS Fargate cluster with a blue and a green service, each with its
 * own task definition and image tag, behind one internal ALB whose listener forwards with weights
 * (active slot 100, other 0). The internet reaches it only through CloudFront (HTTPS, HTTP
 * redirected), over a VPC origin: no custom domain is needed, and one can be added with its ACM
 * certificate. Three distributions share the origin: the main one (weights) and one per slot for
 * smoke tests, told apart by a header CloudFront sets and viewers cannot override. Each task runs
 * a CloudWatch agent sidecar that scrapes /metrics into the DataSync namespace. Switching
 * activeSlot changes only the listener weights.
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
  /** The public entry (active slot) and each slot's own. */
  readonly distributions = {} as Record<'active' | Slot, CloudfrontDistribution>;
  /** Public URL (the active slot): the custom domain or the main distribution's name, always HTTPS. */
  readonly url: string;
  /** Each slot's own distribution, for smoke tests before a switch. */
  readonly slotUrls: Readonly<Record<Slot, string>>;

  constructor(scope: Construct, id: string, props: AwsRuntimeProps) {
    super(scope, id);
    const port = props.containerPort ?? 3000;
    this.cluster = new EcsCluster(this, 'cluster', {
      name: props.prefix,
      setting: [{ name: 'containerInsights', value: 'enabled' }],
    });
    this.taskContext = {
      accountId: props.accountId,
      region: props.region,
      vpcId: props.vpcId,
      subnetIds: props.privateSubnetIds,
      cluster: this.cluster,
      kmsKeyArn: props.kmsKeyArn,
      logRetentionDays: props.logRetentionDays,
    };
    this.repository = new EcrRepository(this, 'repository', {
      name: props.serviceName === props.prefix ? props.prefix : `${props.prefix}/${props.serviceName}`,
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: [{ encryptionType: 'KMS', kmsKey: props.kmsKeyArn }],
    });
    new EcrLifecyclePolicy(this, 'repository-lifecycle', {
      repository: this.repository.name,
      policy: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: 'keep the last 50 images',
            selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 50 },
            action: { type: 'expire' },
          },
        ],
      }),
    });
    this.loadBalancerSecurityGroup = new SecurityGroup(this, 'lb-sg', {
      name: `${props.prefix}-lb`,
      description: `${props.prefix} internal load balancer: from CloudFront only`,
      vpcId: props.vpcId,
      egress: [
        {
          protocol: 'tcp',
          fromPort: 0,
          toPort: 65535,
          cidrBlocks: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
          description: 'targets in the VPC',
        },
      ],
    });
    const cloudfront = new DataAwsEc2ManagedPrefixList(this, 'cloudfront-origin-facing', {
      name: CLOUDFRONT_ORIGIN_FACING,
    });
    new VpcSecurityGroupIngressRule(this, 'lb-from-cloudfront', {
      securityGroupId: this.loadBalancerSecurityGroup.id,
      prefixListId: cloudfront.id,
      ipProtocol: 'tcp',
      fromPort: 80,
      toPort: 80,
      description: 'CloudFront VPC origin',
    });
    this.loadBalancer = new Lb(this, 'lb', {
      name: `${props.prefix}`.slice(0, 32),
      loadBalancerType: 'application',
      internal: true,
      securityGroups: [this.loadBalancerSecurityGroup.id],
      subnets: [...props.privateSubnetIds],
      dropInvalidHeaderFields: true,
      enableDeletionProtection: false,
      accessLogs: props.accessLogs
        ? { bucket: props.accessLogs.bucketName, prefix: props.accessLogs.albPrefix, enabled: true }
        : undefined,
    });
    for (const slot of SLOTS) {
      this.targetGroups[slot] = new LbTargetGroup(this, `tg-${slot}`, {
        name: `${props.prefix}-${slot}`.slice(0, 32),
        port,
        protocol: 'HTTP',
        targetType: 'ip',
        vpcId: props.vpcId,
        deregistrationDelay: '30',
        healthCheck: {
          path: '/health',
          matcher: '200',
          interval: 15,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
          timeout: 5,
        },
      });
    }
    // The VPC origin's hop, inside the VPC: CloudFront terminates the viewer's TLS.
    this.listener = new LbListener(this, 'http', {
      loadBalancerArn: this.loadBalancer.arn,
      port: 80,
      protocol: 'HTTP',
      defaultAction: [
        {
          type: 'forward',
          forward: {
            targetGroup: SLOTS.map((slot) => ({
              arn: this.targetGroups[slot].arn,
              weight: slot === props.activeSlot ? 100 : 0,
            })),
          },
        },
      ],
    });
    SLOTS.forEach((slot, i) => {
      new LbListenerRule(this, `slot-${slot}`, {
        listenerArn: this.listener.arn,
        priority: 10 + i,
        condition: [{ httpHeader: { httpHeaderName: AWS_SLOT_HEADER, values: [slot] } }],
        action: [{ type: 'forward', targetGroupArn: this.targetGroups[slot].arn }],
      });
    });
    const origin = new CloudfrontVpcOrigin(this, 'vpc-origin', {
      vpcOriginEndpointConfig: [
        {
          name: props.prefix,
          arn: this.loadBalancer.arn,
          httpPort: 80,
          httpsPort: 443,
          originProtocolPolicy: 'http-only',
          originSslProtocols: [{ items: ['TLSv1.2'], quantity: 1 }],
        },
      ],
    });
    // An API: nothing cached, every viewer header, cookie and query string reaches the runtime.
    const noCache = new DataAwsCloudfrontCachePolicy(this, 'caching-disabled', { name: 'Managed-CachingDisabled' });
    const allViewer = new DataAwsCloudfrontOriginRequestPolicy(this, 'all-viewer', {
      name: 'Managed-AllViewerExceptHostHeader',
    });
    const distribution = (
      name: 'active' | Slot,
      domain?: { readonly domainName: string; readonly certificate: string },
    ) =>
      new CloudfrontDistribution(this, `cdn-${name}`, {
        enabled: true,
        comment: `${props.prefix} ${name === 'active' ? 'API (active slot)' : `${name} slot`}`,
        httpVersion: 'http2and3',
        isIpv6Enabled: true,
        priceClass: 'PriceClass_100',
        aliases: domain ? [domain.domainName] : undefined,
        origin: [
          {
            originId: 'alb',
            domainName: this.loadBalancer.dnsName,
            vpcOriginConfig: { vpcOriginId: origin.id, originReadTimeout: 60 },
            // CloudFront replaces a viewer's header of the same name: a viewer cannot pick a slot.
            customHeader: [{ name: AWS_SLOT_HEADER, value: name }],
          },
        ],
        defaultCacheBehavior: {
          targetOriginId: 'alb',
          viewerProtocolPolicy: 'redirect-to-https',
          allowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'POST', 'PATCH', 'DELETE'],
          cachedMethods: ['GET', 'HEAD'],
          cachePolicyId: noCache.id,
          originRequestPolicyId: allViewer.id,
          compress: true,
        },
        restrictions: { geoRestriction: { restrictionType: 'none' } },
        loggingConfig: props.accessLogs
          ? { bucket: props.accessLogs.bucketDomainName, prefix: `cloudfront/${name}/`, includeCookies: false }
          : undefined,
        viewerCertificate: domain
          ? {
              acmCertificateArn: domain.certificate,
              sslSupportMethod: 'sni-only',
              minimumProtocolVersion: 'TLSv1.2_2021',
            }
          : { cloudfrontDefaultCertificate: true },
      });
    this.distributions.active = distribution('active', props.customDomain);
    for (const slot of SLOTS) this.distributions[slot] = distribution(slot);
    this.url = `https://${props.customDomain?.domainName ?? this.distributions.active.domainName}`;
    this.slotUrls = {
      blue: `https://${this.distributions.blue.domainName}`,
      green: `https://${this.distributions.green.domainName}`,
    };
    this.metricsLogGroup = new CloudwatchLogGroup(this, 'metrics-logs', {
      name: `/ecs/${props.prefix}/metrics`,
      retentionInDays: props.logRetentionDays,
      kmsKeyId: props.kmsKeyArn,
    });
    const sidecar = {
      name: 'cloudwatch-agent',
      image: props.cloudwatchAgentImage ?? CLOUDWATCH_AGENT_IMAGE,
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
        command: runtimeCommand('aws'),
        containerPort: port,
        cpuUnits: props.cpuUnits,
        memoryMb: props.memoryMb,
        instanceCount: props.instanceCount,
        environment: { ...props.environment, PORT: String(port), HOST: '0.0.0.0', DATA_SYNC_SLOT: slot },
        secrets: props.secrets,
        targetGroupArn: this.targetGroups[slot].arn,
        loadBalancerSecurityGroupId: this.loadBalancerSecurityGroup.id,
        repositoryArn: this.repository.arn,
        sidecars: [sidecar],
        taskStatements: [
          ...props.taskStatements,
          {
            sid: 'MetricsSidecarLogs',
            actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
            resources: [this.metricsLogGroup.arn, `${this.metricsLogGroup.arn}:*`],
          },
        ],
      });
      // The listener must exist before a service registers in its target group.
      this.services[slot].service.node.addDependency(this.listener);
    }
  }
}
