/**
 * The metrics relay of an OCI container instance. OCI Monitoring does not scrape Prometheus endpoints, so
 * a sidecar scrapes the app's /metrics on localhost (the containers of an instance share one network),
 * keeps the catalog's series, and posts them to PostMetricData (the region's telemetry-ingestion
 * endpoint), signed with the instance's resource principal. Counters stay cumulative: the alarms' MQL
 * takes `.rate()` of them; histograms go as `_sum` and `_count`, as on AWS. Built on node:crypto and
 * fetch only: the stacks bundle this file into the sidecar (constructs/monitoring/oci.ts).
 */
import { resourcePrincipalKey, signOciRequest } from './oci-signing';
import { type PrometheusSample, parsePrometheusText } from './prometheus-text';
import { everyInterval, scrapeMetrics } from './relay-cadence';

/** One metric stream's data points, as PostMetricData takes them (MetricDataDetails). */
export interface OciMetricData {
  readonly namespace: string;
  readonly compartmentId: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly datapoints: readonly { readonly timestamp: string; readonly value: number }[];
}

/** Where and as what a relay posts. */
export interface OciMetricsTarget {
  /** Custom metric namespace (lowercase, no `oci_` prefix). */
  readonly namespace: string;
  readonly compartmentId: string;
  /** Dimensions of every stream besides the sample's labels: which instance posted it. */
  readonly dimensions: Readonly<Record<string, string>>;
  /** Series names to post (a histogram's `_sum` and `_count`); every other series is left out. */
  readonly series: ReadonlySet<string>;
}

/** PostMetricData's rules (Monitoring API reference, MetricDataDetails): names, dimension keys and values. */
const METRIC_NAME = /^[A-Za-z][A-Za-z0-9._$-]*$/;
const DIMENSION_KEY = /^[\x21-\x7e]{1,256}$/;
const MAX_DIMENSION_VALUE = 512;
const MAX_DIMENSIONS = 20;
/** Unique metric streams per PostMetricData call. */
export const OCI_STREAMS_PER_CALL = 50;

/**
 * The samples of `target.series` as metric streams with one data point at `at`. A stream PostMetricData
 * would refuse (a bad name or dimension, a value JSON cannot carry) is left out and named in `skipped`,
 * so one odd label cannot fail a whole batch. Empty label values are absent labels, as in Prometheus.
 */
export function toOciMetricData(
  samples: readonly PrometheusSample[],
  target: OciMetricsTarget,
  at: Date,
): { data: OciMetricData[]; skipped: string[] } {
  const data: OciMetricData[] = [];
  const skipped: string[] = [];
  const timestamp = at.toISOString();
  for (const sample of samples) {
    if (!target.series.has(sample.name)) continue;
    const dimensions = {
      ...Object.fromEntries(Object.entries(sample.labels).filter(([, v]) => v !== '')),
      ...target.dimensions,
    };
    const entries = Object.entries(dimensions);
    const problem = !Number.isFinite(sample.value)
      ? `value ${sample.value}`
      : !METRIC_NAME.test(sample.name)
        ? 'name'
        : entries.length > MAX_DIMENSIONS
          ? `${entries.length} dimensions`
          : entries.find(([k, v]) => !DIMENSION_KEY.test(k) || v.length > MAX_DIMENSION_VALUE)?.[0];
    if (problem) {
      skipped.push(`${sample.name} (${problem})`);
      continue;
    }
    data.push({
      namespace: target.namespace,
      compartmentId: target.compartmentId,
      name: sample.name,
      dimensions,
      datapoints: [{ timestamp, value: sample.value }],
    });
  }
  return { data, skipped };
}

/** `data` in PostMetricData bodies of at most OCI_STREAMS_PER_CALL streams each, with their stream counts. */
export function postMetricDataBodies(data: readonly OciMetricData[]): { body: string; streams: number }[] {
  const bodies: { body: string; streams: number }[] = [];
  for (let i = 0; i < data.length; i += OCI_STREAMS_PER_CALL) {
    const metricData = data.slice(i, i + OCI_STREAMS_PER_CALL);
    bodies.push({ body: JSON.stringify({ metricData, batchAtomicity: 'NON_ATOMIC' }), streams: metricData.length });
  }
  return bodies;
}

/** The relay's settings, from the sidecar's environment (constructs/monitoring/oci.ts sets them). */
export interface RelayConfig extends OciMetricsTarget {
  /** The app's /metrics on localhost. */
  readonly scrapeUrl: string;
  /** The region's telemetry-ingestion endpoint, e.g. `https://telemetry-ingestion.us-ashburn-1.oraclecloud.com`. */
  readonly ingestionEndpoint: string;
  readonly intervalSeconds: number;
}

/** The relay's variables, by setting. */
export const RELAY_ENV = {
  scrapeUrl: 'DATA_SYNC_METRICS_SCRAPE_URL',
  ingestionEndpoint: 'DATA_SYNC_METRICS_INGESTION_ENDPOINT',
  compartmentId: 'DATA_SYNC_METRICS_COMPARTMENT_ID',
  namespace: 'DATA_SYNC_METRICS_NAMESPACE',
  dimensions: 'DATA_SYNC_METRICS_DIMENSIONS',
  series: 'DATA_SYNC_METRICS_SERIES',
  intervalSeconds: 'DATA_SYNC_METRICS_INTERVAL_SECONDS',
} as const;

/** The relay's settings from `env`; throws naming the variable that is missing or wrong. */
export function relayConfig(env: NodeJS.ProcessEnv): RelayConfig {
  const read = (key: keyof typeof RELAY_ENV) => {
    const value = env[RELAY_ENV[key]];
    if (!value) throw new Error(`${RELAY_ENV[key]} is not set`);
    return value;
  };
  const intervalSeconds = Number(read('intervalSeconds'));
  if (!(intervalSeconds >= 10)) throw new Error(`${RELAY_ENV.intervalSeconds} must be a number of seconds, 10 or more`);
  return {
    scrapeUrl: read('scrapeUrl'),
    ingestionEndpoint: read('ingestionEndpoint').replace(/\/+$/, ''),
    compartmentId: read('compartmentId'),
    namespace: read('namespace'),
    dimensions: JSON.parse(read('dimensions')) as Record<string, string>,
    series: new Set(read('series').split(',')),
    intervalSeconds,
  };
}

/** What one relay round did. */
export interface RelayRound {
  readonly posted: number;
  readonly skipped: readonly string[];
  /** PostMetricData's failedMetrics messages, and refused calls. */
  readonly failed: readonly string[];
}

/** Scrapes once and posts what it read; throws when the app does not answer. */
export async function relayOnce(config: RelayConfig, env: NodeJS.ProcessEnv, now = new Date()): Promise<RelayRound> {
  const { data, skipped } = toOciMetricData(parsePrometheusText(await scrapeMetrics(config.scrapeUrl)), config, now);
  const url = `${config.ingestionEndpoint}/20180401/metrics`;
  const failed: string[] = [];
  let posted = 0;
  for (const { body, streams } of postMetricDataBodies(data)) {
    // Read for every call: the platform renews the token and key files.
    const headers = signOciRequest({ method: 'POST', url, body }, resourcePrincipalKey(env));
    const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
    const answer = (await response.json().catch(() => ({}))) as {
      failedMetricsCount?: number;
      failedMetrics?: { message?: string; metricData?: { name?: string } }[];
      message?: string;
    };
    if (!response.ok) {
      failed.push(`PostMetricData answered ${response.status}: ${answer.message ?? ''}`);
      continue;
    }
    posted += streams - (answer.failedMetricsCount ?? 0);
    for (const f of answer.failedMetrics ?? []) failed.push(`${f.metricData?.name}: ${f.message}`);
  }
  return { posted, skipped, failed };
}

/** Relays every interval until the process is stopped, one JSON log line per round that did not go cleanly. */
export function runRelay(env: NodeJS.ProcessEnv = process.env): void {
  const config = relayConfig(env);
  const log = (line: object) => process.stderr.write(`${JSON.stringify(line)}\n`);
  everyInterval(config.intervalSeconds, async () => {
    try {
      const r = await relayOnce(config, env);
      if (r.skipped.length || r.failed.length) log({ msg: 'metrics relay', ...r });
    } catch (error) {
      log({ msg: 'metrics relay failed', err: (error as Error).message });
    }
  });
}
