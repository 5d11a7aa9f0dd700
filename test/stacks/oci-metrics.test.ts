/**
 * The OCI stack's metrics reach the store its alarms read: every container instance that runs the
 * runtime (API slots and workers) and n8n's main runs a relay that scrapes the app's /metrics on
 * localhost and posts the catalog's series to PostMetricData in the alarms' namespace, signed with the
 * instance's resource principal, which the dynamic-group policy allows in that namespace only. The
 * runtime's real prom-client output, converted, holds every metric and dimension the alarms' MQL
 * filters on, and the bundled relay the stack mounts posts it, signed as OCI checks it.
 */
import { generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { Gauge, Registry } from 'prom-client';
import { METRICS } from '@data-sync/monitoring/metrics';
import { N8N_METRICS } from '@data-sync/monitoring/n8n-metrics';
import {
  OCI_STREAMS_PER_CALL,
  type OciMetricData,
  RELAY_ENV,
  postMetricDataBodies,
  relayConfig,
  relayOnce,
  toOciMetricData,
} from '@data-sync/monitoring/oci-metrics-relay';
import { parsePrometheusText } from '@data-sync/monitoring/prometheus-text';
import { createMetrics } from '@data-sync/sync-runtime/src/metrics';
import { buildApp } from '../../app';
import { N8N_PORT } from '../../constructs/n8n/provisioning';
import { relayOf, relayScriptOf, startFakeTelemetryIngestion, startRelay } from '../support/oci-metrics-relay';
import { type Block, resourcesOf, synthJson } from '../support/terraform-checks';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'oci-metrics-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));
const [stack] = buildApp({ context: { clouds: 'oci', environment: 'prod' }, outdir }).stacks;
const json = synthJson(stack);

const instances = resourcesOf(json, 'oci_container_instances_container_instance').map(([, body]) => body);
const containers = (instance: Block) => instance.containers as Block[];
const envOf = (container: Block) => container.environment_variables as Record<string, string>;
const runsRuntime = (instance: Block) =>
  (containers(instance)[0].arguments as string[] | undefined)?.includes('dist/runtime/oci.js') ?? false;
const isN8nMain = (instance: Block) => String(instance.display_name).endsWith('-n8n');
const alarms = resourcesOf(json, 'oci_monitoring_alarm').map(([, body]) => body);

describe('the OCI stack relays every runtime and n8n main instance to the alarms’ namespace', () => {
  test("each runtime instance and n8n's main run a relay that scrapes the app's port on localhost", () => {
    const relayed = instances.filter((i) => runsRuntime(i) || isN8nMain(i));
    expect(relayed.map((i) => i.display_name)).toEqual(
      expect.arrayContaining([
        'data-sync-prod-api-blue-0',
        'data-sync-prod-api-green-0',
        'data-sync-prod-worker-0',
        'data-sync-prod-n8n',
      ]),
    );
    const namespaces = new Set(alarms.map((a) => a.namespace));
    const compartments = new Set(alarms.map((a) => a.metric_compartment_id));
    expect(namespaces.size).toBe(1);
    expect(compartments.size).toBe(1);
    for (const instance of relayed) {
      const app = containers(instance)[0];
      const port = isN8nMain(instance) ? N8N_PORT : Number(envOf(app).PORT);
      if (isN8nMain(instance)) expect(envOf(app)).toMatchObject({ N8N_PORT: String(N8N_PORT), N8N_METRICS: 'true' });
      const relay = relayOf(instance)!;
      const env = envOf(relay);
      expect({ instance: instance.display_name, scrape: env[RELAY_ENV.scrapeUrl] }).toEqual({
        instance: instance.display_name,
        scrape: `http://localhost:${port}/metrics`,
      });
      expect(env).toMatchObject({
        [RELAY_ENV.namespace]: [...namespaces][0],
        [RELAY_ENV.compartmentId]: [...compartments][0],
        [RELAY_ENV.ingestionEndpoint]: 'https://telemetry-ingestion.us-ashburn-1.oraclecloud.com',
        [RELAY_ENV.dimensions]: JSON.stringify({ instance: instance.display_name }),
        // Two points in each minute the alarms evaluate.
        [RELAY_ENV.intervalSeconds]: '30',
      });
      expect(relay.command).toEqual(['node', relayScriptOf(instance).file]);
      // The relay runs the runtime image, pulled with the registry secret every instance already has.
      expect(String(relay.image_url)).toContain('/data-sync-prod/');
    }
    // n8n's workers and webhook processes expose no metrics.
    for (const other of instances.filter((i) => !runsRuntime(i) && !isN8nMain(i)))
      expect(relayOf(other)).toBeUndefined();
  });

  test('the worker serves /metrics on localhost only, where its relay scrapes', () => {
    const worker = instances.find((i) => i.display_name === 'data-sync-prod-worker-0')!;
    // `worker` serves no HTTP at all; `all` adds the API, bound to the loopback the instance's containers share.
    expect(envOf(containers(worker)[0])).toMatchObject({ DATA_SYNC_ROLE: 'all', HOST: '127.0.0.1', PORT: '3000' });
  });

  test('the dynamic-group policy lets exactly the runtime and n8n groups use metrics, in that namespace only', () => {
    const groups = new Map(
      resourcesOf(json, 'oci_identity_dynamic_group').map(([id, g]) => [
        String(g.name),
        `\${oci_identity_dynamic_group.${id}.name}`,
      ]),
    );
    const statements = resourcesOf(json, 'oci_identity_policy').flatMap(([, p]) =>
      (p.statements as string[]).filter((s) => /\bmetrics\b/.test(s)),
    );
    expect(statements.sort()).toEqual(
      ['data-sync-prod-runtime', 'data-sync-prod-n8n']
        .map(
          (name) =>
            `Allow dynamic-group ${groups.get(name)} to use metrics in compartment id \${var.compartment_ocid} where target.metrics.namespace = '${alarms[0].namespace}'`,
        )
        .sort(),
    );
    // Each relaying instance carries the tag its group matches on.
    for (const instance of instances.filter((i) => relayOf(i))) {
      const role = isN8nMain(instance) ? 'n8n' : 'runtime';
      expect(instance.defined_tags).toEqual({ 'data_sync_prod.role': role });
    }
  });
});

/** The runtime's registry with a sample of everything the alarms read. */
function runtimeMetrics() {
  const metrics = createMetrics();
  const { m } = metrics;
  m.up.set({ role: 'api' }, 1);
  m.n8nUp.set(1);
  for (let i = 0; i < 3; i++) m.syncRuns.inc({ integration: 'salesforce', status: 'succeeded' });
  m.syncRuns.inc({ integration: 'salesforce', status: 'failed' });
  m.webhookRequests.inc({ integration: 'hubspot', code: '200' });
  m.webhookRequests.inc({ integration: 'hubspot', code: '503' });
  m.apiRequestsRemaining.set({ integration: 'salesforce' }, 250);
  m.deadLetterDepth.set(2);
  // Every integration of the stack has synced once (its staleness alarm reads its own stream).
  for (const integration of alarms.flatMap((a) =>
    [...String(a.query).matchAll(/integration = "([^"]+)"/g)].map((x) => x[1]),
  ))
    m.lastSuccess.set({ integration }, 1_764_000_000);
  m.syncDuration.observe({ integration: 'salesforce' }, 3.5);
  return metrics;
}

/** Metric names and dimension filters of an MQL query (`name[1m]{k = "v", k =~ "5*"}`, `.groupBy(a, b)`). */
function mqlReads(query: string) {
  const reads = [...query.matchAll(/([a-z][a-z0-9_]*)\[\d+m\](?:\{([^}]*)\})?/g)].map(([, name, filter]) => ({
    name,
    filters: [...(filter ?? '').matchAll(/(\w+) (=~?) "([^"]*)"/g)].map(([, key, op, value]) => ({
      key,
      match:
        op === '=' ? (v: string) => v === value : (v: string) => new RegExp(`^${value.replace(/\*/g, '.*')}$`).test(v),
    })),
  }));
  const groupBy = /\.groupBy\(([^)]*)\)/.exec(query)?.[1].split(/,\s*/) ?? [];
  return { reads, groupBy };
}

const seriesOf = (instance: string) =>
  relayConfig(envOf(relayOf(instances.find((i) => i.display_name === instance)!)!));

describe("the runtime's and n8n's real /metrics, converted, hold what every alarm reads", () => {
  test('each alarm finds its metrics with the dimensions its MQL filters and groups on', async () => {
    const api = seriesOf('data-sync-prod-api-blue-0');
    const runtimeData = toOciMetricData(
      parsePrometheusText(await runtimeMetrics().registry.metrics()),
      api,
      new Date(),
    );
    // n8n's /metrics comes from prom-client too; main's relay posts the queue gauges.
    const n8nRegistry = new Registry();
    new Gauge({ name: N8N_METRICS.queueJobsWaiting.name, help: 'waiting', registers: [n8nRegistry] }).set(7);
    const n8n = seriesOf('data-sync-prod-n8n');
    const n8nData = toOciMetricData(parsePrometheusText(await n8nRegistry.metrics()), n8n, new Date());
    expect(runtimeData.skipped).toEqual([]);
    const posted = [...runtimeData.data, ...n8nData.data];
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      const { reads, groupBy } = mqlReads(String(alarm.query));
      expect({ alarm: alarm.display_name, reads: reads.length }).not.toEqual({ alarm: alarm.display_name, reads: 0 });
      for (const read of reads) {
        const found = posted.filter(
          (d) =>
            d.name === read.name &&
            d.namespace === alarm.namespace &&
            d.compartmentId === alarm.metric_compartment_id &&
            read.filters.every((f) => f.match(d.dimensions[f.key] ?? '')) &&
            groupBy.every((g) => d.dimensions[g] !== undefined),
        );
        expect({ alarm: alarm.display_name, read: read.name, found: found.length > 0 }).toEqual({
          alarm: alarm.display_name,
          read: read.name,
          found: true,
        });
      }
    }
  });

  test('counters stay cumulative for `.rate()`, histograms go as _sum and _count, other series stay out', async () => {
    const config = seriesOf('data-sync-prod-worker-0');
    const at = new Date('2026-12-04T18:00:00.000Z');
    const { data } = toOciMetricData(parsePrometheusText(await runtimeMetrics().registry.metrics()), config, at);
    const stream = (name: string, dimensions: Record<string, string>) =>
      data.find((d) => d.name === name && Object.entries(dimensions).every(([k, v]) => d.dimensions[k] === v));
    expect(stream(METRICS.syncRuns.name, { status: 'succeeded' })).toEqual({
      namespace: config.namespace,
      compartmentId: config.compartmentId,
      name: METRICS.syncRuns.name,
      dimensions: { integration: 'salesforce', status: 'succeeded', instance: 'data-sync-prod-worker-0' },
      datapoints: [{ timestamp: '2026-12-04T18:00:00.000Z', value: 3 }],
    });
    expect(stream(`${METRICS.syncDuration.name}_sum`, {})?.datapoints[0].value).toBe(3.5);
    expect(stream(`${METRICS.syncDuration.name}_count`, {})?.datapoints[0].value).toBe(1);
    const names = new Set(data.map((d) => d.name));
    expect([...names].filter((n) => n.endsWith('_bucket') || !n.startsWith('data_sync_'))).toEqual([]);
  });
});

describe('the relay’s conversion follows PostMetricData’s rules', () => {
  const target = {
    namespace: 'data_sync',
    compartmentId: 'ocid1.compartment.oc1..x',
    dimensions: { instance: 'i-0' },
    series: new Set(['a_total', 'b', 'c:d']),
  };

  test('escaped label values are read back; empty labels are absent; odd series are skipped by name', () => {
    const text = [
      '# HELP a_total A counter',
      '# TYPE a_total counter',
      'a_total{integration="say \\"hi\\"\\\\now\\n",empty=""} 4',
      `a_total{integration="${'x'.repeat(513)}"} 1`,
      'b NaN',
      'b{code="500"} +Inf',
      'b{code="200"} 2.5e0 1764000000000',
      'c:d 1',
      'left_out 9',
    ].join('\n');
    const { data, skipped } = toOciMetricData(parsePrometheusText(text), target, new Date(0));
    expect(data.map((d) => [d.name, d.dimensions, d.datapoints[0].value])).toEqual([
      ['a_total', { integration: 'say "hi"\\now\n', instance: 'i-0' }, 4],
      ['b', { code: '200', instance: 'i-0' }, 2.5],
    ]);
    expect(skipped).toEqual(['a_total (integration)', 'b (value NaN)', 'b (value Infinity)', 'c:d (name)']);
  });

  test(`bodies carry at most ${OCI_STREAMS_PER_CALL} streams each`, () => {
    const one = (i: number): OciMetricData => ({
      namespace: 'data_sync',
      compartmentId: 'c',
      name: 'a_total',
      dimensions: { instance: `i-${i}` },
      datapoints: [{ timestamp: new Date(0).toISOString(), value: i }],
    });
    const bodies = postMetricDataBodies(Array.from({ length: 2 * OCI_STREAMS_PER_CALL + 1 }, (_, i) => one(i)));
    expect(bodies.map((b) => [JSON.parse(b.body).metricData.length, b.streams])).toEqual([
      [OCI_STREAMS_PER_CALL, OCI_STREAMS_PER_CALL],
      [OCI_STREAMS_PER_CALL, OCI_STREAMS_PER_CALL],
      [1, 1],
    ]);
    expect(JSON.parse(bodies[0].body).batchAtomicity).toBe('NON_ATOMIC');
  });
});

test('the relay the stack mounts posts the instance’s /metrics, signed with its resource principal, in batches', async () => {
  const instance = instances.find((i) => i.display_name === 'data-sync-prod-api-blue-0')!;
  const metrics = runtimeMetrics();
  // More streams than one call may carry.
  for (let i = 0; i < OCI_STREAMS_PER_CALL; i++) metrics.m.webhookRequests.inc({ integration: `i${i}`, code: '200' });
  const app = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    void metrics.registry.metrics().then((text) => res.writeHead(200, { 'content-type': 'text/plain' }).end(text));
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oci-relay-principal-'));
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const token = 'relay-rpst';
  fs.writeFileSync(path.join(dir, 'rpst'), token);
  fs.writeFileSync(path.join(dir, 'rpst.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const ingestion = await startFakeTelemetryIngestion({ token, publicKey });
  const env = envOf(relayOf(instance)!);
  const relay = startRelay(instance, {
    scrapeOrigin: `http://127.0.0.1:${(app.address() as AddressInfo).port}`,
    ingestionUrl: ingestion.url,
    // As OCI gives a container instance's containers their resource principal.
    principal: {
      OCI_RESOURCE_PRINCIPAL_VERSION: '2.2',
      OCI_RESOURCE_PRINCIPAL_RPST: path.join(dir, 'rpst'),
      OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: path.join(dir, 'rpst.pem'),
      OCI_RESOURCE_PRINCIPAL_REGION: 'us-ashburn-1',
    },
  });
  try {
    await ingestion.settled();
    expect({ refused: ingestion.refused, output: relay.output() }).toEqual({ refused: [], output: '' });
    expect(ingestion.calls.length).toBeGreaterThan(1);
    for (const call of ingestion.calls) expect(call.body.metricData.length).toBeLessThanOrEqual(OCI_STREAMS_PER_CALL);
    const streams = ingestion.calls.flatMap((c) => c.body.metricData);
    expect(new Set(streams.map((s) => `${s.namespace} ${s.compartmentId}`))).toEqual(
      new Set([`${env[RELAY_ENV.namespace]} ${env[RELAY_ENV.compartmentId]}`]),
    );
    expect(streams).toContainEqual(
      expect.objectContaining({
        name: METRICS.up.name,
        dimensions: { role: 'api', instance: 'data-sync-prod-api-blue-0' },
        datapoints: [expect.objectContaining({ value: 1 })],
      }),
    );
    expect(streams.filter((s) => s.name === METRICS.webhookRequests.name)).toHaveLength(OCI_STREAMS_PER_CALL + 2);
  } finally {
    relay.stop();
    await ingestion.close();
    await new Promise<void>((resolve) => app.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a refused call and an app that does not answer are reported, not lost in silence', async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const principal = {
    OCI_RESOURCE_PRINCIPAL_VERSION: '2.2',
    OCI_RESOURCE_PRINCIPAL_RPST: 'not-the-trusted-token',
    OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: String(privateKey.export({ type: 'pkcs8', format: 'pem' })),
  };
  const ingestion = await startFakeTelemetryIngestion({ token: 'trusted', publicKey });
  const metrics = runtimeMetrics();
  const app = http.createServer((_req, res) => {
    void metrics.registry.metrics().then((text) => res.writeHead(200).end(text));
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  const config = {
    ...seriesOf('data-sync-prod-api-blue-0'),
    scrapeUrl: `http://127.0.0.1:${(app.address() as AddressInfo).port}/metrics`,
    ingestionEndpoint: ingestion.url,
  };
  try {
    const round = await relayOnce(config, principal);
    expect(round.posted).toBe(0);
    expect(round.failed).toEqual(['PostMetricData answered 401: keyId is not the trusted session token']);
    await new Promise<void>((resolve) => app.close(() => resolve()));
    await expect(relayOnce(config, principal)).rejects.toThrow('fetch failed');
  } finally {
    await ingestion.close();
  }
});
