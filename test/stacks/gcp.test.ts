import { scheduleMessage } from '@data-sync/config/job-message';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../app';
import {
  ENVIRONMENTS,
  ENVIRONMENT_CONFIGS,
  INTEGRATIONS,
  parseContext,
  resolveSettings,
  type EnvironmentName,
} from '@data-sync/config';
import { cronExpression } from '../../constructs/shared/schedule';
import { gcpRevisionName } from '../../constructs/runtime/gcp';
import { ALERT_RULES, DASHBOARD_PANELS } from '@data-sync/monitoring/alerts';
import { GCP_POLICIES } from '../support/policies/gcp';
import {
  type Block,
  type TerraformJson,
  checkPolicies,
  checkReferences,
  resourcesOf,
  synthJson,
} from '../support/terraform-checks';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'gcp-stack-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

function synth(context: Record<string, unknown>): TerraformJson {
  const { stacks } = buildApp({ context: { clouds: 'gcp', ...context }, outdir });
  expect(stacks).toHaveLength(1);
  return synthJson(stacks[0]);
}

const only = (json: TerraformJson, type: string, filter: (body: Block) => boolean = () => true): Block => {
  const found = resourcesOf(json, type).filter(([, body]) => filter(body));
  expect(found).toHaveLength(1);
  return found[0][1];
};
const runtimeOf = (json: TerraformJson) =>
  only(json, 'google_cloud_run_v2_service', (b) => String(b.name).endsWith('-runtime'));
const runtimeContainer = (service: Block) =>
  ((service.template as Block).containers as Block[]).find((c) => c.name === 'runtime')!;

const byEnv = {} as Record<EnvironmentName, TerraformJson>;
beforeAll(() => {
  for (const environment of ENVIRONMENTS) byEnv[environment] = synth({ environment });
});

describe.each(ENVIRONMENTS)('GCP %s stack', (environment) => {
  const settings = resolveSettings('gcp', environment, parseContext({ environment }));
  const env = ENVIRONMENT_CONFIGS[environment];

  test('every reference resolves and every policy holds', () => {
    expect(checkReferences(byEnv[environment])).toEqual([]);
    expect(checkPolicies(byEnv[environment], 'gcp')).toEqual([]);
  });

  test('the runtime runs the design sizing, privately egressing, with secrets from Secret Manager', () => {
    const service = runtimeOf(byEnv[environment]);
    const template = service.template as Block;
    expect(template.scaling).toEqual({
      min_instance_count: env.instanceCount,
      max_instance_count: env.instanceCount * 5,
    });
    const container = runtimeContainer(service);
    expect((container.resources as Block).limits).toEqual({
      cpu: String(env.cpuUnits / 1024),
      memory: `${env.memoryMb}Mi`,
    });
    expect((template.vpc_access as Block).egress).toBe('PRIVATE_RANGES_ONLY');
    const secretEnv = (container.env as Block[]).filter((e) => e.value_source).map((e) => e.name);
    expect(secretEnv).toEqual(
      expect.arrayContaining([
        ...settings.integrations.flatMap((i) => i.credentials),
        'PGPASSWORD',
        'DATABASE_MIGRATION_URL',
        'DATA_SYNC_ENCRYPTION_KEY',
      ]),
    );
    // The serving role by private IP, the chain checked against the instance's own CA (its certificate names no IP).
    const plain = Object.fromEntries(
      (container.env as Block[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
    );
    expect(plain.DATABASE_URL).toMatch(
      /^postgres:\/\/data_sync_app@\$\{google_sql_database_instance\.database_instance_\w+\.private_ip_address\}:5432\/data_sync\?sslmode=verify-ca$/,
    );
    expect(plain.DATABASE_CA).toMatch(
      /^\$\{google_sql_database_instance\.database_instance_\w+\.server_ca_cert\[0\]\.cert\}$/,
    );
    expect((template.containers as Block[]).map((c) => c.name)).toEqual(['runtime', 'metrics']);
    // Cloud Run reserves PORT (it sets it from the container port) and rejects revisions that set it.
    expect((container.env as Block[]).map((e) => e.name)).not.toContain('PORT');
    expect(container.ports).toEqual({ container_port: 8080, name: 'http1' });
  });

  test('Cloud SQL is private, TLS-only, and HA with deletion protection exactly in prod', () => {
    const db = only(byEnv[environment], 'google_sql_database_instance', (b) => b.name === `${settings.prefix}-db`);
    const s = db.settings as Block;
    expect((s.ip_configuration as Block).ipv4_enabled).toBe(false);
    expect(s.availability_type).toBe(env.database.multiAz ? 'REGIONAL' : 'ZONAL');
    expect(db.deletion_protection).toBe(env.database.deletionProtection);
    expect(s.deletion_protection_enabled).toBe(env.database.deletionProtection);
    expect(db.depends_on).toEqual([expect.stringMatching(/^google_service_networking_connection\./)]);
  });

  test('one Cloud Scheduler job per enabled integration, on its sync_interval, publishing a sync job', () => {
    const jobs = new Map(
      resourcesOf(byEnv[environment], 'google_cloud_scheduler_job').map(([, b]) => [
        ((b.pubsub_target as Block).attributes as Block).integration,
        b,
      ]),
    );
    expect([...jobs.keys()].sort()).toEqual(settings.integrations.map((i) => i.name).sort());
    for (const integration of settings.integrations) {
      const job = jobs.get(integration.name)!;
      expect(job.schedule).toBe(cronExpression(integration.syncInterval));
      const target = job.pubsub_target as Block;
      expect(target.attributes).toEqual({ integration: integration.name, trigger: 'schedule' });
      const data = JSON.parse(Buffer.from(String(target.data), 'base64').toString());
      expect(data).toEqual(scheduleMessage(integration.name));
      expect(target.topic_name).toMatch(/^\$\{google_pubsub_topic\.queue_jobs_\w+\.id\}$/);
    }
  });

  test('secrets: one empty CMEK secret per enabled credential, readable by the runtime only as needed', () => {
    const ids = resourcesOf(byEnv[environment], 'google_secret_manager_secret').map(([, b]) => b.secret_id);
    for (const credential of settings.integrations.flatMap((i) => i.credentials))
      expect(ids).toContain(`${settings.prefix}-${credential.toLowerCase().replace(/_/g, '-')}`);
    const disabled = INTEGRATIONS.filter((i) => !settings.integrations.includes(i)).flatMap((i) => i.credentials);
    for (const credential of disabled)
      expect(ids).not.toContain(`${settings.prefix}-${credential.toLowerCase().replace(/_/g, '-')}`);
    expect(resourcesOf(byEnv[environment], 'google_secret_manager_secret_version')).toEqual([]);
    expect(only(byEnv[environment], 'google_kms_crypto_key').rotation_period).toBe(`${90 * 86400}s`);
  });

  test('Pub/Sub pushes to /pubsub/push with OIDC and dead-letters with the grants the service agent needs', () => {
    const json = byEnv[environment];
    const push = only(json, 'google_pubsub_subscription', (b) => !!b.push_config);
    const config = push.push_config as Block;
    expect(config.push_endpoint).toMatch(/^\$\{google_cloud_run_v2_service\.runtime_service_\w+\.uri\}\/pubsub\/push$/);
    expect((config.oidc_token as Block).service_account_email).toMatch(
      /^\$\{google_service_account\.worker_invoker_\w+\.email\}$/,
    );
    expect((push.dead_letter_policy as Block).max_delivery_attempts).toBe(Math.max(5, env.maxReceiveCount));
    const agent =
      /^serviceAccount:service-\$\{data\.google_project\.project\.number\}@gcp-sa-pubsub\.iam\.gserviceaccount\.com$/;
    // The job queue's own grants (the event bus has its own, test/stacks/events.test.ts).
    const ofQueue = (body: Block) => !JSON.stringify(body).includes('events_');
    expect(only(json, 'google_pubsub_topic_iam_member', ofQueue)).toMatchObject({
      role: 'roles/pubsub.publisher',
      member: expect.stringMatching(agent),
    });
    expect(only(json, 'google_pubsub_subscription_iam_member', ofQueue)).toMatchObject({
      role: 'roles/pubsub.subscriber',
      member: expect.stringMatching(agent),
    });
    const invoker = only(json, 'google_cloud_run_v2_service_iam_member', (b) =>
      String(b.member).includes('worker_invoker'),
    );
    expect(invoker.role).toBe('roles/run.invoker');
  });

  test('monitoring: a PromQL alert policy per ALERT_RULES entry, native dead-letter alerts, email channel, dashboard, log retention', () => {
    const json = byEnv[environment];
    const policies = resourcesOf(json, 'google_monitoring_alert_policy').map(([, b]) => b);
    for (const rule of ALERT_RULES) {
      const policy = policies.find((p) => p.display_name === `${settings.prefix} ${rule.name}`);
      expect(policy).toBeDefined();
      const condition = (policy!.conditions as Block[])[0].condition_prometheus_query_language as Block;
      expect(condition).toMatchObject({ query: rule.expr, duration: `${rule.forSeconds}s`, alert_rule: rule.name });
      expect(policy!.notification_channels).toEqual([
        expect.stringMatching(/^\$\{google_monitoring_notification_channel\./),
      ]);
    }
    expect(policies.filter((p) => (p.conditions as Block[])[0].condition_threshold)).toHaveLength(2);
    expect(only(json, 'google_monitoring_notification_channel').labels).toEqual({ email_address: env.alertEmail });
    const dashboard = JSON.parse(String(only(json, 'google_monitoring_dashboard').dashboard_json));
    expect(dashboard.mosaicLayout.tiles.map((t: { widget: { title: string } }) => t.widget.title)).toEqual(
      DASHBOARD_PANELS.map((p) => p.title),
    );
    expect(only(json, 'google_logging_project_bucket_config').retention_days).toBe(env.logRetentionDays);
  });

  test('the push subscription signs its OIDC token with the audience and account the runtime verifies', () => {
    const json = byEnv[environment];
    const subscription = only(json, 'google_pubsub_subscription', (b) => String(b.name).endsWith('-jobs-push'));
    const oidc = (subscription.push_config as Block).oidc_token as Block;
    const runtime = only(json, 'google_cloud_run_v2_service', (b) => String(b.name).endsWith('-runtime'));
    const container = ((runtime.template as Block).containers as Block[])[0];
    const envVars = Object.fromEntries((container.env as Block[]).map((e) => [e.name, e.value]));
    expect(envVars.DATA_SYNC_PUBSUB_PUSH_AUDIENCE).toBe(oidc.audience);
    const invoker = only(json, 'google_service_account', (b) => String(b.account_id).endsWith('-push'));
    expect(envVars.DATA_SYNC_PUBSUB_PUSH_SERVICE_ACCOUNT).toBe(
      `${invoker.account_id}@\${var.gcp_project}.iam.gserviceaccount.com`,
    );
    expect(oidc.service_account_email).toMatch(/^\$\{google_service_account\.worker_invoker_\w+\.email\}$/);
  });

  test('n8n runs on Cloud Run with its own Cloud SQL instance and its secrets', () => {
    const json = byEnv[environment];
    const n8n = only(json, 'google_cloud_run_v2_service', (b) => String(b.name).endsWith('-n8n'));
    const container = ((n8n.template as Block).containers as Block[])[0];
    const envVars = Object.fromEntries((container.env as Block[]).map((e) => [e.name, e.value ?? e.value_source]));
    expect(envVars.N8N_ENCRYPTION_KEY).toEqual({
      secret_key_ref: { secret: expect.stringMatching(/^\$\{google_secret_manager_secret\./), version: 'latest' },
    });
    only(json, 'google_sql_database_instance', (b) => b.name === `${settings.prefix}-n8n-db`);
  });

  test("every n8n process reaches its database through Cloud Run's Cloud SQL socket, with only that instance's client role", () => {
    const json = byEnv[environment];
    const [[instance]] = resourcesOf(json, 'google_sql_database_instance').filter(
      ([, b]) => b.name === `${settings.prefix}-n8n-db`,
    );
    const connection = `\${google_sql_database_instance.${instance}.connection_name}`;
    const services = resourcesOf(json, 'google_cloud_run_v2_service').filter(([, b]) =>
      /-n8n(-|$)/.test(String(b.name)),
    );
    expect(services.length).toBe(settings.n8n.processes.mode === 'queue' ? 3 : 1);
    for (const [, service] of services) {
      const template = service.template as Block;
      expect(template.volumes).toEqual([{ name: 'cloudsql', cloud_sql_instance: { instances: [connection] } }]);
      const container = (template.containers as Block[])[0];
      expect(container.volume_mounts).toEqual([{ name: 'cloudsql', mount_path: '/cloudsql' }]);
      const env = Object.fromEntries((container.env as Block[]).map((e) => [e.name, e.value ?? e.value_source]));
      expect(env.DB_POSTGRESDB_HOST).toBe(`/cloudsql/${connection}`);
      // The proxy encrypts and checks the instance; TLS settings would only ask n8n to redo it on the socket.
      expect(Object.keys(env).filter((name) => name.startsWith('DB_POSTGRESDB_SSL'))).toEqual([]);
    }
    const grants = resourcesOf(json, 'google_project_iam_member').filter(([, b]) => b.role === 'roles/cloudsql.client');
    expect(grants.map(([, b]) => b)).toEqual([
      {
        project: '${var.gcp_project}',
        role: 'roles/cloudsql.client',
        member: expect.stringMatching(/^serviceAccount:\$\{google_service_account\.n8n_identity_\w+\.email\}$/),
        condition: {
          title: 'n8n-database-only',
          description: expect.any(String),
          expression: `resource.type == "sqladmin.googleapis.com/Instance" && resource.name == "projects/\${var.gcp_project}/instances/\${google_sql_database_instance.${instance}.name}"`,
        },
      },
    ]);
  });
});

test('dev schedules only the limited integrations, prod every enabled one', () => {
  const names = (json: TerraformJson) =>
    resourcesOf(json, 'google_cloud_scheduler_job')
      .map(([, b]) => (b.pubsub_target as Block).attributes as Block)
      .map((a) => a.integration);
  expect(names(byEnv.dev).sort()).toEqual(['hubspot', 'mailchimp', 'salesforce']);
  expect(names(byEnv.prod).sort()).toEqual(
    INTEGRATIONS.filter((i) => i.enabled)
      .map((i) => i.name)
      .sort(),
  );
});

describe('blue-green through Cloud Run traffic tags', () => {
  const deploying = synth({
    environment: 'staging',
    activeSlot: 'blue',
    deploymentSlot: 'green',
    imageTag: '2.0.0',
    stableImageTag: '1.4.0',
  });
  const switched = synth({
    environment: 'staging',
    activeSlot: 'green',
    deploymentSlot: 'green',
    imageTag: '2.0.0',
    stableImageTag: '1.4.0',
  });
  const service = 'data-sync-staging-runtime';

  test('the deploying slot gets the new image and revision at 0% with its own tag; the active slot keeps 100%', () => {
    const runtime = runtimeOf(deploying);
    expect(runtimeContainer(runtime).image).toMatch(/\/data-sync-service:2\.0\.0$/);
    expect((runtime.template as Block).revision).toBe(`${service}-2-0-0`);
    expect(runtime.traffic).toEqual([
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: `${service}-1-4-0`, tag: 'blue', percent: 100 },
      { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: `${service}-2-0-0`, tag: 'green', percent: 0 },
    ]);
  });

  test('switching activeSlot moves only the percentages', () => {
    const before = runtimeOf(deploying);
    const after = runtimeOf(switched);
    expect((after.traffic as Block[]).map((t) => [t.tag, t.percent])).toEqual([
      ['blue', 0],
      ['green', 100],
    ]);
    expect({ ...after, traffic: undefined }).toEqual({ ...before, traffic: undefined });
    expect((after.traffic as Block[]).map((t) => t.revision)).toEqual(
      (before.traffic as Block[]).map((t) => t.revision),
    );
  });

  test('a first deploy (both slots on one tag) points both tags at the one revision the template creates', () => {
    const runtime = runtimeOf(byEnv.dev);
    const revision = (runtime.template as Block).revision;
    expect((runtime.traffic as Block[]).map((t) => [t.tag, t.revision, t.percent])).toEqual([
      ['blue', revision, 100],
      ['green', revision, 0],
    ]);
  });

  test('revision names are valid Cloud Run names for any image tag', () => {
    expect(gcpRevisionName('svc', 'v1.2.3_RC')).toBe('svc-v1-2-3-rc');
    const long = gcpRevisionName('data-sync-prod-runtime', 'x'.repeat(128));
    expect(long).toMatch(/^data-sync-prod-runtime-[0-9a-f]{8,}$/);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(gcpRevisionName('svc', 'a'.repeat(100))).not.toBe(gcpRevisionName('svc', 'a'.repeat(101)));
  });
});

describe('GCP policy rules catch violations', () => {
  const mutate = (edit: (json: any) => void): string[] => {
    const json = JSON.parse(JSON.stringify(byEnv.prod));
    edit(json);
    return GCP_POLICIES.flatMap((rule) => rule.check(json).map((m) => `[${rule.id}] ${m}`));
  };
  const first = (json: any, type: string) => Object.values(json.resource[type])[0] as any;
  test.each<[string, (json: any) => void, RegExp]>([
    [
      'an unencrypted topic',
      (j) => delete first(j, 'google_pubsub_topic').kms_key_name,
      /gcp\/pubsub-encrypted.*no kms_key_name/,
    ],
    [
      'a push subscription without dead letters',
      (j) =>
        Object.values<any>(j.resource.google_pubsub_subscription)
          .filter((s) => s.push_config)
          .forEach((s) => delete s.dead_letter_policy),
      /gcp\/pubsub-dead-letter.*no dead_letter_policy/,
    ],
    [
      'a public Cloud SQL IP',
      (j) => (first(j, 'google_sql_database_instance').settings.ip_configuration.ipv4_enabled = true),
      /gcp\/sql-private-tls-backups.*ipv4_enabled/,
    ],
    [
      'an editor grant',
      (j) => (first(j, 'google_project_iam_member').role = 'roles/editor'),
      /gcp\/no-primitive-or-public-iam.*roles\/editor/,
    ],
    [
      'a public secret',
      (j) => (first(j, 'google_secret_manager_secret_iam_member').member = 'allUsers'),
      /gcp\/no-primitive-or-public-iam.*allUsers/,
    ],
    [
      'a secret value',
      (j) => (j.resource.google_secret_manager_secret_version = { v: { secret: 'x', secret_data: 'hunter2' } }),
      /gcp\/secrets-empty-and-cmek.*secret value/,
    ],
    ['a key without rotation', (j) => delete first(j, 'google_kms_crypto_key').rotation_period, /gcp\/kms-rotation/],
    [
      'logs without retention',
      (j) => delete first(j, 'google_logging_project_bucket_config').retention_days,
      /gcp\/log-retention/,
    ],
  ])('%s', (_, edit, expected) => {
    expect(mutate(() => undefined)).toEqual([]);
    expect(mutate(edit)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });
});

describe('GCP stack options from context', () => {
  test('gcpRegion becomes the default of the gcp_region variable; a bad one is refused', () => {
    expect((synth({ environment: 'dev', gcpRegion: 'europe-west1' }).variable as any).gcp_region.default).toBe(
      'europe-west1',
    );
    expect((synth({ environment: 'dev' }).variable as any).gcp_region.default).toBe('us-central1');
    expect(() => synth({ gcpRegion: 'Europe West' })).toThrow(
      'Invalid context value gcpRegion="Europe West": expected a GCP region such as europe-west1',
    );
  });
});
