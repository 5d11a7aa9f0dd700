import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../app';
import {
  ENVIRONMENT_CONFIGS,
  type EnvironmentName,
  N8N_PROCESSES,
  parseContext,
  resolveSettings,
} from '@data-sync/config';
import { cronExpression } from '../../constructs/shared/schedule';
import { ociAlarmSpecs } from '../../constructs/monitoring/oci';
import { ALERT_RULES } from '@data-sync/monitoring/alerts';
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
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'oci-stack-test-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

const cache = new Map<string, { stack: DataSyncStack; json: TerraformJson }>();
function synth(context: Record<string, unknown>) {
  const key = JSON.stringify(context);
  if (!cache.has(key)) {
    const { stacks } = buildApp({ context: { clouds: 'oci', ...context }, outdir });
    expect(stacks).toHaveLength(1);
    cache.set(key, { stack: stacks[0], json: synthJson(stacks[0]) });
  }
  return cache.get(key)!;
}
const instances = (json: TerraformJson) =>
  new Map(
    resourcesOf(json, 'oci_container_instances_container_instance').map(([, body]) => [
      String(body.display_name),
      body,
    ]),
  );
const app = (instance: Block) => (instance.containers as Block[])[0];

describe.each(ENVIRONMENTS)('OCI stack, %s', (environment) => {
  const env = ENVIRONMENT_CONFIGS[environment];
  const json = () => synth({ environment }).json;

  test('declares the oracle/oci provider with a version constraint', () => {
    expect(json().terraform?.required_providers).toEqual({ oci: { source: 'oracle/oci', version: '~> 7.0' } });
  });

  test('every reference resolves and every policy holds', () => {
    expect(checkReferences(json())).toEqual([]);
    expect(checkPolicies(json(), 'oci')).toEqual([]);
  });

  test('blue and green: instanceCount container instances each, 1 OCPU / 2 GB, behind their own backend set', () => {
    const all = instances(json());
    for (const slot of ['blue', 'green']) {
      const slotInstances = [...all].filter(([name]) => name.startsWith(`data-sync-${environment}-api-${slot}-`));
      expect(slotInstances).toHaveLength(env.instanceCount);
      for (const [, instance] of slotInstances) {
        expect(instance.shape_config).toEqual({ ocpus: env.cpuUnits / 1024, memory_in_gbs: env.memoryMb / 1024 });
        expect(app(instance).image_url).toMatch(/:1\.0\.0$/);
        expect((instance.vnics as Block[])[0].is_public_ip_assigned).toBe(false);
      }
    }
    expect(
      resourcesOf(json(), 'oci_load_balancer_backend_set')
        .map(([, b]) => b.name)
        .sort(),
    ).toEqual(['blue', 'green', 'n8n', ...(N8N_PROCESSES[environment].mode === 'queue' ? ['n8n-webhooks'] : [])]);
  });

  test('PostgreSQL: private, Vault password, a standby node only in prod', () => {
    const dbs = new Map(resourcesOf(json(), 'oci_psql_db_system').map(([, b]) => [String(b.display_name), b]));
    const db = dbs.get(`data-sync-${environment}`)!;
    expect(db.instance_count).toBe(environment === 'prod' ? 2 : 1);
    expect((db.credentials as Block).password_details).toMatchObject({ password_type: 'VAULT_SECRET' });
    expect(dbs.has(`data-sync-${environment}-n8n`)).toBe(true);
  });

  test('a schedule per enabled integration and an alarm per alert rule', () => {
    const settings = resolveSettings('oci', environment, parseContext({ environment }));
    const schedules = resourcesOf(json(), 'oci_resource_scheduler_schedule').map(([, s]) => s);
    expect(schedules.map((s) => s.display_name).sort()).toEqual(
      settings.integrations.map((i) => `data-sync-${environment}-${i.name}`).sort(),
    );
    for (const integration of settings.integrations) {
      const schedule = schedules.find((s) => s.display_name === `data-sync-${environment}-${integration.name}`)!;
      expect(schedule.recurrence_details).toBe(cronExpression(integration.syncInterval));
      expect(JSON.parse((schedule.resources as any)[0].parameters[0].value)).toMatchObject({
        kind: 'sync',
        integration: integration.name,
      });
    }
    const alarms = resourcesOf(json(), 'oci_monitoring_alarm').map(([, a]) => String(a.display_name));
    for (const rule of ALERT_RULES)
      expect(
        alarms.some(
          (a) =>
            a === `data-sync-${environment}-${rule.name}` || a.startsWith(`data-sync-${environment}-${rule.name}-`),
        ),
      ).toBe(true);
  });

  test('logs keep at least the environment retention, in OCI 30-day steps', () => {
    for (const [, log] of resourcesOf(json(), 'oci_logging_log')) {
      expect(log.retention_duration).toBeGreaterThanOrEqual(env.logRetentionDays);
      expect(Number(log.retention_duration) % 30).toBe(0);
    }
  });

  test('every capability is provided by a declared resource or excepted with a reason', () => {
    const { stack } = synth({ environment });
    expect(checkCapabilities(stack, json(), CAPABILITIES)).toEqual([]);
    expect(stack.exceptions.get('dashboards')).toMatch(/OCI/);
  });
});

describe('OCI blue-green', () => {
  test('switching activeSlot moves only the listener default backend set', () => {
    const blue = synth({ environment: 'prod' }).json;
    const green = synth({ environment: 'prod', activeSlot: 'green' }).json;
    const listener = (json: TerraformJson) =>
      String(resourcesOf(json, 'oci_load_balancer_listener')[0][1].default_backend_set_name);
    expect(listener(blue)).toMatch(/backends-blue/);
    expect(listener(green)).toMatch(/backends-green/);
    expect(changedPaths(blue, green).filter((p) => !p.startsWith('output.active_slot'))).toEqual([
      expect.stringMatching(/^resource\.oci_load_balancer_listener\.runtime_http_\w+\.default_backend_set_name$/),
    ]);
  });

  test('deploymentSlot gets the new image on its instances only', () => {
    const before = synth({ environment: 'prod', stableImageTag: '1.4.0' }).json;
    const after = synth({
      environment: 'prod',
      stableImageTag: '1.4.0',
      deploymentSlot: 'green',
      imageTag: '2.0.0',
    }).json;
    const all = instances(after);
    expect(app(all.get('data-sync-prod-api-green-0')!).image_url).toMatch(/:2\.0\.0$/);
    expect(app(all.get('data-sync-prod-api-blue-0')!).image_url).toMatch(/:1\.4\.0$/);
    const changed = changedPaths(before, after);
    expect(changed.length).toBe(2);
    for (const p of changed)
      expect(p).toMatch(
        /^resource\.oci_container_instances_container_instance\.runtime_green-\d_instance_\w+\.containers\[0\]\.image_url$/,
      );
  });
});

describe('OCI renderers', () => {
  test('alert rules become MQL: ratio, regex filter, threshold with absence, staleness per integration', () => {
    const rule = (name: string) => ALERT_RULES.find((r) => r.name === name)!;
    const salesforce = resolveSettings('oci', 'prod', parseContext({})).integrations.filter(
      (i) => i.name === 'salesforce',
    );
    expect(ociAlarmSpecs(rule('HighSyncFailureRate'), [])[0].query).toBe(
      '(data_sync_sync_runs_total[5m]{status = "failed"}.rate() / data_sync_sync_runs_total[5m].rate()) > 0.1',
    );
    expect(ociAlarmSpecs(rule('WebhookErrorRate'), [])[0].query).toContain('{code =~ "5*"}');
    expect(ociAlarmSpecs(rule('DataSyncRuntimeDown'), [])[0].query).toBe(
      'data_sync_up[1m].sum() < 1 || data_sync_up[1m].absent()',
    );
    expect(ociAlarmSpecs(rule('SyncLagging'), salesforce)).toEqual([
      {
        name: 'SyncLagging-salesforce',
        query: 'data_sync_last_success_timestamp_seconds[60m]{integration = "salesforce"}.rate() <= 0',
        pendingDuration: 'PT60M',
      },
    ]);
  });
});

describe('OCI HTTPS and stack options from context', () => {
  const CERT = 'ocid1.certificate.oc1.iad.amaaaaaaexample';

  test('the only public entry is the API gateway (HTTPS); the load balancer is private and reached from the gateway only', () => {
    const { json } = synth({ environment: 'prod' });
    const [[, lb]] = resourcesOf(json, 'oci_load_balancer_load_balancer');
    expect(lb.is_private).toBe(true);
    const [[, gateway]] = resourcesOf(json, 'oci_apigateway_gateway');
    expect(gateway).toMatchObject({ endpoint_type: 'PUBLIC' });
    expect(gateway.certificate_id).toBeUndefined();
    const [[, deployment]] = resourcesOf(json, 'oci_apigateway_deployment');
    const routes = (deployment.specification as any).routes as { path: string; backend: { url: string } }[];
    expect(routes.map((r) => [r.path, r.backend.url.replace(/^http:\/\/\$\{[^}]+\}/, 'LB')])).toEqual([
      ['/{rest*}', 'LB:80/$${request.path[rest]}'],
      ['/_slots/blue/{rest*}', 'LB:8081/$${request.path[rest]}'],
      ['/_slots/green/{rest*}', 'LB:8082/$${request.path[rest]}'],
    ]);
    const open = resourcesOf(json, 'oci_core_network_security_group_security_rule').filter(
      ([, r]) => r.source === '0.0.0.0/0',
    );
    expect(open.map(([, r]) => (r.tcp_options as any).destination_port_range)).toEqual([{ min: 443, max: 443 }]);
    expect((json.output as any).url.value).toMatch(/^https:\/\/\$\{oci_apigateway_gateway\.\w+\.hostname\}$/);
  });

  test('ociRegion reaches the provider and the registry host; a custom domain puts its certificate on the gateway', () => {
    const { json } = synth({
      environment: 'prod',
      ociRegion: 'eu-frankfurt-1',
      ociDomainName: 'api.example.org',
      ociCertificateId: CERT,
    });
    expect(JSON.stringify(json.provider)).toContain('eu-frankfurt-1');
    expect((json.output as any).image_repository.value).toMatch(/^eu-frankfurt-1\.ocir\.io\//);
    expect(resourcesOf(json, 'oci_apigateway_gateway')[0][1].certificate_id).toBe(CERT);
    expect((json.output as any).url.value).toBe('https://api.example.org');
    expect(() => synth({ environment: 'prod', ociCertificateId: CERT })).toThrow(
      'Invalid context value ociCertificateId="ocid1.certificate.oc1.iad.amaaaaaaexample": set ociDomainName too',
    );
  });

  test('the runtime gets N8N_URL on the gateway and its API key as a Vault secret file', () => {
    const { json } = synth({ environment: 'prod' });
    const app = resourcesOf(json, 'oci_container_instances_container_instance').find(([, b]) =>
      String(b.display_name).endsWith('api-blue-0'),
    )![1];
    const env = (app.containers as any[])[0].environment_variables;
    expect(env.N8N_URL).toMatch(/^https:\/\/\$\{oci_apigateway_gateway\.\w+\.hostname\}\/n8n\/$/);
    expect(env.N8N_API_KEY_FILE).toBe('/secrets/N8N_API_KEY');
    expect(JSON.stringify((app.containers as any[])[1].command)).toContain('/secrets/N8N_API_KEY');
  });
});

describe('OCI isolation: n8n and the runtime are separate identities and networks', () => {
  const { json } = synth({ environment: 'prod' });
  const groups = resourcesOf(json, 'oci_identity_dynamic_group').map(([, body]) => String(body.matching_rule));
  const policies = resourcesOf(json, 'oci_identity_policy').map(([, body]) => body.statements as string[]);
  const hosts = instances(json);
  const n8n = hosts.get('data-sync-prod-n8n')!;
  // n8n's queue workers and webhook processes are `<prefix>-n8n-workers-<i>` and `<prefix>-n8n-webhooks-<i>`.
  const runtimeHosts = [...hosts].filter(([name]) => !name.includes('-n8n')).map(([, body]) => body);

  test("no dynamic group matches every container instance in the compartment: each matches one workload's tag", () => {
    expect(groups).toHaveLength(2);
    for (const rule of groups) expect(rule).toMatch(/tag\.data_sync_prod\.role\.value = '(runtime|n8n)'/);
    expect((n8n.defined_tags as Record<string, string>)['data_sync_prod.role']).toBe('n8n');
    for (const host of runtimeHosts)
      expect((host.defined_tags as Record<string, string>)['data_sync_prod.role']).toBe('runtime');
  });

  test("every secret-bundle grant names its secrets, and n8n's names only the secrets its instance mounts", () => {
    const reads = policies.flat().filter((s) => s.includes('secret-bundles'));
    for (const statement of reads) expect(statement).toMatch(/where any \{target\.secret\.id = /);
    const n8nPolicy = resourcesOf(json, 'oci_identity_policy').find(([, body]) => body.name === 'data-sync-prod-n8n')!;
    const n8nGrant = (n8nPolicy[1].statements as string[])[0];
    const granted = new Set([...n8nGrant.matchAll(/target\.secret\.id = '([^']+)'/g)].map((m) => m[1]));
    const mounted = new Set(JSON.stringify(n8n.containers).match(/\$\{oci_vault_secret\.[\w-]+\.id\}/g));
    mounted.add(String((n8n.image_pull_secrets as Block[])[0].secret_id));
    expect(granted).toEqual(mounted);
  });

  test("n8n's network security group is not the runtime's, and the runtime's database admits only the runtime's", () => {
    const nsgOf = (host: Block) => ((host.vnics as Block[])[0].nsg_ids as string[]).join();
    for (const host of runtimeHosts) expect(nsgOf(n8n)).not.toBe(nsgOf(host));
    const dbIngress = resourcesOf(json, 'oci_core_network_security_group_security_rule')
      .filter(
        ([, r]) =>
          r.direction === 'INGRESS' && (r.tcp_options as Block | undefined)?.destination_port_range !== undefined,
      )
      .filter(([, r]) => ((r.tcp_options as Block).destination_port_range as Block).min === 5432);
    const runtimeDbRule = dbIngress.find(([name]) => name.startsWith('network_db-in'))!;
    expect(runtimeDbRule[1].source).not.toBe(nsgOf(n8n));
  });
});
