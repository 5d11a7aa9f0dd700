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
import { CLOUDFLARE_ALERT_EXCEPTIONS } from '../../constructs/monitoring/cloudflare';
import { N8N_ON_WORKERS_EXCEPTION } from '../../constructs/n8n/cloudflare';
import { CLOUDFLARE_BUNDLE } from '../../constructs/runtime/cloudflare';
import { cloudflareCronMap } from '../../constructs/schedules/cloudflare';
import { cronExpression } from '../../constructs/shared/schedule';
import { ALERT_RULES } from '@data-sync/monitoring/alerts';
import type { DataSyncStack } from '../../stacks/data-sync-stack';
import { CLOUDFLARE_POLICIES } from '../support/policies/cloudflare';
import {
  type Block,
  type TerraformJson,
  checkPolicies,
  checkReferences,
  resourcesOf,
  synthJson,
} from '../support/terraform-checks';

const root = path.resolve(__dirname, '../..');
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudflare-stack-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

function synth(context: Record<string, unknown>): { stack: DataSyncStack; json: TerraformJson } {
  const { stacks } = buildApp({ context: { clouds: 'cloudflare', ...context }, outdir });
  expect(stacks).toHaveLength(1);
  return { stack: stacks[0], json: synthJson(stacks[0]) };
}

const only = (json: TerraformJson, type: string, filter: (body: Block) => boolean = () => true): Block => {
  const found = resourcesOf(json, type).filter(([, body]) => filter(body));
  expect(found).toHaveLength(1);
  return found[0][1];
};
const script = (json: TerraformJson, suffix: string) =>
  only(json, 'cloudflare_workers_script', (b) => String(b.script_name).endsWith(`-${suffix}`));
const bindings = (body: Block) => Object.fromEntries((body.bindings as Block[]).map((b) => [b.name, b]));

const byEnv = {} as Record<EnvironmentName, { stack: DataSyncStack; json: TerraformJson }>;
beforeAll(() => {
  for (const environment of ENVIRONMENTS) byEnv[environment] = synth({ environment });
});

describe.each(ENVIRONMENTS)('Cloudflare %s stack', (environment) => {
  const settings = resolveSettings('cloudflare', environment, parseContext({ environment }));
  const env = ENVIRONMENT_CONFIGS[environment];
  const json = () => byEnv[environment].json;

  test('every reference resolves and every policy holds', () => {
    expect(checkReferences(json())).toEqual([]);
    expect(checkPolicies(json(), 'cloudflare')).toEqual([]);
  });

  test('the slot scripts run the Worker bundle with the queue producer, the shared RateLimiter and Hyperdrive', () => {
    const state = script(json(), 'state');
    expect(state.migrations).toEqual({ new_tag: 'v1', new_sqlite_classes: ['RateLimiter'] });
    for (const slot of ['blue', 'green']) {
      const body = script(json(), `runtime-${slot}`);
      expect(body.main_module).toBe('cloudflare.js');
      expect(body.compatibility_flags).toEqual(['nodejs_compat']);
      // Terraform runs in cdktf.out/stacks/<stack>: the content path must lead back to the bundle.
      const file = String(body.content_file).replace(
        '${path.module}',
        path.join(root, 'cdktf.out', 'stacks', settings.stackName),
      );
      expect(path.normalize(file)).toBe(path.join(root, CLOUDFLARE_BUNDLE));
      expect(body.content_sha256).toBe(`\${filesha256("${body.content_file}")}`);
      const b = bindings(body);
      expect(b.JOBS).toEqual({
        type: 'queue',
        name: 'JOBS',
        queue_name: expect.stringMatching(/^\$\{cloudflare_queue\.queue_jobs_\w+\.queue_name\}$/),
      });
      expect(b.RATE_LIMITER).toMatchObject({
        type: 'durable_object_namespace',
        class_name: 'RateLimiter',
        script_name: expect.stringMatching(/^\$\{cloudflare_workers_script\.rate-limits_script_\w+\.script_name\}$/),
      });
      expect(b.HYPERDRIVE).toMatchObject({
        type: 'hyperdrive',
        id: expect.stringMatching(/^\$\{cloudflare_hyperdrive_config\./),
      });
      expect(b.DATA_SYNC_SLOT.text).toBe(slot);
    }
  });

  test('the consumer Worker retries then dead-letters; dead letters stay pullable', () => {
    const consumer = only(json(), 'cloudflare_queue_consumer', (b) => b.type === 'worker');
    expect(consumer.dead_letter_queue).toMatch(/^\$\{cloudflare_queue\.queue_dead-letters_\w+\.queue_name\}$/);
    expect((consumer.settings as Block).max_retries).toBe(env.maxReceiveCount - 1);
    expect(consumer.script_name).toMatch(/^\$\{cloudflare_workers_script\.worker_script_\w+\.script_name\}$/);
    // The job queue's dead letters (the event bus's pull consumers are test/stacks/events.test.ts's).
    const jobsPull = (b: Block) => b.type === 'http_pull' && String(b.queue_id).includes('queue_dead-letters_');
    expect(only(json(), 'cloudflare_queue_consumer', jobsPull).queue_id).toMatch(/queue_dead-letters_/);
  });

  test('Cron Triggers cover every enabled integration on its sync_interval', () => {
    const trigger = only(json(), 'cloudflare_workers_cron_trigger');
    const crons = (trigger.schedules as Block[]).map((s) => s.cron);
    const map = JSON.parse(String(bindings(script(json(), 'consumer')).SCHEDULES.json)) as Record<string, string[]>;
    expect(Object.keys(map).sort()).toEqual([...crons].sort());
    for (const integration of settings.integrations)
      expect(map[cronExpression(integration.syncInterval)]).toContain(integration.name);
    expect(Object.values(map).flat().sort()).toEqual(settings.integrations.map((i) => i.name).sort());
  });

  test('the Worker secrets each script expects are published, never declared', () => {
    const outputs = Object.values<Block>((json().output ?? {}) as Record<string, Block>).filter((o) =>
      String(o.description).startsWith('Worker secrets'),
    );
    expect(outputs).toHaveLength(1);
    const expected = outputs[0].value as Record<string, string[]>;
    expect(Object.keys(expected).sort()).toEqual([
      `${settings.prefix}-consumer`,
      `${settings.prefix}-runtime-blue`,
      `${settings.prefix}-runtime-green`,
    ]);
    for (const names of Object.values(expected)) {
      expect(names).toEqual(
        expect.arrayContaining([
          ...settings.integrations.flatMap((i) => i.credentials),
          'DATA_SYNC_ENCRYPTION_KEY',
          'API_TOKEN',
          'INTEGRATIONS',
        ]),
      );
    }
  });

  test('Hyperdrive reads its password from a sensitive variable and does not cache', () => {
    const hyperdrive = only(json(), 'cloudflare_hyperdrive_config');
    expect((hyperdrive.origin as Block).password).toBe('${var.database_password}');
    expect(json().variable?.database_password).toMatchObject({ sensitive: true });
    expect(hyperdrive.caching).toEqual({ disabled: true });
  });

  test('n8n is an exception with its reason, and its external origin is behind Access', () => {
    expect(byEnv[environment].stack.exceptions.get('n8n')).toBe(N8N_ON_WORKERS_EXCEPTION);
    const apps = resourcesOf(json(), 'cloudflare_zero_trust_access_application').map(([, b]) => b);
    expect(apps.map((a) => a.domain)).toEqual([
      `${settings.prefix}-n8n.\${var.cloudflare_zone_name}`,
      `${settings.prefix}-n8n.\${var.cloudflare_zone_name}/webhook`,
    ]);
    const policies = Object.fromEntries(
      resourcesOf(json(), 'cloudflare_zero_trust_access_policy').map(([, b]) => [b.decision, b]),
    );
    expect(policies.allow.include).toEqual([{ email_domain: { domain: '${var.access_email_domain}' } }]);
  });

  test('notification policies cover every alert rule Cloudflare can observe; the rest are exceptions with reasons', () => {
    const policies = resourcesOf(json(), 'cloudflare_notification_policy').map(([, b]) => b);
    const alerted = policies.map((p) => String(p.name).replace(`${settings.prefix} `, ''));
    for (const rule of ALERT_RULES) {
      const excepted = CLOUDFLARE_ALERT_EXCEPTIONS[rule.name];
      expect([rule.name, alerted.includes(rule.name) !== (excepted !== undefined)]).toEqual([rule.name, true]);
      if (excepted !== undefined) expect(excepted.length).toBeGreaterThan(20);
    }
    for (const p of policies) expect((p.mechanisms as Block).email).toEqual([{ id: env.alertEmail }]);
    const health = policies.filter((p) => p.alert_type === 'health_check_status_notification');
    expect(health.map((p) => (p.filters as Block).health_check_id)).toEqual([
      [expect.stringMatching(/^\$\{cloudflare_healthcheck\./)],
      [expect.stringMatching(/^\$\{cloudflare_healthcheck\./)],
    ]);
  });
});

test('the cron map groups integrations that share an interval', () => {
  const integrations = resolveSettings('cloudflare', 'prod', parseContext({ environment: 'prod' })).integrations;
  expect(
    cloudflareCronMap([...integrations, { ...integrations[0], name: 'other', syncInterval: '60m' }])['0 * * * *'],
  ).toEqual([
    'salesforce',
    'sap',
    'netsuite',
    'dynamics',
    'google_analytics',
    'mixpanel',
    'amplitude',
    'facebook',
    'instagram',
    'linkedin',
    'other',
  ]);
});

describe('blue-green with two scripts and a route switch', () => {
  const deploying = synth({
    environment: 'staging',
    activeSlot: 'blue',
    deploymentSlot: 'green',
    imageTag: '2.0.0',
    stableImageTag: '1.4.0',
  }).json;
  const switched = synth({
    environment: 'staging',
    activeSlot: 'green',
    deploymentSlot: 'green',
    imageTag: '2.0.0',
    stableImageTag: '1.4.0',
  }).json;
  const activeRoute = (json: TerraformJson) =>
    only(json, 'cloudflare_workers_route', (b) => String(b.pattern).startsWith('data-sync-staging.'));

  test('the deploying slot receives the new bundle and version; the other keeps its deployed code', () => {
    const green = script(deploying, 'runtime-green');
    const blue = script(deploying, 'runtime-blue');
    expect(green.lifecycle).toBeUndefined();
    expect(blue.lifecycle).toEqual({ ignore_changes: ['content_file', 'content_sha256'] });
    expect([bindings(green).DATA_SYNC_VERSION.text, bindings(blue).DATA_SYNC_VERSION.text]).toEqual(['2.0.0', '1.4.0']);
    expect(activeRoute(deploying).script).toMatch(/runtime_blue_/);
  });

  test('switching activeSlot changes only which script the main route points at (the consumer follows the active slot)', () => {
    expect(activeRoute(switched).script).toMatch(/runtime_green_/);
    for (const slot of ['blue', 'green'])
      expect(script(switched, `runtime-${slot}`)).toEqual(script(deploying, `runtime-${slot}`));
    const slotRoutes = (json: TerraformJson) =>
      resourcesOf(json, 'cloudflare_workers_route').filter(
        ([, b]) => !String(b.pattern).startsWith('data-sync-staging.'),
      );
    expect(slotRoutes(switched)).toEqual(slotRoutes(deploying));
    expect([
      script(deploying, 'consumer').lifecycle,
      bindings(script(deploying, 'consumer')).DATA_SYNC_VERSION.text,
    ]).toEqual([{ ignore_changes: ['content_file', 'content_sha256'] }, '1.4.0']);
    expect([
      script(switched, 'consumer').lifecycle,
      bindings(script(switched, 'consumer')).DATA_SYNC_VERSION.text,
    ]).toEqual([undefined, '2.0.0']);
  });
});

describe('Cloudflare policy rules catch violations', () => {
  const mutate = (edit: (json: any) => void): string[] => {
    const json = JSON.parse(JSON.stringify(byEnv.prod.json));
    edit(json);
    return CLOUDFLARE_POLICIES.flatMap((rule) => rule.check(json).map((m) => `[${rule.id}] ${m}`));
  };
  const consumer = (j: any) =>
    Object.values<any>(j.resource.cloudflare_queue_consumer).find((c) => c.type === 'worker');
  test.each<[string, (json: any) => void, RegExp]>([
    [
      'a consumer without dead letters',
      (j) => delete consumer(j).dead_letter_queue,
      /cloudflare\/queue-dead-letter.*no dead_letter_queue/,
    ],
    [
      'a literal Hyperdrive password',
      (j) => (Object.values<any>(j.resource.cloudflare_hyperdrive_config)[0].origin.password = 'hunter2'),
      /cloudflare\/hyperdrive-password-variable/,
    ],
    [
      'a non-sensitive password variable',
      (j) => (j.variable.database_password.sensitive = false),
      /not marked sensitive/,
    ],
    [
      'an inline Worker secret',
      (j) =>
        Object.values<any>(j.resource.cloudflare_workers_script)[0].bindings.push({
          type: 'secret_text',
          name: 'X',
          text: 'hunter2',
        }),
      /cloudflare\/worker-secrets-out-of-band/,
    ],
    [
      'an origin without Access',
      (j) => delete j.resource.cloudflare_zero_trust_access_application,
      /cloudflare\/origins-behind-access/,
    ],
    [
      'a credential in the provider',
      (j) => (j.provider.cloudflare[0].api_token = 'x'),
      /cloudflare\/no-provider-credentials/,
    ],
  ])('%s', (_, edit, expected) => {
    expect(mutate(() => undefined)).toEqual([]);
    expect(mutate(edit)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
  });
});
