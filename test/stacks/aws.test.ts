import { scheduleMessage } from '@data-sync/config/job-message';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { App } from 'cdktf';
import { buildApp } from '../../app';
import { AwsStack } from '../../stacks/aws';
import {
  ENVIRONMENT_CONFIGS,
  type EnvironmentName,
  FAMILY_FLAG,
  INTEGRATIONS,
  resolveSettings,
  parseContext,
  lambdaNodeArgs,
} from '@data-sync/config';
import { ALERT_RULES, DASHBOARD_PANELS } from '@data-sync/monitoring/alerts';
import { CAPABILITIES } from '../../stacks/capabilities';
import { RUNTIME_ROLE } from '../../constructs/database/roles';
import { AwsMonitoring } from '../../constructs/monitoring/aws';
import { zipBytes, zipFiles } from '../../constructs/shared/zip';
import { codeCacheFile } from '@data-sync/sync-runtime/src/lambda-code-cache';
import {
  type Block,
  type TerraformJson,
  changedPaths,
  checkCapabilities,
  checkPolicies,
  checkReferences,
  resourcesOf,
  synthJson,
} from '../support/terraform-checks';

const ENVIRONMENTS: EnvironmentName[] = ['dev', 'staging', 'prod'];

/** The file names of a zip, from its local headers in order. */
function zipNames(zip: Buffer): string[] {
  const names: string[] = [];
  for (let at = 0; zip.readUInt32LE(at) === 0x04034b50;) {
    const nameLength = zip.readUInt16LE(at + 26);
    names.push(zip.subarray(at + 30, at + 30 + nameLength).toString());
    at += 30 + nameLength + zip.readUInt16LE(at + 28) + zip.readUInt32LE(at + 18);
  }
  return names;
}

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'aws-stack-test-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

const cache = new Map<string, TerraformJson>();
function synth(context: Record<string, unknown>): TerraformJson {
  const key = JSON.stringify(context);
  if (!cache.has(key)) {
    const { stacks } = buildApp({ context: { clouds: 'aws', ...context }, outdir });
    expect(stacks).toHaveLength(1);
    cache.set(key, synthJson(stacks[0]));
  }
  return cache.get(key)!;
}

const only = (json: TerraformJson, type: string): Block => {
  const all = resourcesOf(json, type);
  expect(all).toHaveLength(1);
  return all[0][1];
};
const byName = (json: TerraformJson, type: string, attribute: string) =>
  new Map(resourcesOf(json, type).map(([, body]) => [String(body[attribute]), body]));
const containers = (taskDefinition: Block) =>
  JSON.parse(String(taskDefinition.container_definitions)) as Array<Record<string, any>>;
const listenerWeights = (json: TerraformJson) => {
  const [[, listener]] = resourcesOf(json, 'aws_lb_listener');
  const groups = (listener.default_action as any[])[0].forward.target_group as { arn: string; weight: number }[];
  return Object.fromEntries(groups.map((g) => [/tg-(blue|green)/.exec(g.arn)![1], g.weight]));
};

describe.each(ENVIRONMENTS)('AWS stack, %s', (environment) => {
  const env = ENVIRONMENT_CONFIGS[environment];
  const json = () => synth({ environment });

  test('every reference resolves and every policy holds', () => {
    expect(checkReferences(json())).toEqual([]);
    expect(checkPolicies(json(), 'aws')).toEqual([]);
  });

  test('blue and green ECS services: 2 tasks each, 1024 CPU units, 2048 MiB, own task definition and image tag', () => {
    const services = byName(json(), 'aws_ecs_service', 'name');
    const tasks = byName(json(), 'aws_ecs_task_definition', 'family');
    for (const slot of ['blue', 'green']) {
      const name = `data-sync-${environment}-api-${slot}`;
      const service = services.get(name)!;
      expect(service).toMatchObject({ desired_count: env.instanceCount, launch_type: 'FARGATE' });
      expect(service.desired_count).toBe(2);
      expect(String(service.task_definition)).toContain(`aws_ecs_task_definition.runtime_${slot}_task_`);
      const task = tasks.get(name)!;
      expect(task).toMatchObject({
        cpu: '1024',
        memory: '2048',
        network_mode: 'awsvpc',
        requires_compatibilities: ['FARGATE'],
      });
      expect(containers(task)[0].image).toMatch(/repository_url\}:1\.0\.0$/);
    }
  });

  test('database: encrypted, private, managed master password; multi-AZ and deletion protection only in prod', () => {
    const db = byName(json(), 'aws_db_instance', 'identifier').get(`data-sync-${environment}`)!;
    expect(db).toMatchObject({
      engine: 'postgres',
      storage_encrypted: true,
      publicly_accessible: false,
      manage_master_user_password: true,
    });
    expect(db.password).toBeUndefined();
    expect(db.multi_az).toBe(environment === 'prod');
    expect(db.deletion_protection).toBe(environment === 'prod');
    expect(db.instance_class).toBe(env.database.instanceClass);
  });

  test('schedules and secrets exist exactly for the enabled integrations', () => {
    const settings = resolveSettings('aws', environment, parseContext({ environment }));
    const schedules = resourcesOf(json(), 'aws_scheduler_schedule').map(([, s]) => s);
    expect(schedules.map((s) => s.name).sort()).toEqual(
      settings.integrations.map((i) => `data-sync-${environment}-${i.name}`).sort(),
    );
    for (const schedule of schedules) {
      const integration = INTEGRATIONS.find((i) => schedule.name === `data-sync-${environment}-${i.name}`)!;
      expect(settings.features[FAMILY_FLAG[integration.family]]).toBe(true);
      expect(schedule.schedule_expression).toBe(
        { '1h': 'rate(1 hour)', '30m': 'rate(30 minutes)', '15m': 'rate(15 minutes)' }[integration.syncInterval],
      );
      expect(JSON.parse(String((schedule.target as any).input))).toEqual(scheduleMessage(integration.name));
      expect(String((schedule.target as any).arn)).toMatch(/^\$\{aws_sqs_queue\.queue_jobs_\w+\.arn\}$/);
    }
    const secretNames = resourcesOf(json(), 'aws_secretsmanager_secret').map(([, s]) => String(s.name));
    const credentials = settings.integrations.flatMap((i) =>
      i.credentials.map((c) => `data-sync-${environment}/integrations/${i.name}/${c}`),
    );
    expect(secretNames.filter((n) => n.includes('/integrations/')).sort()).toEqual(credentials.sort());
    expect(resourcesOf(json(), 'aws_secretsmanager_secret_version')).toEqual([]);
  });

  test('queue: KMS, DLQ redrive with the environment maxReceiveCount, visibility above the worker timeout', () => {
    const queues = byName(json(), 'aws_sqs_queue', 'name');
    const jobs = queues.get(`data-sync-${environment}-jobs`)!;
    expect(JSON.parse(String(jobs.redrive_policy))).toEqual({
      deadLetterTargetArn: expect.stringMatching(/^\$\{aws_sqs_queue\.queue_dead-letters_\w+\.arn\}$/),
      maxReceiveCount: env.maxReceiveCount,
    });
    expect(jobs.visibility_timeout_seconds).toBeGreaterThan(env.workerTimeoutSeconds);
    expect(jobs.kms_master_key_id).toMatch(/aws_kms_key/);
    const lambda = only(json(), 'aws_lambda_function');
    expect(lambda.timeout).toBe(env.workerTimeoutSeconds);
    expect(lambda.filename).toMatch(/^assets\/worker_bundle_\w+\/[0-9A-F]+\/archive\.zip$/);
    expect(only(json(), 'aws_lambda_event_source_mapping')).toMatchObject({
      function_response_types: ['ReportBatchItemFailures'],
    });
  });

  test('the Lambda worker serves as the DML-only role, migrates nothing, and may read exactly the secrets it names', () => {
    const lambda = only(json(), 'aws_lambda_function');
    const variables = (lambda.environment as { variables: Record<string, string> }).variables;
    expect(variables.DATABASE_URL).toMatch(new RegExp(`^postgres://${RUNTIME_ROLE}@`));
    expect(variables.DATA_SYNC_MIGRATIONS).toBe('check');
    expect(variables.DATABASE_MIGRATION_URL).toBeUndefined();
    // The ARN of each secret the worker reads at start: its password, the key, and the credentials by name.
    const arnOf = new Map(
      resourcesOf(json(), 'aws_secretsmanager_secret').map(([name, s]) => [
        String(s.name),
        `\${aws_secretsmanager_secret.${name}.arn}`,
      ]),
    );
    const credentials = variables.DATA_SYNC_CREDENTIAL_SECRETS.split(',').map((entry) =>
      arnOf.get(`${variables.DATA_SYNC_CREDENTIAL_SECRET_PREFIX}${entry}`)!,
    );
    expect(variables.DATABASE_PASSWORD_SECRET_ARN).toBe(
      arnOf.get(`data-sync-${environment}/runtime/DATABASE_PASSWORD`),
    );
    const policy = resourcesOf(json(), 'aws_iam_role_policy')
      .map(([, p]) => JSON.parse(String(p.policy)) as { Statement: { Sid: string; Resource: string[] }[] })
      .find((p) => p.Statement.some((st) => st.Sid === 'ConsumeQueue'))!;
    const reads = policy.Statement.find((st) => st.Sid === 'ReadSecrets')!.Resource;
    expect([...reads].sort()).toEqual(
      [...credentials, variables.DATABASE_PASSWORD_SECRET_ARN, variables.DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN].sort(),
    );
    // No owner login is kept for it: the owner's URL is the ECS API's alone.
    expect(
      [...arnOf.keys()].filter((name) => name.startsWith(`data-sync-${environment}/runtime/DATABASE_`)).sort(),
    ).toEqual([
      `data-sync-${environment}/runtime/DATABASE_MIGRATION_URL`,
      `data-sync-${environment}/runtime/DATABASE_PASSWORD`,
    ]);
  });

  test('log groups keep logs for the environment retention', () => {
    const groups = resourcesOf(json(), 'aws_cloudwatch_log_group');
    expect(groups.length).toBeGreaterThanOrEqual(4);
    for (const [, group] of groups) expect(group.retention_in_days).toBe(env.logRetentionDays);
  });

  test('an alarm for every alert rule, SQS age alarm, SNS topic and a dashboard panel per catalog panel', () => {
    const alarms = resourcesOf(json(), 'aws_cloudwatch_metric_alarm').map(([, a]) => String(a.alarm_name));
    for (const rule of ALERT_RULES)
      expect(
        alarms.some(
          (n) =>
            n === `data-sync-${environment}-${rule.name}` || n.startsWith(`data-sync-${environment}-${rule.name}-`),
        ),
      ).toBe(true);
    expect(alarms).toContain(`data-sync-${environment}-QueueOldestMessageAge`);
    const dashboard = JSON.parse(String(only(json(), 'aws_cloudwatch_dashboard').dashboard_body));
    expect(dashboard.widgets.map((w: any) => w.properties.title)).toEqual(DASHBOARD_PANELS.map((p) => p.title));
    for (const [, topic] of resourcesOf(json(), 'aws_sns_topic'))
      expect(topic.kms_master_key_id).toMatch(/aws_kms_key/);
  });

  test('every capability is provided by a resource the stack declares', () => {
    const { stacks } = buildApp({ context: { clouds: 'aws', environment }, outdir });
    expect(CAPABILITIES.filter((c) => !stacks[0].capabilities.has(c))).toEqual([]);
    expect(checkCapabilities(stacks[0], synthJson(stacks[0]), CAPABILITIES)).toEqual([]);
  });
});

describe('AWS alarms render the alert catalog', () => {
  const alarms = () =>
    new Map(
      resourcesOf(synth({ environment: 'prod' }), 'aws_cloudwatch_metric_alarm').map(([, a]) => [
        String(a.alarm_name),
        a,
      ]),
    );

  test('HighSyncFailureRate: failed / total over 5 minutes > 0.1 from the DataSync namespace', () => {
    const alarm = alarms().get('data-sync-prod-HighSyncFailureRate')!;
    expect(alarm).toMatchObject({ threshold: 0.1, comparison_operator: 'GreaterThanThreshold', evaluation_periods: 1 });
    const queries = alarm.metric_query as any[];
    expect(queries.find((q) => q.id === 'ratio').expression).toBe('FILL(matching, 0) / total');
    expect(queries.find((q) => q.id === 'matching').metric).toMatchObject({
      namespace: 'DataSync',
      metric_name: 'data_sync_sync_runs_total',
      period: 300,
      dimensions: { service: 'data-sync-service', alarm_high_sync_failure_rate: 'match' },
    });
  });

  test('APIRateLimitApproaching: minimum remaining < 100 for 1 minute', () => {
    expect(alarms().get('data-sync-prod-APIRateLimitApproaching')).toMatchObject({
      metric_name: 'data_sync_api_requests_remaining',
      statistic: 'Minimum',
      threshold: 100,
      comparison_operator: 'LessThanThreshold',
      period: 60,
      evaluation_periods: 1,
    });
  });

  test('dead letters are alarmed from SQS itself, and staleness per integration', () => {
    expect(alarms().get('data-sync-prod-DeadLetterQueueNotEmpty')).toMatchObject({
      namespace: 'AWS/SQS',
      metric_name: 'ApproximateNumberOfMessagesVisible',
      threshold: 0,
    });
    expect(alarms().has('data-sync-prod-SyncLagging-salesforce')).toBe(true);
  });

  test('the metrics sidecar scrapes /metrics into namespace DataSync and marks ratio numerators', () => {
    const task = byName(synth({ environment: 'prod' }), 'aws_ecs_task_definition', 'family').get(
      'data-sync-prod-api-blue',
    )!;
    const agent = containers(task).find((c) => c.name === 'cloudwatch-agent')!;
    const env = Object.fromEntries(agent.environment.map((e: any) => [e.name, e.value]));
    const cw = JSON.parse(env.CW_CONFIG_CONTENT);
    expect(cw.logs.metrics_collected.prometheus.emf_processor.metric_namespace).toBe('DataSync');
    const scrape = JSON.parse(env.PROMETHEUS_CONFIG_CONTENT).scrape_configs[0];
    expect(scrape.static_configs[0].targets).toEqual(['localhost:3000']);
    expect(scrape.metric_relabel_configs).toContainEqual(
      expect.objectContaining({
        regex: 'data_sync_sync_runs_total;failed',
        target_label: 'alarm_high_sync_failure_rate',
      }),
    );
  });
});

describe('AWS blue-green', () => {
  test('switching activeSlot moves only the listener weights', () => {
    const blue = synth({ environment: 'prod' });
    const green = synth({ environment: 'prod', activeSlot: 'green' });
    expect(listenerWeights(blue)).toEqual({ blue: 100, green: 0 });
    expect(listenerWeights(green)).toEqual({ blue: 0, green: 100 });
    const changed = changedPaths(blue, green);
    expect(changed.filter((p) => !p.startsWith('output.active_slot'))).toEqual([
      expect.stringMatching(
        /^resource\.aws_lb_listener\.runtime_http_\w+\.default_action\[0\]\.forward\.target_group\[0\]\.weight$/,
      ),
      expect.stringMatching(
        /^resource\.aws_lb_listener\.runtime_http_\w+\.default_action\[0\]\.forward\.target_group\[1\]\.weight$/,
      ),
    ]);
  });

  test('deploymentSlot gets the new image; nothing else changes', () => {
    const before = synth({ environment: 'prod', stableImageTag: '1.4.0' });
    const after = synth({ environment: 'prod', stableImageTag: '1.4.0', deploymentSlot: 'green', imageTag: '2.0.0' });
    const tasks = byName(after, 'aws_ecs_task_definition', 'family');
    expect(containers(tasks.get('data-sync-prod-api-green')!)[0].image).toMatch(/:2\.0\.0$/);
    expect(containers(tasks.get('data-sync-prod-api-blue')!)[0].image).toMatch(/:1\.4\.0$/);
    expect(listenerWeights(after)).toEqual({ blue: 100, green: 0 });
    expect(changedPaths(before, after)).toEqual([
      expect.stringMatching(/^resource\.aws_ecs_task_definition\.runtime_green_task_\w+\.container_definitions$/),
      expect.stringMatching(
        /^resource\.aws_ecs_task_definition\.runtime_green_task_\w+\.container_definitions<json>\[0\]\.image$/,
      ),
    ]);
  });
});

describe('AWS context', () => {
  test('a disabled family removes its schedules and secrets', () => {
    const json = synth({ environment: 'dev', enableCrmSync: 'false' });
    expect(resourcesOf(json, 'aws_scheduler_schedule').map(([, s]) => s.name)).toEqual(['data-sync-dev-mailchimp']);
    expect(resourcesOf(json, 'aws_secretsmanager_secret').some(([, s]) => String(s.name).includes('salesforce'))).toBe(
      false,
    );
  });

  test('without n8n the stack says so instead of providing it', () => {
    const { stacks } = buildApp({
      context: { clouds: 'aws', environment: 'dev', enableN8nWorkflows: 'false' },
      outdir,
    });
    expect(stacks[0].capabilities.has('n8n')).toBe(false);
    expect(stacks[0].exceptions.get('n8n')).toMatch(/enableN8nWorkflows/);
    expect(resourcesOf(synthJson(stacks[0]), 'aws_ecs_service')).toHaveLength(2);
  });

  test.each([
    [{ activeSlot: 'purple' }, 'Invalid context value activeSlot="purple": allowed values are blue, green'],
    [{ environment: 'qa' }, 'Invalid context value environment="qa": allowed values are dev, staging, prod'],
    [{ activeSlt: 'green' }, 'Unknown context key "activeSlt": allowed keys are environment, clouds'],
  ])('%j fails synth naming the key and the allowed values', (context, message) => {
    expect(() => buildApp({ context: { clouds: 'aws', ...context }, outdir })).toThrow(message);
  });

  test('synth writes the stack and the worker bundle archive', () => {
    const { app } = buildApp({ context: { clouds: 'aws', environment: 'dev' }, outdir });
    app.synth();
    const dir = path.join(outdir, 'stacks', 'data-sync-aws-dev');
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'cdk.tf.json'), 'utf8')) as TerraformJson;
    const fn = only(json, 'aws_lambda_function');
    const archive = path.join(dir, String(fn.filename));
    expect(fs.statSync(archive).size).toBeGreaterThan(1000);
    // The handler module, the bundle it loads, and that bundle's code cache for the Node flags Lambda
    // starts this function with (the build's Node: CI synthesizes on the runtime's Node and architecture).
    expect(fn.handler).toBe('lambda-handler.handler');
    expect(zipNames(fs.readFileSync(archive))).toEqual([
      'lambda-handler.js',
      'lambda.js',
      codeCacheFile(process.version, lambdaNodeArgs(Number(fn.memory_size))),
    ]);
  });
});

describe('AWS renderers', () => {
  test('a PromQL equality a CloudWatch alarm cannot express fails loudly', () => {
    const rule = {
      ...ALERT_RULES[0],
      name: 'Bad',
      condition: {
        kind: 'threshold' as const,
        metric: 'data_sync_up',
        aggregate: 'sum' as const,
        by: ['role'],
        op: '<' as const,
        threshold: 1,
      },
    };
    const app = buildApp({ context: { clouds: 'aws', environment: 'dev' }, outdir });
    expect(
      () =>
        new AwsMonitoring(app.stacks[0], 'probe', {
          prefix: 'p',
          serviceName: 's',
          kmsKeyArn: 'k',
          alertEmail: 'a@example.com',
          integrations: [],
          queueName: 'q',
          deadLetterQueueName: 'd',
          region: 'us-east-1',
          rules: [rule],
        }),
    ).toThrow('Alert rule Bad: sum by (role) has no single CloudWatch alarm equivalent');
  });
});

describe('AWS stack options from context', () => {
  const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d';

  test('awsRegion reaches the provider and every regional name; the default stays us-east-1', () => {
    const json = synth({ environment: 'staging', awsRegion: 'eu-west-1' });
    expect((json.provider as any).aws[0].region).toBe('eu-west-1');
    expect(JSON.stringify(json)).not.toContain('us-east-1');
    expect((synth({ environment: 'staging' }).provider as any).aws[0].region).toBe('us-east-1');
  });

  test('an existing VPC is used instead of a new one: the internal load balancer, tasks and database in its private subnets', () => {
    const json = synth({
      environment: 'staging',
      awsVpcId: 'vpc-0123456789abcdef0',
      awsPrivateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2',
    });
    expect(resourcesOf(json, 'aws_vpc')).toEqual([]);
    expect(resourcesOf(json, 'aws_nat_gateway')).toEqual([]);
    expect(only(json, 'aws_lb')).toMatchObject({
      internal: true,
      subnets: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'],
    });
    expect(new Set(resourcesOf(json, 'aws_security_group').map(([, g]) => g.vpc_id))).toEqual(
      new Set(['vpc-0123456789abcdef0']),
    );
    expect(checkReferences(json)).toEqual([]);
    expect(checkPolicies(json, 'aws')).toEqual([]);
  });

  test('a custom domain puts its hostname and certificate on the main distribution; the slots keep their own names', () => {
    const json = synth({ environment: 'prod', awsDomainName: 'api.example.org', awsCertificateArn: CERT });
    const distributions = byName(json, 'aws_cloudfront_distribution', 'comment');
    expect(distributions.get('data-sync-prod API (active slot)')).toMatchObject({
      aliases: ['api.example.org'],
      viewer_certificate: {
        acm_certificate_arn: CERT,
        ssl_support_method: 'sni-only',
        minimum_protocol_version: 'TLSv1.2_2021',
      },
    });
    expect(distributions.get('data-sync-prod blue slot')!.viewer_certificate).toEqual({
      cloudfront_default_certificate: true,
    });
    expect((json.output as any).url.value).toBe('https://api.example.org');
    expect(checkPolicies(json, 'aws')).toEqual([]);
  });

  test("no custom domain: HTTPS on the distributions' own names, HTTP redirected, the load balancer reachable only from CloudFront", () => {
    const json = synth({ environment: 'prod' });
    const distributions = resourcesOf(json, 'aws_cloudfront_distribution');
    expect(distributions).toHaveLength(3);
    for (const [, d] of distributions) {
      expect(d.viewer_certificate).toEqual({ cloudfront_default_certificate: true });
      expect((d.default_cache_behavior as Block).viewer_protocol_policy).toBe('redirect-to-https');
      expect(((d.origin as Block[])[0].vpc_origin_config as Block).vpc_origin_id).toMatch(
        /^\$\{aws_cloudfront_vpc_origin\./,
      );
    }
    expect(only(json, 'aws_lb')).toMatchObject({ internal: true });
    const sg = byName(json, 'aws_security_group', 'name').get('data-sync-prod-lb')!;
    expect(sg.ingress).toBeUndefined();
    const [[, fromCloudfront]] = resourcesOf(json, 'aws_vpc_security_group_ingress_rule').filter(([, r]) =>
      String(r.prefix_list_id).includes('cloudfront'),
    );
    expect(fromCloudfront).toMatchObject({ from_port: 80, to_port: 80 });
    expect(Object.values((json.data as any).aws_ec2_managed_prefix_list).map((d: any) => d.name)).toEqual([
      'com.amazonaws.global.cloudfront.origin-facing',
    ]);
  });

  test('each slot distribution sets the slot header and the listener forwards it to that slot only', () => {
    const json = synth({ environment: 'prod' });
    const headers = resourcesOf(json, 'aws_cloudfront_distribution')
      .map(([, d]) => ((d.origin as Block[])[0].custom_header as Block[])[0].value)
      .sort();
    expect(headers).toEqual(['active', 'blue', 'green']);
    const rules = resourcesOf(json, 'aws_lb_listener_rule')
      .filter(([name]) => /slot/.test(name))
      .map(([, r]) => [
        ((r.condition as Block[])[0].http_header as Block).values,
        (r.action as Block[])[0].target_group_arn,
      ]);
    expect(rules).toEqual([
      [['blue'], expect.stringMatching(/tg-blue/)],
      [['green'], expect.stringMatching(/tg-green/)],
    ]);
  });

  test.each([
    [{ awsRegion: 'mars-1' }, 'Invalid context value awsRegion="mars-1": expected an AWS region such as eu-west-1'],
    [
      { awsVpcId: 'vpc-0123456789abcdef0' },
      'Invalid context value awsPrivateSubnetIds=undefined: expected two or more distinct subnet ids',
    ],
    [
      { awsVpcId: 'vpc-0123456789abcdef0', awsPrivateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1' },
      'expected two or more distinct subnet ids',
    ],
    [{ awsPrivateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2' }, 'set awsVpcId too'],
    [
      { environment: 'prod', awsDomainName: 'api.example.org' },
      'Invalid context value awsDomainName="api.example.org": set awsCertificateArn too',
    ],
    [
      { awsDomainName: 'api.example.org', awsCertificateArn: CERT },
      'set environment too: a hostname belongs to one environment',
    ],
    [
      {
        environment: 'prod',
        awsDomainName: 'api.example.org',
        awsCertificateArn: CERT.replace('us-east-1', 'eu-west-1'),
      },
      'expected an ACM certificate ARN in us-east-1',
    ],
  ])('%j is refused naming the key', (context, message) => {
    expect(() => buildApp({ context: { clouds: 'aws', ...context }, outdir })).toThrow(message);
  });

  test('an existing VPC with fewer than two private subnets fails in the construct too', () => {
    const settings = resolveSettings('aws', 'staging', parseContext({ environment: 'staging' }));
    expect(
      () =>
        new AwsStack(new App({ outdir, skipValidation: true }), settings, {
          existingVpc: { vpcId: 'vpc-1', privateSubnetIds: ['b'] },
        }),
    ).toThrow('an existing VPC needs at least two private subnets in different AZs (got 1)');
  });
});

describe('worker bundle zip', () => {
  test('is deterministic and holds each file deflated with its CRC, name and sizes', () => {
    const content = Buffer.from('exports.handler = async () => ({ batchItemFailures: [] });\n'.repeat(50));
    const zip = zipBytes([['lambda.js', content]]);
    expect(zipBytes([['lambda.js', content]]).equals(zip)).toBe(true);
    expect(zip.readUInt32LE(0)).toBe(0x04034b50);
    const nameLength = zip.readUInt16LE(26);
    expect(zip.subarray(30, 30 + nameLength).toString()).toBe('lambda.js');
    const compressed = zip.readUInt32LE(18);
    const data = zip.subarray(30 + nameLength, 30 + nameLength + compressed);
    expect(zlib.inflateRawSync(data).equals(content)).toBe(true);
    expect(zip.readUInt32LE(14)).toBe(zlib.crc32(content));
    expect(zip.readUInt32LE(22)).toBe(content.length);
    const end = zip.subarray(zip.length - 22);
    expect([end.readUInt32LE(0), end.readUInt16LE(10), end.readUInt32LE(16)]).toEqual([
      0x06054b50,
      1,
      30 + nameLength + compressed,
    ]);
  });

  test("a code cache counts by name only: remade with other bytes it keeps the package's digest, a changed bundle does not", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zip-identity-'));
    const write = (name: string, content: string) => fs.writeFileSync(path.join(dir, name), content);
    const files = ['lambda.js', 'lambda.0123456789abcdef.v8cache'];
    const options = { identifiedByName: (name: string) => name.endsWith('.v8cache') };
    write(files[0], 'exports.handler = 1;');
    write(files[1], 'cache bytes of one build');
    const first = zipFiles(dir, files, options);
    write(files[1], 'cache bytes of the next build');
    expect(zipFiles(dir, files, options).digest).toBe(first.digest);
    expect(zipFiles(dir, files).digest).not.toBe(first.digest);
    write(files[0], 'exports.handler = 2;');
    expect(zipFiles(dir, files, options).digest).not.toBe(first.digest);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a missing bundle is a clear error', () => {
    expect(() => zipFiles(outdir, ['lambda.js'])).toThrow(/lambda\.js does not exist: build the runtime bundle first/);
  });
});

describe('AWS key policy', () => {
  test('CloudWatch Logs may use the key for exactly the log groups the stack creates', () => {
    const json = synth({ environment: 'prod' });
    const policy = JSON.parse(String(only(json, 'aws_kms_key').policy));
    const logs = policy.Statement.find((s: any) => s.Sid === 'CloudWatchLogsEncrypt');
    const patterns = (logs.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn'] as string[]).map(
      (p) => new RegExp(`:log-group:${p.split(':log-group:')[1].replace(/[/]/g, '\\/').replace('*', '.*')}$`),
    );
    for (const [, group] of resourcesOf(json, 'aws_cloudwatch_log_group')) {
      expect([group.name, patterns.some((re) => re.test(`:log-group:${group.name}`))]).toEqual([group.name, true]);
    }
    expect(policy.Statement.flatMap((s: any) => s.Action)).not.toContain('kms:*');
  });
});
