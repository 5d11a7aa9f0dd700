import { LoggingProjectBucketConfig } from '@cdktf/provider-google/lib/logging-project-bucket-config';
import { LoggingProjectSink } from '@cdktf/provider-google/lib/logging-project-sink';
import { MonitoringAlertPolicy } from '@cdktf/provider-google/lib/monitoring-alert-policy';
import { MonitoringDashboard } from '@cdktf/provider-google/lib/monitoring-dashboard';
import { MonitoringNotificationChannel } from '@cdktf/provider-google/lib/monitoring-notification-channel';
import { Construct } from 'constructs';
import { ALERT_RULES, DASHBOARD_PANELS, type AlertRule, type DashboardPanel } from '@data-sync/monitoring/alerts';
import { RULE_GROUP } from '@data-sync/monitoring/prometheus';

export interface GcpMonitoringProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** Project id (log bucket and sink). */
  readonly project: string;
  /** Address that receives alert notifications. */
  readonly alertEmail: string;
  /** Days logs are kept in the service's log bucket. */
  readonly logRetentionDays: number;
  /** Cloud Run services whose logs go to the log bucket. */
  readonly services: readonly string[];
  /** Pub/Sub subscriptions watched natively: the dead-letter inbox and the push subscription. */
  readonly subscriptions: { readonly deadLetters: string; readonly push: string };
  /** Age of the oldest unacknowledged job that raises an alert, in seconds (default 900). */
  readonly oldestJobAgeSeconds?: number;
  /** Alert rules (default ALERT_RULES) and dashboard panels (default DASHBOARD_PANELS). */
  readonly rules?: readonly AlertRule[];
  readonly panels?: readonly DashboardPanel[];
}

/** Cloud Monitoring dashboard JSON: one PromQL chart per panel, two per row. */
export function gcpDashboardJson(title: string, panels: readonly DashboardPanel[]): string {
  return JSON.stringify({
    displayName: title,
    mosaicLayout: {
      columns: 48,
      tiles: panels.map((panel, i) => ({
        xPos: (i % 2) * 24,
        yPos: Math.floor(i / 2) * 16,
        width: 24,
        height: 16,
        widget: {
          title: panel.title,
          xyChart: {
            dataSets: [
              {
                timeSeriesQuery: {
                  prometheusQuery: panel.expr,
                  unitOverride: panel.unit === 'seconds' ? 's' : panel.unit === 'percent' ? '10^2.%' : '1',
                },
                plotType: 'LINE',
              },
            ],
            yAxis: { scale: 'LINEAR' },
          },
        },
      })),
    },
  });
}

/**
 * Every ALERT_RULES entry as a Cloud Monitoring alert policy with a PromQL condition (the runtime's
 * metrics reach Managed Service for Prometheus through the runtime's GMP sidecar), native Pub/Sub
 * alerts for dead letters and the oldest unacknowledged job, an email notification channel, the
 * Key Metrics dashboard, and a log bucket with the environment's retention for the services' logs.
 */
export class GcpMonitoring extends Construct {
  readonly channel: MonitoringNotificationChannel;
  /** By alert name (rules, then `DeadLettersPresent` and `OldestJobAge`). */
  readonly policies: Readonly<Record<string, MonitoringAlertPolicy>>;
  readonly dashboard: MonitoringDashboard;
  readonly logBucket: LoggingProjectBucketConfig;

  constructor(scope: Construct, id: string, props: GcpMonitoringProps) {
    super(scope, id);
    this.channel = new MonitoringNotificationChannel(this, 'email', {
      displayName: `${props.prefix} alerts`,
      type: 'email',
      labels: { email_address: props.alertEmail },
    });
    const policies: Record<string, MonitoringAlertPolicy> = {};
    for (const rule of props.rules ?? ALERT_RULES) {
      policies[rule.name] = new MonitoringAlertPolicy(this, `alert-${rule.name}`, {
        displayName: `${props.prefix} ${rule.name}`,
        combiner: 'OR',
        severity: rule.severity === 'critical' ? 'CRITICAL' : 'WARNING',
        notificationChannels: [this.channel.id],
        conditions: [
          {
            displayName: rule.summary,
            conditionPrometheusQueryLanguage: {
              query: rule.expr,
              duration: `${rule.forSeconds}s`,
              evaluationInterval: '60s',
              alertRule: rule.name,
              ruleGroup: RULE_GROUP,
              labels: { severity: rule.severity },
              // The series exist only once the runtime has exported them; creation must not wait for that.
              disableMetricValidation: true,
            },
          },
        ],
        documentation: {
          subject: `${rule.name}: ${rule.summary}`,
          content: `${rule.description}\n\nRunbook: ${rule.runbook}`,
          mimeType: 'text/markdown',
        },
        alertStrategy: { autoClose: '86400s' },
        userLabels: { alert: rule.name.toLowerCase(), severity: rule.severity },
      });
    }
    const pubsub = (
      name: string,
      title: string,
      subscription: string,
      metric: string,
      threshold: number,
      description: string,
    ) => {
      policies[name] = new MonitoringAlertPolicy(this, `alert-${name}`, {
        displayName: `${props.prefix} ${name}`,
        combiner: 'OR',
        severity: 'WARNING',
        notificationChannels: [this.channel.id],
        conditions: [
          {
            displayName: title,
            conditionThreshold: {
              filter: `resource.type = "pubsub_subscription" AND resource.labels.subscription_id = "${subscription}" AND metric.type = "pubsub.googleapis.com/subscription/${metric}"`,
              comparison: 'COMPARISON_GT',
              thresholdValue: threshold,
              duration: '300s',
              aggregations: [{ alignmentPeriod: '60s', perSeriesAligner: 'ALIGN_MAX' }],
            },
          },
        ],
        documentation: {
          subject: `${name}: ${title}`,
          content: `${description}\n\nRunbook: docs/runbooks/dead-letter-replay.md`,
          mimeType: 'text/markdown',
        },
        alertStrategy: { autoClose: '86400s' },
      });
    };
    pubsub(
      'DeadLettersPresent',
      'Dead-letter subscription holds jobs',
      props.subscriptions.deadLetters,
      'num_undelivered_messages',
      0,
      'Jobs exhausted their deliveries and wait on the dead-letter subscription.',
    );
    pubsub(
      'OldestJobAge',
      'Oldest unacknowledged job is too old',
      props.subscriptions.push,
      'oldest_unacked_message_age',
      props.oldestJobAgeSeconds ?? 900,
      'The push subscription is not keeping up: the oldest job waits too long.',
    );
    this.policies = policies;
    this.dashboard = new MonitoringDashboard(this, 'dashboard', {
      dashboardJson: gcpDashboardJson(`${props.prefix} Key Metrics`, props.panels ?? DASHBOARD_PANELS),
    });
    this.logBucket = new LoggingProjectBucketConfig(this, 'logs', {
      project: props.project,
      location: 'global',
      bucketId: `${props.prefix}-logs`,
      retentionDays: props.logRetentionDays,
      description: `Logs of ${props.services.join(', ')}`,
    });
    new LoggingProjectSink(this, 'log-sink', {
      name: `${props.prefix}-services`,
      destination: `logging.googleapis.com/${this.logBucket.id}`,
      filter: `resource.type = "cloud_run_revision" AND resource.labels.service_name = (${props.services.map((s) => `"${s}"`).join(' OR ')})`,
      uniqueWriterIdentity: true,
    });
  }
}
