/**
 * The IBM stack's metrics reach IBM Cloud Monitoring, which its PromQL alerts read: nothing scrapes a Code
 * Engine app, so every runtime process (both API slots and the worker job) is given the region's
 * remote-write endpoint and, from the runtime-credentials secret, the Monitor API token (an operator-provided
 * Secrets Manager secret, never a value in the JSON). What the runtime's real registry pushes holds every
 * runtime metric the alerts query, with the labels they group by; n8n's main is scraped by a relay job whose
 * mounted script, run here, remote-writes the queue gauge.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { Gauge, Registry } from 'prom-client';
import { ALERT_RULES } from '@data-sync/monitoring/alerts';
import { METRICS, catalogSeries } from '@data-sync/monitoring/metrics';
import { N8N_METRICS, N8N_METRIC_LIST } from '@data-sync/monitoring/n8n-metrics';
import { parsePrometheusText } from '@data-sync/monitoring/prometheus-text';
import { metricNamesIn } from '@data-sync/monitoring/promql';
import { toTimeSeries } from '@data-sync/monitoring/remote-write';
import { REMOTE_WRITE_RELAY_ENV } from '@data-sync/monitoring/remote-write-relay';
import { createMetrics } from '@data-sync/sync-runtime/src/metrics';
import { buildApp } from '../../app';
import { ibmContainers } from '../boot/support/ibm';
import { startFakeRemoteWrite } from '@data-sync/test-services/remote-write-receiver';
import { resourcesOf, synthJson } from '../support/terraform-checks';

const TOKEN = 'DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN';
const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ibm-metrics-test-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

function synth(context: Record<string, unknown>) {
  const { stacks } = buildApp({ context: { clouds: 'ibm', ...context }, outdir });
  return synthJson(stacks[0]) as any;
}

describe.each([
  ['us-south', {}],
  ['eu-de', { ibmRegion: 'eu-de' }],
])('IBM metrics in %s', (region, context) => {
  const json = synth({ environment: 'prod', ...context });

  test("every runtime process sends to the region's ingestion endpoint with the token from runtime-credentials", () => {
    const processes = ibmContainers(json);
    expect(processes.map((p) => p.env.DATA_SYNC_ROLE).sort()).toEqual(['api', 'api', 'worker']);
    for (const p of processes) {
      expect({ process: p.name, url: p.env.DATA_SYNC_METRICS_REMOTE_WRITE_URL }).toEqual({
        process: p.name,
        url: `https://ingest.prws.${region}.monitoring.cloud.ibm.com/prometheus/remote/write`,
      });
      expect(p.env[TOKEN]).toBeUndefined();
      expect(p.secrets[TOKEN]).toMatch(
        /^\$\{ibm_code_engine_secret\.\w+\.name\}\/DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN$/,
      );
    }
    // The Monitoring instance the endpoint serves is the one the alerts are defined on.
    const monitoring = resourcesOf(json, 'ibm_resource_instance').find(([, r]) => r.service === 'sysdig-monitor')!;
    expect(monitoring[1].location).toBe(region);
  });

  test('the token is an operator-provided Secrets Manager secret the runtime may read, never a value here', () => {
    const [id, secret] = resourcesOf(json, 'ibm_sm_arbitrary_secret').find(([, s]) => s.name === TOKEN)!;
    expect(secret).toMatchObject({ payload: '', lifecycle: { ignore_changes: ['payload'] } });
    const reads = resourcesOf(json, 'ibm_iam_service_policy').find(([, p]) =>
      (p.resource_attributes as { name: string; value: string }[]).some(
        (a) => a.name === 'resource' && a.value === `\${ibm_sm_arbitrary_secret.${id}.secret_id}`,
      ),
    );
    expect(reads?.[1].roles).toEqual(['SecretsReader']);
    expect(json.output.runtime_secret_keys.value).toContain(TOKEN);
    // No variable, config map or output carries a token value.
    const text = JSON.stringify(json);
    expect(text).not.toMatch(/"name":\s*"DATA_SYNC_METRICS_REMOTE_WRITE_TOKEN",\s*"value"/);
    for (const [, map] of resourcesOf(json, 'ibm_code_engine_config_map'))
      expect(Object.keys(map.data as object)).not.toContain(TOKEN);
  });
});

test("what the runtime's registry pushes holds every runtime metric the IBM alerts query, with their grouping labels", async () => {
  const json = synth({ environment: 'prod' });
  const metrics = createMetrics();
  const { m } = metrics;
  m.up.set({ role: 'api' }, 1);
  m.n8nUp.set(1);
  m.syncRuns.inc({ integration: 'salesforce', status: 'failed' });
  m.webhookRequests.inc({ integration: 'hubspot', code: '503' });
  m.apiRequestsRemaining.set({ integration: 'salesforce' }, 250);
  m.deadLetterDepth.set(0);
  m.lastSuccess.set({ integration: 'salesforce' }, 1_764_000_000);
  m.syncInterval.set({ integration: 'salesforce' }, 900);
  const pushed = toTimeSeries(parsePrometheusText(await metrics.registry.metrics()), {
    series: catalogSeries(Object.values(METRICS)),
    labels: { instance: 'pod-1' },
    timestampMs: Date.now(),
  });
  const n8nNames = new Set(N8N_METRIC_LIST.map((x) => x.name));
  const alerts = resourcesOf(json, 'sysdig_monitor_alert_v2_prometheus').map(([, a]) => a);
  expect(alerts.length).toBe(ALERT_RULES.length);
  for (const alert of alerts) {
    const rule = ALERT_RULES.find((r) => r.expr === alert.query)!;
    const by = 'by' in rule.condition ? rule.condition.by : [];
    for (const name of metricNamesIn(String(alert.query)).filter((n) => !n8nNames.has(n))) {
      const found = pushed.filter(
        (s) => s.labels[0].value === name && by.every((label) => s.labels.some((l) => l.name === label)),
      );
      expect({ alert: alert.name, name, found: found.length > 0 }).toEqual({ alert: alert.name, name, found: true });
      expect(found.every((s) => s.labels.some((l) => l.name === 'instance' && l.value === 'pod-1'))).toBe(true);
    }
  }
});

test("n8n main's relay job, run as the stack mounts it, scrapes main and remote-writes its queue gauge with main's name", async () => {
  const json = synth({ environment: 'prod' });
  const [, job] = resourcesOf(json, 'ibm_code_engine_job').find(([, j]) => String(j.name).endsWith('-metrics-relay'))!;
  const [mount] = job.run_volume_mounts as { mount_path: string; reference: string; type: string }[];
  const [mapId, map] = resourcesOf(json, 'ibm_code_engine_config_map').find(
    ([id]) => mount.reference === `\${ibm_code_engine_config_map.${id}.name}`,
  )!;
  expect({ mapId, type: mount.type }).toEqual({ mapId, type: 'config_map' });
  const [file] = Object.keys(map.data as object);
  expect(job.run_arguments).toEqual(['node', `${mount.mount_path}/${file}`]);
  // A config map holds at most 1 MiB.
  expect(Buffer.byteLength(String((map.data as Record<string, string>)[file]))).toBeLessThan(256 * 1024);

  const n8n = new Registry();
  new Gauge({ name: N8N_METRICS.queueJobsWaiting.name, help: 'waiting', registers: [n8n] }).set(7);
  new Gauge({ name: 'n8n_version_info', help: 'not in the catalog', registers: [n8n] }).set(1);
  const app = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    void n8n.metrics().then((text) => res.writeHead(200).end(text));
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const receiver = await startFakeRemoteWrite('monitor-api-token', { tls: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ibm-relay-'));
  const script = path.join(dir, file);
  fs.writeFileSync(script, String((map.data as Record<string, string>)[file]));
  const env: Record<string, string> = Object.fromEntries(
    (job.run_env_variables as { type: string; name: string; value: string }[])
      .filter((v) => v.type === 'literal')
      .map((v) => [v.name, v.value]),
  );
  const child = spawn(process.execPath, [script], {
    env: {
      PATH: process.env.PATH,
      ...env,
      // Main's endpoint and the ingestion endpoint here; the token as the runtime-credentials secret carries it.
      [REMOTE_WRITE_RELAY_ENV.scrapeUrl]: `http://127.0.0.1:${(app.address() as AddressInfo).port}/metrics`,
      [REMOTE_WRITE_RELAY_ENV.url]: receiver.url,
      [REMOTE_WRITE_RELAY_ENV.token]: 'monitor-api-token',
      NODE_EXTRA_CA_CERTS: receiver.caFile!,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  try {
    const waiting = await receiver.arrived((s) => s.labels.__name__ === N8N_METRICS.queueJobsWaiting.name);
    expect(waiting.labels).toEqual({
      __name__: N8N_METRICS.queueJobsWaiting.name,
      instance: env[REMOTE_WRITE_RELAY_ENV.instance],
    });
    expect(waiting.samples[0].value).toBe(7);
    expect(receiver.series.map((s) => s.labels.__name__)).not.toContain('n8n_version_info');
    expect({ refused: receiver.refused, stderr }).toEqual({ refused: [], stderr: '' });
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    await receiver.close();
    await new Promise<void>((resolve) => app.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
