import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../app';
import { ENVIRONMENT_CONFIGS, type EnvironmentName, parseContext, resolveSettings } from '@data-sync/config';
import { cloudLogsRetention } from '../../constructs/monitoring/ibm';
import { codeEngineSize } from '../../constructs/runtime/ibm';
import { ALERT_RULES, DASHBOARD_PANELS } from '@data-sync/monitoring/alerts';
import { CAPABILITIES } from '../../stacks/capabilities';
import type { DataSyncStack } from '../../stacks/data-sync-stack';
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
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ibm-stack-test-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

const cache = new Map<string, { stack: DataSyncStack; json: TerraformJson }>();
function synth(context: Record<string, unknown>) {
  const key = JSON.stringify(context);
  if (!cache.has(key)) {
    const { stacks } = buildApp({ context: { clouds: 'ibm', ...context }, outdir });
    expect(stacks).toHaveLength(1);
    cache.set(key, { stack: stacks[0], json: synthJson(stacks[0]) });
  }
  return cache.get(key)!;
}
const apps = (json: TerraformJson) =>
  new Map(resourcesOf(json, 'ibm_code_engine_app').map(([, body]) => [String(body.name), body]));
const workerJob = (json: TerraformJson) =>
  resourcesOf(json, 'ibm_code_engine_job').find(([, body]) => String(body.name).endsWith('-worker'))![1];
const mappedApp = (json: TerraformJson) =>
  String((resourcesOf(json, 'ibm_code_engine_domain_mapping')[0][1].component as Block[])[0].name);

describe.each(ENVIRONMENTS)('IBM stack, %s', (environment) => {
  const env = ENVIRONMENT_CONFIGS[environment];
  const json = () => synth({ environment }).json;

  test('declares the IBM and Sysdig providers with version constraints', () => {
    expect(json().terraform?.required_providers).toEqual({
      ibm: { source: 'IBM-Cloud/ibm', version: '~> 1.70' },
      sysdig: { source: 'sysdiglabs/sysdig', version: '~> 3.0' },
    });
  });

  test('every reference resolves and every policy holds', () => {
    expect(checkReferences(json())).toEqual([]);
    expect(checkPolicies(json(), 'ibm')).toEqual([]);
  });

  test("the runtime's config map names its PostgreSQL (no PGlite in a deployed environment) and the store queue", () => {
    const [dbName] = resourcesOf(json(), 'ibm_database').find(([, b]) => !String(b.name).includes('n8n'))!;
    const data = resourcesOf(json(), 'ibm_code_engine_config_map').find(([, b]) => b.name === 'runtime-config')![1]
      .data as Record<string, string>;
    expect(data).toMatchObject({ DATA_SYNC_ENVIRONMENT: environment, DATA_SYNC_QUEUE: 'store' });
    // The serving role, verify-full against the deployment's own CA (DATABASE_CA takes IBM's base64 as it is).
    expect(data.DATABASE_URL).toBe(
      `postgres://data_sync_app@\${ibm_database.${dbName}.connectionstrings[0].hosts[0].hostname}:\${ibm_database.${dbName}.connectionstrings[0].hosts[0].port}/data_sync?sslmode=verify-full`,
    );
    expect(data.DATABASE_CA).toBe(`\${ibm_database.${dbName}.connectionstrings[0].certbase64}`);
  });

  test('blue and green Code Engine apps: instanceCount warm instances, 1 vCPU, 2 GB, own image tag', () => {
    for (const slot of ['blue', 'green']) {
      const app = apps(json()).get(`data-sync-${environment}-api-${slot}`)!;
      expect(app).toMatchObject({
        scale_min_instances: env.instanceCount,
        scale_max_instances: env.instanceCount,
        scale_cpu_limit: '1',
        scale_memory_limit: '2G',
        image_port: 3000,
      });
      expect(app.image_reference).toMatch(/:1\.0\.0$/);
    }
    // No custom domain in context: no mapping to a hostname nobody owns; the active app's own HTTPS endpoint is the URL.
    expect(resourcesOf(json(), 'ibm_code_engine_domain_mapping')).toEqual([]);
    expect((json().output as any).url.value).toMatch(/^\$\{ibm_code_engine_app\.runtime_api-blue_\w+\.endpoint\}$/);
  });

  test('databases: private, customer key, more members in prod; secrets empty; worker runs as a daemon', () => {
    const dbs = new Map(resourcesOf(json(), 'ibm_database').map(([, b]) => [String(b.name), b]));
    const db = dbs.get(`data-sync-${environment}`)!;
    expect(db).toMatchObject({ service: 'databases-for-postgresql', service_endpoints: 'private' });
    expect((db.group as any)[0].members.allocation_count).toBe(environment === 'prod' ? 3 : 2);
    expect(dbs.has(`data-sync-${environment}-n8n`)).toBe(true);
    const settings = resolveSettings('ibm', environment, parseContext({ environment }));
    const secrets = resourcesOf(json(), 'ibm_sm_arbitrary_secret').map(([, s]) => s);
    expect(secrets.filter((s) => (s.labels as string[])[0] !== 'runtime').length).toBe(
      settings.integrations.flatMap((i) => i.credentials).length,
    );
    for (const secret of secrets)
      expect(secret).toMatchObject({ payload: '', lifecycle: { ignore_changes: ['payload'] } });
    expect(workerJob(json())).toMatchObject({ run_mode: 'daemon' });
  });

  test('an alert per rule in PromQL, a dashboard panel per catalog panel, logs kept for the environment', () => {
    const alerts = resourcesOf(json(), 'sysdig_monitor_alert_v2_prometheus').map(([, a]) => a);
    expect(alerts.map((a) => a.query).sort()).toEqual(ALERT_RULES.map((r) => r.expr).sort());
    const panels = resourcesOf(json(), 'sysdig_monitor_dashboard')[0][1].panel as Block[];
    expect(panels.map((p) => p.name)).toEqual(DASHBOARD_PANELS.map((p) => p.title));
    const logs = resourcesOf(json(), 'ibm_resource_instance').find(([, r]) => r.service === 'logs')![1];
    expect((logs.parameters as Block).retention_period).toBeGreaterThanOrEqual(env.logRetentionDays);
  });

  test("every capability is provided by a declared resource; schedules are the worker job's scheduler, not unauthenticated cron calls", () => {
    const { stack } = synth({ environment });
    expect(checkCapabilities(stack, json(), CAPABILITIES)).toEqual([]);
    expect(stack.exceptions.has('schedules')).toBe(false);
    const worker = workerJob(json());
    expect(worker.run_env_variables).toContainEqual({ type: 'literal', name: 'DATA_SYNC_ROLE', value: 'worker' });
    expect(worker.run_mode).toBe('daemon');
    expect(JSON.stringify(json().output ?? {})).not.toMatch(/subscription cron/);
  });
});

describe('IBM blue-green', () => {
  const domain = { ibmDomainName: 'api.example.org', ibmTlsSecret: 'api-tls' };

  test('a custom domain from context is mapped to the active app with its TLS secret', () => {
    const json = synth({ environment: 'prod', ...domain }).json;
    expect(resourcesOf(json, 'ibm_code_engine_domain_mapping')[0][1]).toMatchObject({
      name: 'api.example.org',
      tls_secret: 'api-tls',
    });
    expect((json.output as any).url.value).toBe('https://api.example.org');
    expect(() => buildApp({ context: { clouds: 'ibm', ibmDomainName: 'api.example.org' }, outdir })).toThrow(
      'Invalid context value ibmDomainName="api.example.org": set ibmTlsSecret too',
    );
  });

  test("without a custom domain, switching activeSlot changes only the outputs, the schedule commands and n8n's address of the runtime", () => {
    const blue = synth({ environment: 'prod' }).json;
    const green = synth({ environment: 'prod', activeSlot: 'green' }).json;
    // n8n calls the runtime's API at the active app's own endpoint, so it follows the switch.
    expect(changedPaths(blue, green).filter((p) => !p.startsWith('output.'))).toEqual([
      expect.stringMatching(/^resource\.ibm_code_engine_config_map\.n8n_config_\w+\.data\.DATA_SYNC_API_URL$/),
    ]);
    expect((green.output as any).url.value).toMatch(/runtime_api-green_/);
  });

  test('switching activeSlot moves only the domain mapping (and the schedule commands that target the active app)', () => {
    const blue = synth({ environment: 'prod', ...domain }).json;
    const green = synth({ environment: 'prod', activeSlot: 'green', ...domain }).json;
    expect(mappedApp(blue)).toMatch(/api-blue/);
    expect(mappedApp(green)).toMatch(/api-green/);
    expect(changedPaths(blue, green).filter((p) => !p.startsWith('output.'))).toEqual([
      expect.stringMatching(/^resource\.ibm_code_engine_domain_mapping\.runtime_domain_\w+\.component\[0\]\.name$/),
    ]);
  });

  test('deploymentSlot gets the new image; nothing else changes', () => {
    const before = synth({ environment: 'prod', stableImageTag: '1.4.0' }).json;
    const after = synth({
      environment: 'prod',
      stableImageTag: '1.4.0',
      deploymentSlot: 'green',
      imageTag: '2.0.0',
    }).json;
    expect(apps(after).get('data-sync-prod-api-green')!.image_reference).toMatch(/:2\.0\.0$/);
    expect(apps(after).get('data-sync-prod-api-blue')!.image_reference).toMatch(/:1\.4\.0$/);
    expect(changedPaths(before, after)).toEqual([
      expect.stringMatching(/^resource\.ibm_code_engine_app\.runtime_api-green_\w+\.image_reference$/),
    ]);
  });
});

describe('IBM helpers', () => {
  test('Cloud Logs retention rounds up to an allowed period', () => {
    expect([1, 7, 8, 30, 31, 90, 365].map(cloudLogsRetention)).toEqual([7, 7, 14, 30, 60, 90, 90]);
  });

  test('Code Engine sizes come from CPU units and MiB', () => {
    expect(codeEngineSize(1024, 2048)).toEqual({ cpu: '1', memory: '2G' });
    expect(codeEngineSize(512, 1024)).toEqual({ cpu: '0.5', memory: '1G' });
  });
});
