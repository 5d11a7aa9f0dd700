import { Construct } from 'constructs';
import { type IntegrationSettings, intervalMinutes } from '@data-sync/config';
import { ALERT_RULES, type AlertRule } from '@data-sync/monitoring/alerts';
import { OciIdentityPolicy, OciMonitoringAlarm, OciOnsNotificationTopic, OciOnsSubscription } from '../generic/oci';

/** Custom metric namespace the runtime's metrics are published to (OCI reserves the `oci_` prefix). */
export const OCI_METRICS_NAMESPACE = 'data_sync';

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
  /** Dynamic group of the container instances, allowed to publish metrics to the namespace only. */
  readonly publisherDynamicGroup: string;
  /** Rules to render; default ALERT_RULES. */
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
      description: 'The runtime publishes its metrics to the data_sync namespace only',
      statements: [
        `Allow dynamic-group ${props.publisherDynamicGroup} to use metrics in compartment id ${compartment_id} where target.metrics.namespace = '${OCI_METRICS_NAMESPACE}'`,
      ],
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
