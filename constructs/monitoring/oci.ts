import { Construct } from 'constructs';
import { type IntegrationSettings, intervalMinutes } from '@data-sync/config';
import { ALERT_RULES, type AlertRule } from '@data-sync/monitoring/alerts';
import { catalogSeries, type MetricDefinition } from '@data-sync/monitoring/metrics';
import { RELAY_ENV } from '@data-sync/monitoring/oci-metrics-relay';
import {
  type OciContainer,
  type OciContainerVolume,
  OciIdentityPolicy,
  OciMonitoringAlarm,
  OciOnsNotificationTopic,
  OciOnsSubscription,
} from '../providers/oci';
import { relayScript } from './relay-script';

/** Custom metric namespace the runtime's metrics are published to (OCI reserves the `oci_` prefix). */
export const OCI_METRICS_NAMESPACE = 'data_sync';
/** Where the relay sidecar mounts its script. */
export const OCI_METRICS_RELAY_DIR = '/relay';
const RELAY_FILE = 'oci-metrics-relay.js';
/** Seconds between two scrapes: two points in each minute the alarms evaluate (1-minute resolution), as AWS's agent scrapes. */
export const OCI_METRICS_INTERVAL_SECONDS = 30;

/** PostMetricData's endpoint of `region` (telemetry-ingestion, not the telemetry endpoint queries use). */
export const ociTelemetryIngestionEndpoint = (region: string) =>
  `https://telemetry-ingestion.${region}.oraclecloud.com`;

/** The series a relay posts for `metrics`: a histogram's `_sum` and `_count` (as on AWS), not its buckets. */
export const ociRelaySeries = (metrics: readonly MetricDefinition[]): string[] => [
  ...catalogSeries(metrics, { buckets: false }),
];

/** monitoring/oci-metrics-relay.ts as one CommonJS file (node builtins only), bundled once per synth. */
export const ociMetricsRelayScript = (): string => relayScript('oci-metrics-relay', 'runRelay');

export interface OciMetricsRelayProps {
  /** An image with Node.js 20 or later on its PATH (the runtime image). */
  readonly image: string;
  /** Port of the app's /metrics on the instance's localhost. */
  readonly port: number;
  /** Catalog metrics to post; every other series of /metrics is left out. */
  readonly metrics: readonly MetricDefinition[];
  /** The container instance's display name: the `instance` dimension, so each instance's counters stay one stream. */
  readonly instance: string;
  readonly compartmentId: string;
  /** Region whose telemetry-ingestion endpoint takes the metrics. */
  readonly region: string;
}

/**
 * The metrics relay sidecar of a container instance and the volume with its script: it scrapes the
 * app's /metrics on localhost every 30 seconds and posts the catalog's series to OCI Monitoring in the
 * alarms' namespace, with the instance's resource principal (allowed by OciMonitoring's policy).
 */
export function ociMetricsRelay(props: OciMetricsRelayProps): { container: OciContainer; volume: OciContainerVolume } {
  const volume = 'metrics-relay';
  return {
    container: {
      display_name: 'metrics',
      image_url: props.image,
      command: ['node', `${OCI_METRICS_RELAY_DIR}/${RELAY_FILE}`],
      environment_variables: {
        [RELAY_ENV.scrapeUrl]: `http://localhost:${props.port}/metrics`,
        [RELAY_ENV.ingestionEndpoint]: ociTelemetryIngestionEndpoint(props.region),
        [RELAY_ENV.compartmentId]: props.compartmentId,
        [RELAY_ENV.namespace]: OCI_METRICS_NAMESPACE,
        [RELAY_ENV.dimensions]: JSON.stringify({ instance: props.instance }),
        [RELAY_ENV.series]: ociRelaySeries(props.metrics).join(','),
        [RELAY_ENV.intervalSeconds]: String(OCI_METRICS_INTERVAL_SECONDS),
      },
      volume_mounts: [{ mount_path: OCI_METRICS_RELAY_DIR, volume_name: volume, is_read_only: true }],
      resource_config: { vcpus_limit: 0.25, memory_limit_in_gbs: 0.25 },
    },
    volume: {
      name: volume,
      volume_type: 'CONFIGFILE',
      configs: [{ file_name: RELAY_FILE, data: Buffer.from(ociMetricsRelayScript()).toString('base64') }],
    },
  };
}

/** A Prometheus label matcher as an MQL dimension filter: exact values stay, `.`/`.*` patterns become MQL wildcards. */
function mqlFilter(filter: Readonly<Record<string, string>>): string {
  const parts = Object.entries(filter).map(([label, value]) =>
    /[.*+?|()[\]]/.test(value) ? `${label} =~ "${value.replace(/\.\*|\.+/g, '*')}"` : `${label} = "${value}"`,
  );
  return parts.length ? `{${parts.join(', ')}}` : '';
}

/** Minutes formatted as an MQL interval, at most 60m (OCI's alarm interval limit). */
const window = (minutes: number) => `${Math.max(1, Math.min(60, Math.round(minutes)))}m`;
/** Seconds as an ISO 8601 pending duration, 1 to 60 minutes. */
const pending = (seconds: number) => `PT${Math.max(1, Math.min(60, Math.ceil(seconds / 60)))}M`;

export interface OciAlarmSpec {
  readonly name: string;
  readonly query: string;
  readonly pendingDuration: string;
}

/**
 * MQL for each alert rule. Ratios divide two joined queries' rates, thresholds use the rule's
 * aggregate (grouped by its labels), staleness becomes "the last-success timestamp did not move
 * during 2 x sync_interval" per integration (MQL has no time()), absent() where PromQL has absent().
 */
export function ociAlarmSpecs(rule: AlertRule, integrations: readonly IntegrationSettings[]): OciAlarmSpec[] {
  const c = rule.condition;
  if (c.kind === 'ratio') {
    const w = window(c.windowSeconds / 60);
    return [
      {
        name: rule.name,
        query: `(${c.metric}[${w}]${mqlFilter(c.numeratorFilter)}.rate() / ${c.metric}[${w}].rate()) ${c.op} ${c.threshold}`,
        pendingDuration: pending(rule.forSeconds),
      },
    ];
  }
  if (c.kind === 'threshold') {
    const group = c.by.length ? `.groupBy(${c.by.join(', ')})` : '';
    const statistic = c.aggregate === 'min' ? 'min()' : c.aggregate === 'max' ? 'max()' : 'sum()';
    const op = c.op === '==' ? '==' : c.op;
    const query = `${c.metric}[1m]${group}.${statistic} ${op} ${c.threshold}`;
    return [
      {
        name: rule.name,
        query: rule.expr.includes('absent(') ? `${query} || ${c.metric}[1m]${group}.absent()` : query,
        pendingDuration: pending(rule.forSeconds),
      },
    ];
  }
  return integrations.map((integration) => {
    const staleMinutes = c.factor * intervalMinutes(integration.syncInterval);
    return {
      name: `${rule.name}-${integration.name}`,
      query: `${c.metric}[${window(staleMinutes)}]{integration = "${integration.name}"}.rate() <= 0`,
      // What the 60-minute interval cannot cover waits in the pending duration.
      pendingDuration: pending(Math.max(rule.forSeconds, (staleMinutes - 60) * 60)),
    };
  });
}

export interface OciMonitoringProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly compartmentId: string;
  readonly alertEmail: string;
  readonly integrations: readonly IntegrationSettings[];
  /** Dynamic groups of the container instances whose relays publish metrics, to the namespace only. */
  readonly publisherDynamicGroups: readonly string[];
  /** Rules to render; @default ALERT_RULES */
  readonly rules?: readonly AlertRule[];
}

/** Alerts capability on OCI: a Notifications topic with an email subscription and one Monitoring alarm per alert rule. */
export class OciMonitoring extends Construct {
  readonly topicId: string;
  readonly topic: InstanceType<typeof OciOnsNotificationTopic>;
  readonly alarms = new Map<string, InstanceType<typeof OciMonitoringAlarm>>();

  constructor(scope: Construct, id: string, props: OciMonitoringProps) {
    super(scope, id);
    const compartment_id = props.compartmentId;
    const topic = new OciOnsNotificationTopic(this, 'topic', {
      compartment_id,
      name: `${props.prefix}-alerts`,
      description: 'Data sync alerts',
    });
    new OciOnsSubscription(this, 'email', {
      compartment_id,
      topic_id: topic.id,
      protocol: 'EMAIL',
      endpoint: props.alertEmail,
    });
    this.topic = topic;
    this.topicId = topic.id;
    new OciIdentityPolicy(this, 'publish-metrics', {
      compartment_id,
      name: `${props.prefix}-publish-metrics`,
      description: 'The runtime and n8n publish their metrics to the data_sync namespace only',
      statements: props.publisherDynamicGroups.map(
        (group) =>
          `Allow dynamic-group ${group} to use metrics in compartment id ${compartment_id} where target.metrics.namespace = '${OCI_METRICS_NAMESPACE}'`,
      ),
    });
    for (const rule of props.rules ?? ALERT_RULES) {
      for (const spec of ociAlarmSpecs(rule, props.integrations)) {
        this.alarms.set(
          spec.name,
          new OciMonitoringAlarm(this, spec.name, {
            compartment_id,
            metric_compartment_id: compartment_id,
            display_name: `${props.prefix}-${spec.name}`,
            namespace: OCI_METRICS_NAMESPACE,
            query: spec.query,
            severity: rule.severity === 'critical' ? 'CRITICAL' : 'WARNING',
            is_enabled: true,
            destinations: [topic.id],
            pending_duration: spec.pendingDuration,
            resolution: '1m',
            body: `${rule.summary}. ${rule.description} Runbook: ${rule.runbook}`,
          }),
        );
      }
    }
  }
}
