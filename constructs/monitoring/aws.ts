import { Construct } from 'constructs';
import { CloudwatchDashboard } from '@cdktf/provider-aws/lib/cloudwatch-dashboard';
import {
  CloudwatchMetricAlarm,
  type CloudwatchMetricAlarmConfig,
  type CloudwatchMetricAlarmMetricQuery,
} from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import type { IntegrationSettings } from '@data-sync/config';
import {
  ALERT_RULES,
  type AlertRule,
  type Comparison,
  DASHBOARD_PANELS,
  type DashboardPanel,
} from '@data-sync/monitoring/alerts';
import { METRICS, METRIC_LIST } from '@data-sync/monitoring/metrics';
import { N8N_METRIC_LIST } from '@data-sync/monitoring/n8n-metrics';

/** CloudWatch namespace the runtime's Prometheus metrics land in (through the CloudWatch agent sidecar). */
export const METRICS_NAMESPACE = 'DataSync';
/** Prometheus job name of the runtime scrape; the agent only converts series of this job. */
export const SCRAPE_JOB = 'data-sync';
/** Label added to every scraped series: the service name, the dimension every alarm filters on. */
export const SERVICE_LABEL = 'service';

/** Synthetic label set to `match` on series that satisfy a ratio rule's numerator filter (CloudWatch has no regex dimensions). */
export const numeratorLabel = (rule: AlertRule) =>
  `alarm_${rule.name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()}`;

const COMPARISON: Record<Comparison, string | undefined> = {
  '>': 'GreaterThanThreshold',
  '>=': 'GreaterThanOrEqualToThreshold',
  '<': 'LessThanThreshold',
  '<=': 'LessThanOrEqualToThreshold',
  '==': undefined,
};

function comparison(rule: AlertRule, op: Comparison): string {
  const c = COMPARISON[op];
  if (!c) throw new Error(`Alert rule ${rule.name}: CloudWatch alarms cannot compare with "${op}"`);
  return c;
}

/**
 * The Prometheus scrape configuration of the CloudWatch agent sidecar (YAML is a superset of JSON):
 * it scrapes the runtime's /metrics on localhost, labels every series with the service, and marks
 * the numerator series of every ratio alert rule with that rule's synthetic label.
 */
export function prometheusScrapeConfig(
  serviceName: string,
  port: number,
  rules: readonly AlertRule[] = ALERT_RULES,
): string {
  const relabels = rules.flatMap((rule) => {
    if (rule.condition.kind !== 'ratio') return [];
    const labels = Object.keys(rule.condition.numeratorFilter);
    return [
      {
        source_labels: ['__name__', ...labels],
        separator: ';',
        regex: [
          rule.condition.metric,
          ...labels.map((l) => (rule.condition as { numeratorFilter: Record<string, string> }).numeratorFilter[l]),
        ].join(';'),
        target_label: numeratorLabel(rule),
        replacement: 'match',
        action: 'replace',
      },
    ];
  });
  return JSON.stringify({
    global: { scrape_interval: '30s', scrape_timeout: '10s' },
    scrape_configs: [
      {
        job_name: SCRAPE_JOB,
        metrics_path: '/metrics',
        static_configs: [{ targets: [`localhost:${port}`], labels: { [SERVICE_LABEL]: serviceName } }],
        metric_relabel_configs: relabels,
      },
    ],
  });
}

/**
 * The CloudWatch agent configuration: Prometheus series of the runtime job become EMF metrics in
 * namespace DataSync, with dimension sets [service] and [service, <label>] for each catalog label,
 * plus [service, <rule label>] for each ratio rule's numerator.
 */
export function cloudwatchAgentConfig(logGroupName: string, rules: readonly AlertRule[] = ALERT_RULES): string {
  const selector = (name: string, histogram: boolean) => (histogram ? `^${name}(_sum|_count)$` : `^${name}$`);
  const declarations = [
    // n8n's metrics too: its main task runs the same agent (constructs/n8n/aws.ts).
    ...[...METRIC_LIST, ...N8N_METRIC_LIST].map((metric) => ({
      source_labels: ['job'],
      label_matcher: `^${SCRAPE_JOB}$`,
      dimensions: [[SERVICE_LABEL], ...metric.labels.map((label) => [SERVICE_LABEL, label])],
      metric_selectors: [selector(metric.name, metric.type === 'histogram')],
    })),
    ...rules.flatMap((rule) =>
      rule.condition.kind === 'ratio'
        ? [
            {
              source_labels: [numeratorLabel(rule)],
              label_matcher: '^match$',
              dimensions: [[SERVICE_LABEL, numeratorLabel(rule)]],
              metric_selectors: [selector(rule.condition.metric, false)],
            },
          ]
        : [],
    ),
  ];
  return JSON.stringify({
    agent: { debug: false },
    logs: {
      metrics_collected: {
        prometheus: {
          prometheus_config_path: 'env:PROMETHEUS_CONFIG_CONTENT',
          log_group_name: logGroupName,
          emf_processor: {
            metric_namespace: METRICS_NAMESPACE,
            metric_declaration_dedup: true,
            metric_declaration: declarations,
          },
        },
      },
      force_flush_interval: 5,
    },
  });
}

export interface AwsMonitoringProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** Service name: the `service` dimension of the runtime's metrics. */
  readonly serviceName: string;
  /** KMS key ARN of the alert topic. */
  readonly kmsKeyArn: string;
  /** Email subscribed to the alert topic (confirmed by the recipient). */
  readonly alertEmail: string;
  /** Enabled integrations: staleness rules get one alarm each. */
  readonly integrations: readonly IntegrationSettings[];
  /** Sync queue name (oldest-message-age alarm). */
  readonly queueName: string;
  /** Dead-letter queue name (dead letters are read from SQS, not from the runtime). */
  readonly deadLetterQueueName: string;
  /** Oldest-message age that raises an alarm, seconds; @default 1800 */
  readonly maxMessageAgeSeconds?: number;
  /** Rules to render; @default ALERT_RULES */
  readonly rules?: readonly AlertRule[];
  /** Panels to render; @default DASHBOARD_PANELS */
  readonly panels?: readonly DashboardPanel[];
  /** Region shown by the dashboard widgets. */
  readonly region: string;
}

type AlarmSpec = Omit<CloudwatchMetricAlarmConfig, 'alarmActions' | 'okActions' | 'alarmName'> & {
  readonly suffix?: string;
};

const periods = (forSeconds: number, period: number) => Math.max(1, Math.ceil(forSeconds / period));

/** Monitoring capability on AWS: SNS alert topic, an alarm per alert rule (plus SQS alarms), and the key-metrics dashboard. */
export class AwsMonitoring extends Construct {
  readonly topic: SnsTopic;
  readonly alarms = new Map<string, CloudwatchMetricAlarm>();
  readonly dashboard: CloudwatchDashboard;

  constructor(scope: Construct, id: string, props: AwsMonitoringProps) {
    super(scope, id);
    this.topic = new SnsTopic(this, 'alerts', { name: `${props.prefix}-alerts`, kmsMasterKeyId: props.kmsKeyArn });
    new SnsTopicSubscription(this, 'email', {
      topicArn: this.topic.arn,
      protocol: 'email',
      endpoint: props.alertEmail,
    });
    const service = { [SERVICE_LABEL]: props.serviceName };
    const add = (name: string, spec: AlarmSpec) => {
      const { suffix, ...config } = spec;
      const key = suffix ? `${name}-${suffix}` : name;
      this.alarms.set(
        key,
        new CloudwatchMetricAlarm(this, key, {
          ...config,
          alarmName: `${props.prefix}-${key}`,
          alarmActions: [this.topic.arn],
          okActions: [this.topic.arn],
        }),
      );
    };
    for (const rule of props.rules ?? ALERT_RULES) {
      for (const spec of this.render(rule, props, service)) add(rule.name, spec);
    }
    add('QueueOldestMessageAge', {
      alarmDescription: 'The oldest sync job has waited too long: workers are not keeping up or are failing.',
      namespace: 'AWS/SQS',
      metricName: 'ApproximateAgeOfOldestMessage',
      dimensions: { QueueName: props.queueName },
      statistic: 'Maximum',
      period: 60,
      evaluationPeriods: 5,
      threshold: props.maxMessageAgeSeconds ?? 1800,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
    });
    this.dashboard = new CloudwatchDashboard(this, 'dashboard', {
      dashboardName: `${props.prefix}-key-metrics`,
      dashboardBody: this.dashboardBody(props),
    });
  }

  private render(rule: AlertRule, props: AwsMonitoringProps, service: Record<string, string>): AlarmSpec[] {
    const c = rule.condition;
    const common = {
      alarmDescription: `${rule.summary}. ${rule.description} Severity ${rule.severity}. Runbook: ${rule.runbook}`,
      tags: { severity: rule.severity },
    };
    // Dead letters are counted by SQS itself; the runtime's gauge would only see them while it runs.
    if (c.metric === METRICS.deadLetterDepth.name && c.kind === 'threshold') {
      return [
        {
          ...common,
          namespace: 'AWS/SQS',
          metricName: 'ApproximateNumberOfMessagesVisible',
          dimensions: { QueueName: props.deadLetterQueueName },
          statistic: 'Maximum',
          period: 60,
          evaluationPeriods: periods(rule.forSeconds, 60),
          threshold: c.threshold,
          comparisonOperator: comparison(rule, c.op),
          treatMissingData: 'notBreaching',
        },
      ];
    }
    if (c.kind === 'ratio') {
      const period = c.windowSeconds;
      const query = (id: string, dimensions: Record<string, string>): CloudwatchMetricAlarmMetricQuery => ({
        id,
        returnData: false,
        metric: { namespace: METRICS_NAMESPACE, metricName: c.metric, dimensions, stat: 'Sum', period },
      });
      return [
        {
          ...common,
          metricQuery: [
            query('matching', { ...service, [numeratorLabel(rule)]: 'match' }),
            query('total', service),
            { id: 'ratio', expression: 'FILL(matching, 0) / total', label: `${rule.name} ratio`, returnData: true },
          ],
          evaluationPeriods: periods(rule.forSeconds, period),
          threshold: c.threshold,
          comparisonOperator: comparison(rule, c.op),
          treatMissingData: 'notBreaching',
        },
      ];
    }
    if (c.kind === 'threshold') {
      // min/max over every label value equals the PromQL `min by (...)`/`max by (...)` crossing the
      // threshold for at least one of them; a per-label sum has no such equivalent.
      if (c.aggregate === 'sum' && c.by.length > 0)
        throw new Error(
          `Alert rule ${rule.name}: sum by (${c.by.join(', ')}) has no single CloudWatch alarm equivalent`,
        );
      return [
        {
          ...common,
          namespace: METRICS_NAMESPACE,
          metricName: c.metric,
          dimensions: service,
          statistic: c.aggregate === 'min' ? 'Minimum' : c.aggregate === 'max' ? 'Maximum' : 'Sum',
          period: 60,
          evaluationPeriods: periods(rule.forSeconds, 60),
          threshold: c.threshold,
          comparisonOperator: comparison(rule, c.op),
          // A rule that also fires on absence (PromQL `absent(...)`) treats no data as breaching.
          treatMissingData: rule.expr.includes('absent(') ? 'breaching' : 'notBreaching',
        },
      ];
    }
    return props.integrations.map((integration) => ({
      ...common,
      suffix: integration.name,
      metricQuery: [
        {
          id: 'last',
          returnData: false,
          metric: {
            namespace: METRICS_NAMESPACE,
            metricName: c.metric,
            dimensions: { ...service, integration: integration.name },
            stat: 'Maximum',
            period: 60,
          },
        },
        {
          id: 'interval',
          returnData: false,
          metric: {
            namespace: METRICS_NAMESPACE,
            metricName: c.relativeTo,
            dimensions: { ...service, integration: integration.name },
            stat: 'Maximum',
            period: 60,
          },
        },
        {
          id: 'age',
          expression: '(EPOCH(last) - last) / interval',
          label: `${integration.name} age in intervals`,
          returnData: true,
        },
      ],
      evaluationPeriods: periods(rule.forSeconds, 60),
      threshold: c.factor,
      comparisonOperator: 'GreaterThanThreshold',
      treatMissingData: 'notBreaching',
    }));
  }

  private dashboardBody(props: AwsMonitoringProps): string {
    const service = [SERVICE_LABEL, props.serviceName];
    const widgets = (props.panels ?? DASHBOARD_PANELS).map((panel, i) => {
      const metric = METRIC_LIST.find((m) => m.name === panel.metric);
      if (!metric) throw new Error(`Dashboard panel "${panel.title}": metric ${panel.metric} is not in the catalog`);
      let metrics: unknown[];
      if (panel.unit === 'percent') {
        // The first equality matcher of the panel's PromQL selects the numerator, e.g. {status="succeeded"}.
        const matcher = /\{(\w+)="([^"]+)"\}/.exec(panel.expr);
        if (!matcher)
          throw new Error(`Dashboard panel "${panel.title}": a percent panel needs a {label="value"} numerator`);
        metrics = [
          [{ expression: '100 * FILL(part, 0) / whole', label: panel.title, id: 'pct' }],
          [
            METRICS_NAMESPACE,
            panel.metric,
            ...service,
            matcher[1],
            matcher[2],
            { id: 'part', stat: 'Sum', visible: false },
          ],
          [METRICS_NAMESPACE, panel.metric, ...service, { id: 'whole', stat: 'Sum', visible: false }],
        ];
      } else if (metric.type === 'histogram') {
        // The agent exports histograms as _sum and _count: the panel shows the mean.
        metrics = [
          [{ expression: 'total / count', label: `${panel.title} (mean)`, id: 'mean' }],
          [METRICS_NAMESPACE, `${panel.metric}_sum`, ...service, { id: 'total', stat: 'Sum', visible: false }],
          [METRICS_NAMESPACE, `${panel.metric}_count`, ...service, { id: 'count', stat: 'Sum', visible: false }],
        ];
      } else if (panel.unit === 'ops') {
        metrics = [
          [{ expression: 'events / PERIOD(events)', label: `${panel.title} per second`, id: 'rate' }],
          [METRICS_NAMESPACE, panel.metric, ...service, { id: 'events', stat: 'Sum', visible: false }],
        ];
      } else {
        metrics = [
          [
            METRICS_NAMESPACE,
            panel.metric,
            ...service,
            { stat: panel.metric === METRICS.apiRequestsRemaining.name ? 'Minimum' : 'Maximum' },
          ],
        ];
      }
      return {
        type: 'metric',
        x: (i % 2) * 12,
        y: Math.floor(i / 2) * 6,
        width: 12,
        height: 6,
        properties: { title: panel.title, region: props.region, view: 'timeSeries', period: 300, metrics },
      };
    });
    return JSON.stringify({ widgets });
  }
}
