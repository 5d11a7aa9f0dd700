import { App, TerraformStack, TerraformVariable } from 'cdktf';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import {
  type TerraformJson,
  checkCapabilities,
  checkPolicies,
  checkReferences,
  interpolations,
  synthJson,
} from '../support/terraform-checks';
import { n8nContainers } from '../support/policies/n8n';
import { N8N_VERSION } from '../../constructs/generic/workload';

describe('reference checker', () => {
  const json: TerraformJson = {
    resource: {
      aws_sqs_queue: { jobs: { name: 'jobs' }, dlq: { name: 'dlq' } },
      aws_iam_role: { worker: { name: 'w' } },
    },
    data: { aws_caller_identity: { current: {} } },
    variable: { region: { type: 'string' } },
    locals: { prefix: 'x' },
    module: { vpc: { source: './vpc' } },
  };
  const withValue = (value: unknown): TerraformJson => ({
    ...json,
    resource: { ...json.resource, aws_sns_topic: { t: { probe: value } } },
  });

  test.each([
    '${aws_sqs_queue.jobs.arn}',
    'arn:${data.aws_caller_identity.current.account_id}:${var.region}',
    '${local.prefix}-${module.vpc.id}',
    '${jsonencode({"deadLetterTargetArn" = aws_sqs_queue.dlq.arn, "maxReceiveCount" = 3})}',
    '${element(aws_sqs_queue.jobs[*].arn, 0)}',
    '${[for q in [aws_sqs_queue.jobs, aws_sqs_queue.dlq] : q.arn]}',
    '${"queue-${aws_sqs_queue.jobs.name}"}',
    '$${literal.not_a_reference}',
    '${aws_iam_role.worker.arn == "" ? var.region : upper(local.prefix)}',
  ])('resolves %s', (value) => {
    expect(checkReferences(withValue(value))).toEqual([]);
  });

  test.each([
    ['${aws_sqs_queue.missing.arn}', 'resource aws_sqs_queue.missing is not declared'],
    ['${data.aws_region.current.name}', 'data source aws_region.current is not declared'],
    ['${var.nope}', 'variable "nope" is not declared'],
    ['${local.nope}', 'local "nope" is not declared'],
    ['${module.nope.id}', 'module "nope" is not declared'],
    ['${jsonencode({"a" = aws_iam_role.other.arn})}', 'resource aws_iam_role.other is not declared'],
    ['${"x-${var.other}"}', 'variable "other" is not declared'],
    ['${element([var.region, aws_kms_key.k.arn], 1)}', 'resource aws_kms_key.k is not declared'],
  ])('reports %s', (value, message) => {
    const problems = checkReferences(withValue([{ nested: value }]));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
    expect(problems[0]).toContain('resource.aws_sns_topic.t.probe[0].nested');
  });

  test('interpolations finds each ${...} with nested braces and strings', () => {
    expect(interpolations('a ${x.y} b ${f({"k" = "}"})} $${z}')).toEqual(['x.y', 'f({"k" = "}"})']);
  });

  test('a real stack synthesized through cdktf resolves, and a dangling token is caught', () => {
    const app = new App({ skipValidation: true });
    const stack = new TerraformStack(app, 'probe');
    new AwsProvider(stack, 'aws', { region: 'us-east-1' });
    const region = new TerraformVariable(stack, 'region', { type: 'string' });
    const dlq = new SqsQueue(stack, 'dlq', { name: 'd', kmsMasterKeyId: 'alias/aws/sqs' });
    new SqsQueue(stack, 'jobs', {
      name: `jobs-${region.stringValue}`,
      kmsMasterKeyId: 'alias/aws/sqs',
      redrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 3 }),
    });
    const synthesized = synthJson(stack);
    expect(checkReferences(synthesized)).toEqual([]);
    expect(checkPolicies(synthesized, 'aws')).toEqual([]);
    delete (synthesized.resource as Record<string, Record<string, unknown>>).aws_sqs_queue.dlq;
    expect(checkReferences(synthesized).join('\n')).toContain('resource aws_sqs_queue.dlq is not declared');
  });
});

test('capability checks: an address must be declared, an exception needs a reason', () => {
  const json: TerraformJson = { resource: { aws_sqs_queue: { jobs_1A: {} } } };
  const stack = (provided: [string, string][], excepted: [string, string][]) => ({
    capabilities: new Map(provided),
    exceptions: new Map(excepted),
  });
  expect(
    checkCapabilities(
      stack([['queue', 'aws_sqs_queue.jobs_1A']], [['n8n', 'n8n cannot run on this platform at all']]),
      json,
      ['queue', 'n8n'],
    ),
  ).toEqual([]);
  expect(
    checkCapabilities(stack([['queue', 'aws_sqs_queue.other']], [['n8n', 'no']]), json, ['queue', 'n8n', 'worker']),
  ).toEqual([
    'queue -> aws_sqs_queue.other is not declared in the stack',
    'n8n is neither provided nor excepted with a reason',
    'worker is neither provided nor excepted with a reason',
  ]);
  expect(checkCapabilities(stack([['queue', 'the SQS queue']], []), json, ['queue'])).toEqual([
    'queue -> "the SQS queue" is not a resource address',
  ]);
});

test('a cloud without a policy module is reported, not silently passed', () => {
  expect(checkPolicies({}, 'moon' as never)).toEqual([
    '[policies] no policy module for cloud "moon" in test/support/policies/index.ts',
  ]);
});

describe('AWS policies', () => {
  const policy = (statement: object) => JSON.stringify({ Version: '2012-10-17', Statement: [statement] });
  const base = (): Record<string, Record<string, Record<string, unknown>>> => ({
    aws_kms_key: { k: { enable_key_rotation: true } },
    aws_sqs_queue: {
      dlq: { kms_master_key_id: '${aws_kms_key.k.arn}' },
      jobs: {
        kms_master_key_id: '${aws_kms_key.k.arn}',
        redrive_policy: JSON.stringify({ deadLetterTargetArn: '${aws_sqs_queue.dlq.arn}', maxReceiveCount: 5 }),
      },
    },
    aws_db_instance: {
      db: {
        storage_encrypted: true,
        publicly_accessible: false,
        db_subnet_group_name: '${aws_db_subnet_group.g.name}',
      },
    },
    aws_cloudwatch_log_group: { logs: { retention_in_days: 30, kms_key_id: '${aws_kms_key.k.arn}' } },
    aws_iam_role_policy: {
      p: { policy: policy({ Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: '${aws_sqs_queue.jobs.arn}' }) },
    },
    aws_secretsmanager_secret: { s: { name: 'x', kms_key_id: '${aws_kms_key.k.arn}' } },
    aws_sns_topic: { t: { kms_master_key_id: '${aws_kms_key.k.arn}' } },
  });

  test('a compliant configuration passes', () => {
    expect(checkPolicies({ resource: base() }, 'aws')).toEqual([]);
  });

  test.each<[string, (r: ReturnType<typeof base>) => void, string]>([
    [
      'unencrypted queue',
      (r) => delete r.aws_sqs_queue.jobs.kms_master_key_id,
      '[aws/sqs-encrypted] aws_sqs_queue.jobs has no kms_master_key_id',
    ],
    [
      'queue without DLQ',
      (r) => (r.aws_sqs_queue.other = { kms_master_key_id: 'k' }),
      '[aws/sqs-dead-letter] aws_sqs_queue.other has no redrive policy',
    ],
    [
      'public database',
      (r) => (r.aws_db_instance.db.publicly_accessible = true),
      '[aws/database-encrypted-private] aws_db_instance.db is publicly_accessible',
    ],
    [
      'unencrypted database',
      (r) => (r.aws_db_instance.db.storage_encrypted = false),
      'aws_db_instance.db is not storage_encrypted',
    ],
    [
      'wildcard IAM',
      (r) => (r.aws_iam_role_policy.p.policy = policy({ Effect: 'Allow', Action: '*', Resource: '*' })),
      '[aws/no-wildcard-iam] aws_iam_role_policy.p.policy allows action "*"',
    ],
    [
      'service wildcard on *',
      (r) => (r.aws_iam_role_policy.p.policy = policy({ Effect: 'Allow', Action: ['sqs:*'], Resource: ['*'] })),
      'allows every action of a service (sqs:*) on resource "*"',
    ],
    [
      'opaque IAM',
      (r) => (r.aws_iam_role_policy.p.policy = '${jsonencode(local.doc)}'),
      'is not an inspectable JSON policy document',
    ],
    [
      'no retention',
      (r) => delete r.aws_cloudwatch_log_group.logs.retention_in_days,
      '[aws/log-retention] aws_cloudwatch_log_group.logs has no retention_in_days',
    ],
    [
      'no rotation',
      (r) => (r.aws_kms_key.k.enable_key_rotation = false),
      '[aws/kms-rotation] aws_kms_key.k does not enable_key_rotation',
    ],
    [
      'secret value',
      (r) => (r.aws_secretsmanager_secret_version = { v: { secret_id: 'x', secret_string: 'hunter2' } }),
      '[common/no-literal-secret] aws_secretsmanager_secret_version.v: secret_string holds a literal secret value',
    ],
    [
      'secret in container env',
      (r) =>
        (r.aws_ecs_task_definition = {
          t: { container_definitions: JSON.stringify([{ environment: [{ name: 'DB_PASSWORD', value: 'hunter2' }] }]) },
        }),
      'environment DB_PASSWORD',
    ],
    [
      'unencrypted topic',
      (r) => delete r.aws_sns_topic.t.kms_master_key_id,
      '[aws/sns-encrypted] aws_sns_topic.t has no kms_master_key_id',
    ],
    [
      'variable set twice',
      (r) =>
        (r.aws_ecs_task_definition = {
          t: {
            container_definitions: JSON.stringify([
              {
                environment: [
                  { name: 'PORT', value: '1' },
                  { name: 'PORT', value: '2' },
                ],
              },
            ]),
          },
        }),
      '[common/unique-env-names] aws_ecs_task_definition.t: environment PORT is set twice at container_definitions<json>[0].environment',
    ],
  ])('%s is reported', (_name, mutate, message) => {
    const resources = base();
    mutate(resources);
    expect(checkPolicies({ resource: resources }, 'aws').join('\n')).toContain(message);
  });
});

describe('OCI policies', () => {
  const base = (): Record<string, Record<string, Record<string, unknown>>> => ({
    oci_core_subnet: { private: { prohibit_public_ip_on_vnic: true } },
    oci_streaming_stream_pool: {
      pool: {
        custom_encryption_key: { kms_key_id: '${oci_kms_key.k.id}' },
        private_endpoint_settings: { subnet_id: '${oci_core_subnet.private.id}' },
      },
    },
    oci_streaming_stream: {
      jobs: { name: 'x-jobs', stream_pool_id: '${oci_streaming_stream_pool.pool.id}' },
      dlq: { name: 'x-jobs-dlq', stream_pool_id: '${oci_streaming_stream_pool.pool.id}' },
    },
    oci_psql_db_system: {
      db: {
        network_details: { subnet_id: '${oci_core_subnet.private.id}' },
        credentials: {
          username: 'u',
          password_details: { password_type: 'VAULT_SECRET', secret_id: 's', secret_version: '1' },
        },
      },
    },
    oci_identity_policy: {
      p: {
        statements: ["Allow dynamic-group g to read secret-bundles in compartment id c where target.vault.id = 'v'"],
      },
    },
    oci_logging_log: { l: { retention_duration: 30 } },
    oci_kms_key: { k: { is_auto_rotation_enabled: true } },
    oci_vault_secret: { s: { enable_auto_generation: true } },
    oci_container_instances_container_instance: { c: { vnics: [{ is_public_ip_assigned: false }] } },
  });

  test('a compliant configuration passes', () => {
    expect(checkPolicies({ resource: base() }, 'oci')).toEqual([]);
  });

  test.each<[string, (r: ReturnType<typeof base>) => void, string]>([
    [
      'unencrypted pool',
      (r) => delete r.oci_streaming_stream_pool.pool.custom_encryption_key,
      '[oci/streams-encrypted-private]',
    ],
    ['no dead-letter stream', (r) => delete r.oci_streaming_stream.dlq, '[oci/dead-letter-stream]'],
    [
      'public database subnet',
      (r) => (r.oci_core_subnet.private.prohibit_public_ip_on_vnic = false),
      'is not in a private subnet',
    ],
    [
      'plain-text database password',
      (r) =>
        ((r.oci_psql_db_system.db.credentials as any).password_details = {
          password_type: 'PLAIN_TEXT',
          password: 'hunter2',
        }),
      'password is not a Vault secret',
    ],
    [
      'all-resources grant',
      (r) => (r.oci_identity_policy.p.statements = ['Allow group admins to manage all-resources in tenancy']),
      'grants all-resources',
    ],
    [
      'unconditioned any-user',
      (r) => (r.oci_identity_policy.p.statements = ['Allow any-user to use fn-invocation in compartment id c']),
      'any-user without a condition',
    ],
    ['no log retention', (r) => delete r.oci_logging_log.l.retention_duration, '[oci/log-retention]'],
    ['no key rotation', (r) => (r.oci_kms_key.k.is_auto_rotation_enabled = false), '[oci/key-rotation]'],
    [
      'secret content',
      (r) => (r.oci_vault_secret.s.secret_content = { content_type: 'BASE64', content: 'aHVudGVyMg==' }),
      'has secret_content in the configuration',
    ],
    [
      'public container',
      (r) => ((r.oci_container_instances_container_instance.c.vnics as any)[0].is_public_ip_assigned = true),
      'may get a public IP',
    ],
  ])('%s is reported', (_name, mutate, message) => {
    const resources = base();
    mutate(resources);
    expect(checkPolicies({ resource: resources }, 'oci').join('\n')).toContain(message);
  });
});

describe('IBM policies', () => {
  const base = (): Record<string, Record<string, Record<string, unknown>>> => ({
    ibm_event_streams_topic: {
      jobs: { resource_instance_id: 'es', name: 'jobs' },
      dlq: { resource_instance_id: 'es', name: 'jobs-dlq' },
    },
    ibm_database: {
      db: { service_endpoints: 'private', key_protect_key: 'crn:k', backup_encryption_key_crn: 'crn:k' },
    },
    ibm_iam_service_policy: {
      p: {
        roles: ['Writer'],
        resource_attributes: [
          { name: 'serviceName', value: 'messagehub' },
          { name: 'serviceInstance', value: 'g' },
        ],
      },
    },
    ibm_resource_instance: { logs: { service: 'logs', parameters: { retention_period: 7 } } },
    ibm_kms_key: { root: { key_name: 'r' } },
    ibm_kms_key_policies: {
      rotation: { key_id: '${ibm_kms_key.root.key_id}', rotation: { enabled: true, interval_month: 3 } },
    },
    ibm_sm_arbitrary_secret: { s: { payload: '' } },
    ibm_code_engine_secret: { c: { data: {} } },
  });

  test('a compliant configuration passes', () => {
    expect(checkPolicies({ resource: base() }, 'ibm')).toEqual([]);
  });

  test.each<[string, (r: ReturnType<typeof base>) => void, string]>([
    ['no dead-letter topic', (r) => delete r.ibm_event_streams_topic.dlq, '[ibm/dead-letter-topic]'],
    [
      'public database',
      (r) => (r.ibm_database.db.service_endpoints = 'public-and-private'),
      'reachable on public endpoints',
    ],
    ['database admin password', (r) => (r.ibm_database.db.adminpassword = 'hunter2hunter2'), 'sets adminpassword'],
    [
      'account-wide policy',
      (r) => (r.ibm_iam_service_policy.p.resource_attributes = [{ name: 'serviceName', value: 'messagehub' }]),
      'not scoped to one service instance',
    ],
    ['administrator role', (r) => (r.ibm_iam_service_policy.p.roles = ['Administrator']), 'grants Administrator'],
    ['logs without retention', (r) => (r.ibm_resource_instance.logs.parameters = {}), '[ibm/log-retention]'],
    ['key without rotation', (r) => delete r.ibm_kms_key_policies.rotation, '[ibm/key-rotation]'],
    ['secret payload', (r) => (r.ibm_sm_arbitrary_secret.s.payload = 'hunter2'), 'has a payload in the configuration'],
    [
      'Code Engine secret data',
      (r) => (r.ibm_code_engine_secret.c.data = { TOKEN: 'x' }),
      'has data in the configuration',
    ],
  ])('%s is reported', (_name, mutate, message) => {
    const resources = base();
    mutate(resources);
    expect(checkPolicies({ resource: resources }, 'ibm').join('\n')).toContain(message);
  });
});

describe('HTTPS policy (every cloud)', () => {
  const https = (json: TerraformJson, cloud: 'aws' | 'oci' | 'azure' | 'cloudflare' | 'gcp' | 'ibm') =>
    checkPolicies(json, cloud).filter((p) => p.startsWith('[common/https-only]'));
  const outputs = (value: string) => ({ output: { url: { value } } });

  test.each([
    ['https://${aws_cloudfront_distribution.cdn.domain_name}'],
    ['${google_cloud_run_v2_service.runtime.uri}'],
    ['${replace(google_cloud_run_v2_service.runtime.uri, "https://", "https://blue---")}'],
    ['${ibm_code_engine_app.api-blue.endpoint}'],
  ])('endpoint output %s passes', (value) => {
    expect(https(outputs(value), 'gcp')).toEqual([]);
  });

  test.each([
    ['http://${aws_lb.lb.dns_name}'],
    ['${aws_lb.lb.dns_name}'],
    ['http://${oci_load_balancer_load_balancer.lb.ip_address_details[0].ip_address}:8081'],
  ])('endpoint output %s is refused', (value) => {
    expect(https(outputs(value), 'aws')).toEqual([`[common/https-only] output url is not an HTTPS URL: ${value}`]);
  });

  test('AWS: an internet-facing ALB serving HTTP, a distribution allowing HTTP and a port open to the internet are refused; an internal ALB and a redirect pass', () => {
    const resource = {
      aws_lb: { public: { internal: false }, private: { internal: true } },
      aws_lb_listener: {
        plain: {
          load_balancer_arn: '${aws_lb.public.arn}',
          port: 80,
          protocol: 'HTTP',
          default_action: [{ type: 'forward' }],
        },
        redirect: {
          load_balancer_arn: '${aws_lb.public.arn}',
          port: 80,
          protocol: 'HTTP',
          default_action: [{ type: 'redirect', redirect: { protocol: 'HTTPS', port: '443' } }],
        },
        internal: {
          load_balancer_arn: '${aws_lb.private.arn}',
          port: 80,
          protocol: 'HTTP',
          default_action: [{ type: 'forward' }],
        },
      },
      aws_cloudfront_distribution: { cdn: { default_cache_behavior: { viewer_protocol_policy: 'allow-all' } } },
      aws_security_group: {
        lb: {
          ingress: [
            { from_port: 8443, to_port: 8443, cidr_blocks: ['0.0.0.0/0'] },
            { from_port: 443, to_port: 443, cidr_blocks: ['0.0.0.0/0'] },
          ],
        },
      },
      aws_vpc_security_group_ingress_rule: {
        cf: { from_port: 80, to_port: 80, prefix_list_id: '${data.aws_ec2_managed_prefix_list.cf.id}' },
      },
    };
    expect(https({ resource } as TerraformJson, 'aws')).toEqual([
      '[common/https-only] aws_lb_listener.plain serves plain HTTP on internet-facing aws_lb.public (port 80)',
      '[common/https-only] aws_cloudfront_distribution.cdn viewer_protocol_policy is allow-all',
      '[common/https-only] aws_security_group.lb.ingress[0] opens port 8443-8443 to the internet (only 443 may be)',
    ]);
  });

  test('OCI: a public load balancer listener without TLS and an NSG opening port 80 to the internet are refused', () => {
    const resource = {
      oci_load_balancer_load_balancer: { lb: { is_private: false } },
      oci_load_balancer_listener: {
        http: { load_balancer_id: '${oci_load_balancer_load_balancer.lb.id}', port: 80, protocol: 'HTTP' },
      },
      oci_core_network_security_group_security_rule: {
        open: {
          direction: 'INGRESS',
          source: '0.0.0.0/0',
          tcp_options: { destination_port_range: { min: 80, max: 80 } },
        },
        https: {
          direction: 'INGRESS',
          source: '0.0.0.0/0',
          tcp_options: { destination_port_range: { min: 443, max: 443 } },
        },
      },
    };
    expect(https({ resource } as TerraformJson, 'oci')).toEqual([
      '[common/https-only] oci_load_balancer_listener.http serves plain HTTP on public load balancer lb (port 80)',
      '[common/https-only] oci_core_network_security_group_security_rule.open opens port 80-80 to the internet (only 443 may be)',
    ]);
  });

  test('Azure: a container app accepting insecure connections is refused', () => {
    expect(
      https(
        {
          resource: { azurerm_container_app: { app: { ingress: [{ allow_insecure_connections: true }] } } },
        } as TerraformJson,
        'azure',
      ),
    ).toEqual(['[common/https-only] azurerm_container_app.app allows insecure (plain HTTP) connections']);
  });

  test('Cloudflare: a Worker route in a zone without Always Use HTTPS is refused, and passes with it', () => {
    const route = { cloudflare_workers_route: { r: { zone_id: '${var.zone}', pattern: 'api.example.com/*' } } };
    expect(https({ resource: route } as TerraformJson, 'cloudflare')).toEqual([
      '[common/https-only] cloudflare_workers_route.r (api.example.com/*) is in a zone without always_use_https=on: it answers plain HTTP',
    ]);
    expect(
      https(
        {
          resource: {
            ...route,
            cloudflare_zone_setting: { s: { zone_id: '${var.zone}', setting_id: 'always_use_https', value: 'on' } },
          },
        } as TerraformJson,
        'cloudflare',
      ),
    ).toEqual([]);
  });
});

describe('n8n policy', () => {
  const secrets = [
    'N8N_ENCRYPTION_KEY',
    'N8N_INSTANCE_OWNER_EMAIL',
    'N8N_INSTANCE_OWNER_PASSWORD_HASH',
    'N8N_CREDENTIALS',
  ];
  const task = (container: Record<string, unknown>) => ({
    resource: { aws_ecs_task_definition: { n8n: { container_definitions: JSON.stringify([container]) } } },
  });
  const good = () => ({
    name: 'app',
    image: `docker.n8n.io/n8nio/n8n:${N8N_VERSION}`,
    environment: [{ name: 'N8N_INSTANCE_OWNER_MANAGED_BY_ENV', value: 'true' }],
    secrets: secrets.map((name) => ({ name, valueFrom: `\${aws_secretsmanager_secret.${name.toLowerCase()}.arn}` })),
  });

  test('a hardened n8n container passes, and the synthesized stacks find theirs', () => {
    expect(checkPolicies(task(good()), 'aws')).toEqual([]);
    expect(n8nContainers(task(good())).map((c) => c.address)).toEqual(['aws_ecs_task_definition.n8n']);
  });

  test.each<[string, (c: ReturnType<typeof good>) => void, string]>([
    [
      'an older n8n',
      (c) => (c.image = 'docker.n8n.io/n8nio/n8n:1.123.4'),
      'runs docker.n8n.io/n8nio/n8n:1.123.4, not n8n',
    ],
    [
      'basic auth',
      (c) => c.environment.push({ name: 'N8N_BASIC_AUTH_ACTIVE', value: 'true' }),
      'sets N8N_BASIC_AUTH_ACTIVE (n8n has no basic auth since 1.0)',
    ],
    ['a claimable owner', (c) => (c.environment = []), 'does not set N8N_INSTANCE_OWNER_MANAGED_BY_ENV=true'],
    [
      'an encryption key outside the secret manager',
      (c) => (c.secrets = c.secrets.filter((s) => s.name !== 'N8N_ENCRYPTION_KEY')),
      'does not read N8N_ENCRYPTION_KEY from a secret',
    ],
    [
      'an owner hash in plain text',
      (c) => c.environment.push({ name: 'N8N_INSTANCE_OWNER_PASSWORD_HASH', value: '$2a$10$abc' }),
      'sets N8N_INSTANCE_OWNER_PASSWORD_HASH as a plain value',
    ],
  ])('%s is reported', (_name, mutate, message) => {
    const container = good();
    mutate(container);
    expect(checkPolicies(task(container), 'aws').join('\n')).toContain(
      `[common/n8n-hardened] aws_ecs_task_definition.n8n ${message}`,
    );
  });
});
