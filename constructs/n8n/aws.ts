import { Construct } from 'constructs';
import { LbListenerRule } from '@cdktf/provider-aws/lib/lb-listener-rule';
import { LbTargetGroup } from '@cdktf/provider-aws/lib/lb-target-group';
import { Wafv2IpSet } from '@cdktf/provider-aws/lib/wafv2-ip-set';
import { Wafv2WebAcl } from '@cdktf/provider-aws/lib/wafv2-web-acl';
import { Wafv2WebAclAssociation } from '@cdktf/provider-aws/lib/wafv2-web-acl-association';
import type { EnvironmentConfig, FeatureFlags, N8nShape } from '@data-sync/config';
import { WEBHOOK_PATH_PREFIX } from '@data-sync/n8n/webhooks';
import { AwsDatabase } from '../database/aws';
import { cloudwatchAgentConfig, prometheusScrapeConfig } from '../monitoring/aws';
import { AwsFargateService, CLOUDWATCH_AGENT_IMAGE, type AwsTaskContext } from '../runtime/aws';
import { N8N_IMAGE } from '../shared/n8n-image';
import { n8nProcessName, n8nProcesses, type N8nProcess, type N8nRole } from './processes';
import { N8N_PORT, N8N_STARTUP_SECONDS, webhookOutputs } from './provisioning';

/** n8n's public REST API under its path (`/api/v1`): key-authenticated, what the runtime's n8n client calls. */
const N8N_PUBLIC_API_PATH = 'api/v1';

export interface AwsN8nProps {
  /** Resource name prefix, e.g. `data-sync-prod`; n8n resources are `<prefix>-n8n`. */
  readonly prefix: string;
  /** Shared Fargate context of the runtime (cluster, subnets, key, log retention). */
  readonly context: AwsTaskContext;
  /** Listener of the runtime's load balancer; n8n is routed on `pathPrefix`. */
  readonly listenerArn: string;
  /** The runtime's load balancer, where the editor's allowlist (a WAF web ACL) applies. */
  readonly loadBalancerArn: string;
  readonly loadBalancerSecurityGroupId: string;
  /** Public base URL of the load balancer (webhook URLs n8n generates). */
  readonly publicUrl: string;
  /** Database sizing of the environment (n8n gets its own instance). */
  readonly database: EnvironmentConfig['database'];
  /** Feature flags: which workflows are published. */
  readonly features: FeatureFlags;
  /** Processes (regular or queue mode) and editor access of the environment. */
  readonly shape: N8nShape;
  /** Where main's metrics go: the runtime's metrics log group (EMF) and the `service` label of every series. */
  readonly metrics: {
    readonly serviceName: string;
    readonly logGroup: { readonly name: string; readonly arn: string };
  };
  /** Public URL of this service's API, which workflows call. */
  readonly apiUrl: string;
  /** PEM of the RDS root CA n8n verifies its database against (not publicly trusted). */
  readonly databaseCa: string;
  /** Secrets Manager ARNs of n8nSecretNames(shape), by name (created empty, filled out of band). */
  readonly secretArns: Readonly<Record<string, string>>;
  /** Path n8n is served under; @default `/n8n/` */
  readonly pathPrefix?: string;
  /** Listener rule priority of the editor's route; the webhook route takes the one before; @default 100 */
  readonly priority?: number;
  /** Image; @default N8N_IMAGE */
  readonly image?: string;
}

/**
 * n8n capability on AWS: ECS Fargate services running n8n with its own RDS PostgreSQL database, its
 * encryption key, owner and credential values injected from Secrets Manager, reachable through the
 * runtime's load balancer under its own path. In queue mode, workers run the executions and webhook
 * processes get the webhook paths; the main container provisions the workflows before `n8n start`
 * (constructs/n8n/provisioning.ts). Where the editor is restricted, a WAF web ACL on the load balancer
 * blocks every n8n path but the webhooks unless the viewer's address is on the allowlist.
 */
export class AwsN8n extends Construct {
  readonly database: AwsDatabase;
  /** The main process (editor, API, schedules). */
  readonly service: AwsFargateService;
  readonly services: Partial<Record<N8nRole, AwsFargateService>> = {};
  readonly targetGroup: LbTargetGroup;
  readonly url: string;
  readonly editorAcl?: Wafv2WebAcl;

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
    const priority = props.priority ?? 100;
    const targetGroup = (suffix: string) =>
      new LbTargetGroup(this, `tg${suffix}`, {
        name: `${name}${suffix}`.slice(0, 32),
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
    this.targetGroup = targetGroup('');
    const routes = [
      new LbListenerRule(this, 'route', {
        listenerArn: props.listenerArn,
        priority,
        condition: [{ pathPattern: { values: [pathPrefix.slice(0, -1), `${pathPrefix}*`] } }],
        action: [{ type: 'forward', targetGroupArn: this.targetGroup.arn }],
      }),
    ];
    this.url = `${props.publicUrl}${pathPrefix}`;
    const processes = n8nProcesses(props.shape, props.features, props.apiUrl);
    const webhookProcess = processes.find((p) => p.role === 'webhook');
    const webhookGroup = webhookProcess ? targetGroup('-webhook') : undefined;
    if (webhookGroup)
      routes.push(
        new LbListenerRule(this, 'webhook-route', {
          listenerArn: props.listenerArn,
          priority: priority - 1,
          condition: [{ pathPattern: { values: [`${pathPrefix}${WEBHOOK_PATH_PREFIX}/*`] } }],
          action: [{ type: 'forward', targetGroupArn: webhookGroup.arn }],
        }),
      );
    // Main's /metrics (queue gauges included) into the runtime's CloudWatch namespace, by the runtime's agent.
    const metrics = {
      sidecars: [
        {
          name: 'cloudwatch-agent',
          image: CLOUDWATCH_AGENT_IMAGE,
          essential: false,
          environment: [
            { name: 'PROMETHEUS_CONFIG_CONTENT', value: prometheusScrapeConfig(props.metrics.serviceName, N8N_PORT) },
            { name: 'CW_CONFIG_CONTENT', value: cloudwatchAgentConfig(props.metrics.logGroup.name) },
          ],
        },
      ],
      taskStatements: [
        {
          sid: 'MetricsSidecarLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [props.metrics.logGroup.arn, `${props.metrics.logGroup.arn}:*`],
        },
      ],
    };
    const run = (process: N8nProcess, targetGroupArn: string | undefined) => {
      const service = new AwsFargateService(this, process.role === 'main' ? 'service' : `service-${process.role}`, {
        name: n8nProcessName(name, process.role),
        context: ctx,
        image: props.image ?? N8N_IMAGE,
        entryPoint: process.command,
        healthCheckGraceSeconds: N8N_STARTUP_SECONDS,
        containerPort: N8N_PORT,
        cpuUnits: 1024,
        memoryMb: 2048,
        instanceCount: process.instances,
        environment: {
          ...process.environment,
          N8N_PATH: pathPrefix,
          WEBHOOK_URL: this.url,
          N8N_PROTOCOL: 'http',
          DB_POSTGRESDB_HOST: this.database.instance.address,
          DB_POSTGRESDB_PORT: String(this.database.port),
          DB_POSTGRESDB_DATABASE: 'n8n',
          DB_POSTGRESDB_USER: 'n8n',
          DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED: 'true',
          DB_POSTGRESDB_SSL_CA: props.databaseCa,
        },
        secrets: {
          ...Object.fromEntries(process.secrets.map((secret) => [secret, props.secretArns[secret]])),
          DB_POSTGRESDB_PASSWORD: `${this.database.masterSecretArn}:password::`,
        },
        targetGroupArn,
        loadBalancerSecurityGroupId: props.loadBalancerSecurityGroupId,
        ...(process.role === 'main' ? metrics : { taskStatements: [] }),
      });
      for (const route of routes) service.service.node.addDependency(route);
      this.database.allowFrom(`n8n${process.role === 'main' ? '' : `-${process.role}`}`, service.securityGroup.id);
      this.services[process.role] = service;
      return service;
    };
    const missing = processes.flatMap((p) => p.secrets).filter((secret) => !props.secretArns[secret]);
    if (missing.length) throw new Error(`AwsN8n: no secret ARN for ${[...new Set(missing)].join(', ')}`);
    this.service = run(processes[0], this.targetGroup.arn);
    for (const process of processes.slice(1)) run(process, process.role === 'webhook' ? webhookGroup!.arn : undefined);
    if (props.shape.editor.access === 'allowlist')
      this.editorAcl = this.restrictEditor(props, pathPrefix, props.shape.editor.cidrs);
    webhookOutputs(this, this.url);
  }

  /**
   * A WAF web ACL on the load balancer: a request under `pathPrefix` outside its webhook paths is
   * blocked unless the viewer is on the allowlist. The load balancer is reached through CloudFront
   * only, so the viewer is the last X-Forwarded-For entry (the one CloudFront appends; earlier entries
   * are the viewer's own to forge). The path is URL-decoded and normalized first, so
   * `/n8n/webhook/../rest/` cannot pass as a webhook. n8n's public API stays reachable too: it takes
   * only an API key (X-N8N-API-KEY, never a session), and the runtime calls it from its NAT addresses.
   */
  private restrictEditor(props: AwsN8nProps, pathPrefix: string, cidrs: readonly string[]): Wafv2WebAcl {
    const name = `${props.prefix}-n8n-editor`;
    const ipSet = new Wafv2IpSet(this, 'editor-allowlist', {
      name,
      scope: 'REGIONAL',
      ipAddressVersion: 'IPV4',
      addresses: [...cidrs],
      description: 'Addresses that may open the n8n editor (context n8nEditorAllowlist)',
    });
    const path = (searchString: string) => ({
      ByteMatchStatement: {
        SearchString: searchString,
        FieldToMatch: { UriPath: {} },
        TextTransformations: [
          { Priority: 0, Type: 'URL_DECODE' },
          { Priority: 1, Type: 'NORMALIZE_PATH' },
        ],
        PositionalConstraint: 'STARTS_WITH',
      },
    });
    const visibility = (metric: string) => ({
      SampledRequestsEnabled: true,
      CloudWatchMetricsEnabled: true,
      MetricName: metric,
    });
    const acl = new Wafv2WebAcl(this, 'editor-acl', {
      name,
      scope: 'REGIONAL',
      description: 'n8n editor: allowlisted viewers only; webhooks and the runtime are not affected',
      defaultAction: { allow: {} },
      visibilityConfig: {
        cloudwatchMetricsEnabled: true,
        metricName: name,
        sampledRequestsEnabled: true,
      },
      ruleJson: JSON.stringify([
        {
          Name: 'n8n-editor-allowlist',
          Priority: 0,
          Action: { Block: {} },
          VisibilityConfig: visibility(`${name}-blocked`),
          Statement: {
            AndStatement: {
              Statements: [
                path(pathPrefix.slice(0, -1)),
                { NotStatement: { Statement: path(`${pathPrefix}${WEBHOOK_PATH_PREFIX}/`) } },
                { NotStatement: { Statement: path(`${pathPrefix}${N8N_PUBLIC_API_PATH}/`) } },
                {
                  NotStatement: {
                    Statement: {
                      IPSetReferenceStatement: {
                        ARN: ipSet.arn,
                        IPSetForwardedIPConfig: {
                          HeaderName: 'X-Forwarded-For',
                          FallbackBehavior: 'NO_MATCH',
                          Position: 'LAST',
                        },
                      },
                    },
                  },
                },
              ],
            },
          },
        },
      ]),
    });
    new Wafv2WebAclAssociation(this, 'editor-acl-association', {
      resourceArn: props.loadBalancerArn,
      webAclArn: acl.arn,
    });
    return acl;
  }
}
