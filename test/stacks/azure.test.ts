import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../app';
import {
  ENVIRONMENTS,
  ENVIRONMENT_CONFIGS,
  parseContext,
  resolveSettings,
  type EnvironmentName,
} from '@data-sync/config';
import { isoDuration } from '../../constructs/monitoring/azure';
import { azureRevisionSuffix } from '../../constructs/runtime/azure';
import { cronExpression } from '../../constructs/shared/schedule';
import { ALERT_RULES, DASHBOARD_PANELS } from '@data-sync/monitoring/alerts';
import { AZURE_POLICIES } from '../support/policies/azure';
import {
  type Block,
  type TerraformJson,
  checkPolicies,
  checkReferences,
  resourcesOf,
  synthJson,
} from '../support/terraform-checks';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'azure-stack-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

function synth(context: Record<string, unknown>): TerraformJson {
  const { stacks } = buildApp({ context: { clouds: 'azure', ...context }, outdir });
  expect(stacks).toHaveLength(1);
  return synthJson(stacks[0]);
}

const only = (json: TerraformJson, type: string, filter: (body: Block) => boolean = () => true): Block => {
  const found = resourcesOf(json, type).filter(([, body]) => filter(body));
  expect(found).toHaveLength(1);
  return found[0][1];
};
const app = (json: TerraformJson, suffix: string) =>
  only(json, 'azurerm_container_app', (b) => String(b.name).endsWith(`-${suffix}`));
const containers = (body: Block) => (body.template as Block).container as Block[];
const envOf = (container: Block) =>
  Object.fromEntries((container.env as Block[]).map((e) => [e.name, e.value ?? { secret: e.secret_name }]));

const byEnv = {} as Record<EnvironmentName, TerraformJson>;
beforeAll(() => {
  for (const environment of ENVIRONMENTS) byEnv[environment] = synth({ environment });
});

describe.each(ENVIRONMENTS)('Azure %s stack', (environment) => {
  const settings = resolveSettings('azure', environment, parseContext({ environment }));
  const env = ENVIRONMENT_CONFIGS[environment];

  test('every reference resolves and every policy holds', () => {
    expect(checkReferences(byEnv[environment])).toEqual([]);
    expect(checkPolicies(byEnv[environment], 'azure')).toEqual([]);
  });

  test('the runtime: multiple revisions, design sizing, Key Vault secrets, Prometheus sidecar', () => {
    const runtime = app(byEnv[environment], 'runtime');
    expect(runtime.revision_mode).toBe('Multiple');
    const template = runtime.template as Block;
    expect([template.min_replicas, template.max_replicas]).toEqual([env.instanceCount, env.instanceCount * 5]);
    const [main, sidecar] = containers(runtime);
    expect([main.cpu, main.memory]).toEqual([env.cpuUnits / 1024, `${env.memoryMb / 1024}Gi`]);
    const vars = envOf(main);
    for (const credential of settings.integrations.flatMap((i) => i.credentials))
      expect(vars[credential]).toEqual({ secret: credential.toLowerCase().replace(/_/g, '-') });
    expect(vars.PGPASSWORD).toEqual({ secret: 'pgpassword' });
    expect(vars.DATABASE_MIGRATION_URL).toEqual({ secret: 'database-migration-url' });
    // The serving role, verify-full against the public roots Flexible Server's certificate chains to.
    expect(vars.DATABASE_URL).toMatch(
      /^postgres:\/\/data_sync_app@\$\{azurerm_postgresql_flexible_server\.database_server_\w+\.fqdn\}:5432\/data_sync\?sslmode=verify-full$/,
    );
    for (const secret of runtime.secret as Block[])
      expect(secret.key_vault_secret_id).toMatch(
        /^\$\{azurerm_key_vault\.secrets_vault_\w+\.vault_uri\}secrets\/[a-z0-9-]+$/,
      );
    const prometheus = JSON.parse(String(envOf(sidecar).PROMETHEUS_CONFIG));
    expect(prometheus.scrape_configs[0].static_configs[0].targets).toEqual(['localhost:8080']);
    expect(prometheus.remote_write[0].url).toMatch(
      /dataCollectionRules\/\$\{azurerm_monitor_data_collection_rule\.\w+\.immutable_id\}\/streams\/Microsoft-PrometheusMetrics\/api\/v1\/write/,
    );
  });

  test('Service Bus: Entra-only namespace, queue with the environment max delivery count and dead-lettering; the runtime uses it as its identity', () => {
    const json = byEnv[environment];
    expect(only(json, 'azurerm_servicebus_namespace')).toMatchObject({
      local_auth_enabled: false,
      minimum_tls_version: '1.2',
    });
    expect(only(json, 'azurerm_servicebus_queue')).toMatchObject({
      max_delivery_count: env.maxReceiveCount,
      dead_lettering_on_message_expiration: true,
      lock_duration: 'PT300S',
    });
    const roles = resourcesOf(json, 'azurerm_role_assignment')
      .map(([, b]) => b)
      .filter((b) => String(b.scope).includes('azurerm_servicebus_queue'));
    expect(roles.map((r) => r.role_definition_name)).toEqual(['Azure Service Bus Data Owner']);
    const identity = resourcesOf(json, 'azurerm_user_assigned_identity').find(([, b]) =>
      String(b.name).endsWith('-runtime'),
    )!;
    expect(roles[0].principal_id).toBe(`\${azurerm_user_assigned_identity.${identity[0]}.principal_id}`);
    const worker = app(json, 'worker');
    expect(worker.ingress).toBeUndefined();
    expect(envOf(containers(worker)[0]).DATA_SYNC_ROLE).toBe('all');
    // Both containers start the Service Bus binding with the identity's client id, and the runtime reads exactly these variables.
    for (const container of [containers(app(json, 'runtime'))[0], containers(worker)[0]]) {
      const vars = envOf(container);
      expect(vars).toMatchObject({
        DATA_SYNC_QUEUE: 'servicebus',
        AZURE_CLIENT_ID: `\${azurerm_user_assigned_identity.${identity[0]}.client_id}`,
        DATA_SYNC_SERVICEBUS_QUEUE: `\${azurerm_servicebus_queue.${resourcesOf(json, 'azurerm_servicebus_queue')[0][0]}.name}`,
      });
      expect(String(vars.DATA_SYNC_SERVICEBUS_HOST)).toContain('azurerm_servicebus_namespace.');
      expect(vars.DATA_SYNC_SERVICEBUS_CONNECTION_STRING).toBeUndefined();
    }
  });

  test('PostgreSQL Flexible Servers are private, HA and locked exactly in prod; n8n has its own', () => {
    const json = byEnv[environment];
    const servers = resourcesOf(json, 'azurerm_postgresql_flexible_server').map(([, b]) => b);
    expect(servers).toHaveLength(2);
    for (const server of servers) {
      expect(server.public_network_access_enabled).toBe(false);
      expect(server.administrator_password_wo).toMatch(/^\$\{var\.\w+_admin_password\}$/);
      expect(server.high_availability === undefined).toBe(!env.database.multiAz);
    }
    expect(resourcesOf(json, 'azurerm_management_lock')).toHaveLength(env.database.deletionProtection ? 2 : 0);
    for (const name of ['postgres_admin_password', 'n8n_postgres_admin_password'])
      expect(json.variable?.[name]).toMatchObject({ sensitive: true });
    const n8n = app(json, 'n8n');
    expect(envOf(containers(n8n)[0]).DB_POSTGRESDB_HOST).toMatch(
      /^\$\{azurerm_postgresql_flexible_server\.n8n_database_server_\w+\.fqdn\}$/,
    );
  });

  test('one scheduled Container Apps job per enabled integration on its sync_interval', () => {
    const jobs = resourcesOf(byEnv[environment], 'azurerm_container_app_job').map(([, b]) => b);
    const byIntegration = new Map(jobs.map((job) => [envOf(containers(job)[0]).INTEGRATION, job]));
    expect([...byIntegration.keys()].sort()).toEqual(settings.integrations.map((i) => i.name).sort());
    for (const integration of settings.integrations) {
      const job = byIntegration.get(integration.name)!;
      expect((job.schedule_trigger_config as Block).cron_expression).toBe(cronExpression(integration.syncInterval));
      expect(String(job.name).length).toBeLessThanOrEqual(32);
      expect(envOf(containers(job)[0]).RUNTIME_URL).toMatch(
        /^https:\/\/\$\{azurerm_container_app\.runtime_app_\w+\.ingress\[0\]\.fqdn\}$/,
      );
    }
  });

  test('monitoring: a Prometheus rule per ALERT_RULES entry, Service Bus metric alerts, email action group, dashboard', () => {
    const json = byEnv[environment];
    const group = only(json, 'azurerm_monitor_alert_prometheus_rule_group');
    const rules = group.rule as Block[];
    expect(rules.map((r) => [r.alert, r.expression, r.for])).toEqual(
      ALERT_RULES.map((r) => [r.name, r.expr, isoDuration(r.forSeconds)]),
    );
    expect(group.scopes).toEqual([expect.stringMatching(/^\$\{azurerm_monitor_workspace\./)]);
    const metricAlerts = resourcesOf(json, 'azurerm_monitor_metric_alert').map(
      ([, b]) => (b.criteria as Block[])[0].metric_name,
    );
    expect(metricAlerts.sort()).toEqual(['ActiveMessages', 'DeadletteredMessages']);
    expect((only(json, 'azurerm_monitor_action_group').email_receiver as Block[])[0].email_address).toBe(
      env.alertEmail,
    );
    const dashboard = JSON.parse(String(only(json, 'azurerm_portal_dashboard').dashboard_properties));
    const titles = Object.values<Block>(dashboard.lenses['0'].parts)
      .map(
        (p) =>
          (((p.metadata as Block).settings as Block | undefined)?.content as Block | undefined)?.settings as
            Block | undefined,
      )
      .filter(Boolean)
      .map((s) => s!.title);
    expect(titles).toEqual(DASHBOARD_PANELS.map((p) => p.title));
    expect(only(json, 'azurerm_log_analytics_workspace').retention_in_days).toBe(Math.max(30, env.logRetentionDays));
  });
});

describe('blue-green through revision labels and traffic weights', () => {
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

  test('the deploying slot gets the new image and revision at 0; the active slot keeps 100', () => {
    const runtime = app(deploying, 'runtime');
    expect(containers(runtime)[0].image).toMatch(/\/data-sync-service:2\.0\.0$/);
    expect((runtime.template as Block).revision_suffix).toBe('v2-0-0');
    expect((runtime.ingress as Block).traffic_weight).toEqual([
      { label: 'blue', revision_suffix: 'v1-4-0', latest_revision: false, percentage: 100 },
      { label: 'green', revision_suffix: 'v2-0-0', latest_revision: false, percentage: 0 },
    ]);
  });

  test('switching activeSlot moves only the runtime weights; the worker follows the active slot', () => {
    const before = app(deploying, 'runtime');
    const after = app(switched, 'runtime');
    expect(((after.ingress as Block).traffic_weight as Block[]).map((w) => [w.label, w.percentage])).toEqual([
      ['blue', 0],
      ['green', 100],
    ]);
    const withoutWeights = (b: Block) => ({ ...b, ingress: { ...(b.ingress as Block), traffic_weight: undefined } });
    expect(withoutWeights(after)).toEqual(withoutWeights(before));
    expect(containers(app(deploying, 'worker'))[0].image).toMatch(/:1\.4\.0$/);
    expect(containers(app(switched, 'worker'))[0].image).toMatch(/:2\.0\.0$/);
  });

  test('revision suffixes are valid for any image tag', () => {
    expect(azureRevisionSuffix('1.4.0')).toBe('v1-4-0');
    expect(azureRevisionSuffix('Release_2024.01')).toBe('vrelease-2024-01');
    expect(azureRevisionSuffix('x'.repeat(128))).toMatch(/^v[0-9a-f]{12}$/);
    expect(azureRevisionSuffix('x'.repeat(128))).not.toBe(azureRevisionSuffix('x'.repeat(127)));
  });
});

describe('Azure policy rules catch violations', () => {
  const mutate = (edit: (json: any) => void): string[] => {
    const json = JSON.parse(JSON.stringify(byEnv.prod));
    edit(json);
    return AZURE_POLICIES.flatMap((rule) => rule.check(json).map((m) => `[${rule.id}] ${m}`));
  };
  const first = (json: any, type: string) => Object.values(json.resource[type])[0] as any;
  test.each<[string, (json: any) => void, RegExp]>([
    [
      'a queue without dead-lettering',
      (j) => (first(j, 'azurerm_servicebus_queue').dead_lettering_on_message_expiration = false),
      /azure\/servicebus-dead-letter/,
    ],
    [
      'shared access keys',
      (j) => (first(j, 'azurerm_servicebus_namespace').local_auth_enabled = true),
      /azure\/servicebus-entra-tls/,
    ],
    [
      'a public database',
      (j) => (first(j, 'azurerm_postgresql_flexible_server').public_network_access_enabled = true),
      /azure\/postgres-private.*public network/,
    ],
    [
      'a secret value in Key Vault',
      (j) => (j.resource.azurerm_key_vault_secret = { s: { name: 'x', value: 'hunter2', key_vault_id: 'x' } }),
      /azure\/key-vault.*secret value/,
    ],
    [
      'an inline app secret',
      (j) => (first(j, 'azurerm_container_app').secret = [{ name: 'x', value: 'hunter2' }]),
      /azure\/app-secrets-from-vault/,
    ],
    [
      'a Contributor assignment',
      (j) => (first(j, 'azurerm_role_assignment').role_definition_name = 'Contributor'),
      /azure\/no-broad-roles.*Contributor/,
    ],
    [
      'logs without retention',
      (j) => delete first(j, 'azurerm_log_analytics_workspace').retention_in_days,
      /azure\/log-retention/,
    ],
    [
      'plain HTTP ingress',
      (j) => ((app(j, 'runtime').ingress as any).allow_insecure_connections = true),
      /azure\/https-only/,
    ],
  ])('%s', (_, edit, expected) => {
    expect(mutate(() => undefined)).toEqual([]);
    expect(mutate(edit)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });
});

describe('Azure stack options from context', () => {
  test('azureRegion becomes the default of the azure_location variable', () => {
    expect((synth({ environment: 'dev', azureRegion: 'northeurope' }).variable as any).azure_location.default).toBe(
      'northeurope',
    );
    expect((synth({ environment: 'dev' }).variable as any).azure_location.default).toBe('westeurope');
  });
});

describe('Key Vault access: each identity reads only the secrets it is given', () => {
  const secretScope = /^\$\{azurerm_key_vault\.secrets_vault_\w+\.id\}\/secrets\/([a-z0-9-]+)$/;
  /** Secret names (kebab case) each principal may read, by the identity resource its principal id comes from. */
  const readable = new Map<string, string[]>();
  beforeAll(() => {
    const grants = resourcesOf(byEnv.prod, 'azurerm_role_assignment').filter(
      ([, b]) => b.role_definition_name === 'Key Vault Secrets User',
    );
    for (const [, body] of grants) {
      const identity = /azurerm_user_assigned_identity\.([\w-]+)\.principal_id/.exec(String(body.principal_id))![1];
      const secret = secretScope.exec(String(body.scope));
      readable.set(identity, [
        ...(readable.get(identity) ?? []),
        secret ? secret[1] : `the whole vault (${String(body.scope)})`,
      ]);
    }
  });
  const of = (prefix: string) => [...readable].find(([identity]) => identity.startsWith(prefix))![1];

  test("n8n reads its own secrets and none of the runtime's", () => {
    expect(of('n8n_identity').sort()).toEqual([
      'n8n-credentials',
      'n8n-db-password',
      'n8n-encryption-key',
      'n8n-instance-owner-email',
      'n8n-instance-owner-password-hash',
      // prod runs n8n in queue mode (config/n8n-shape.ts): its Redis.
      'queue-bull-redis-host',
      'queue-bull-redis-password',
      'queue-bull-redis-port',
    ]);
  });

  test("the scheduler reads its token only, and the runtime reads none of n8n's", () => {
    const scheduler = [...readable].find(([identity]) => identity.includes('scheduler'))![1];
    expect(scheduler).toEqual(['scheduler-api-token']);
    const runtime = [...readable]
      .filter(([identity]) => !identity.startsWith('n8n') && !identity.includes('scheduler'))
      .flatMap(([, names]) => names);
    expect(runtime).toEqual(expect.arrayContaining(['pgpassword', 'database-migration-url']));
    const othersOwn = new Set([...of('n8n_identity'), ...scheduler]);
    expect(runtime.filter((name) => othersOwn.has(name))).toEqual([]);
  });
});
