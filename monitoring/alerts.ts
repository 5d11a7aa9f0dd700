/**
 * Alert rules as data: the Prometheus rule file and every cloud's alarms are rendered from this one
 * catalog, so a rule and the metric it watches cannot drift apart.
 */
import { METRICS } from './metrics';
import { N8N_METRICS } from './n8n-metrics';

export type Severity = 'warning' | 'critical';
export type Comparison = '>' | '<' | '>=' | '<=' | '==';

/** What a rule measures, in a form each cloud's alarm renderer can translate. */
export type AlertCondition =
  /** sum(rate(numerator[window])) / sum(rate(denominator[window])) compared with threshold. */
  | {
      readonly kind: 'ratio';
      readonly metric: string;
      readonly numeratorFilter: Readonly<Record<string, string>>;
      readonly windowSeconds: number;
      readonly op: Comparison;
      readonly threshold: number;
    }
  /** aggregate(metric) by labels compared with threshold. */
  | {
      readonly kind: 'threshold';
      readonly metric: string;
      readonly aggregate: 'min' | 'max' | 'sum';
      readonly by: readonly string[];
      readonly op: Comparison;
      readonly threshold: number;
    }
  /** now - metric (a unix timestamp) compared with factor x another per-label metric. */
  | { readonly kind: 'staleness'; readonly metric: string; readonly relativeTo: string; readonly factor: number };

export interface AlertRule {
  /** Alert name, as the design document spells it where it names one. */
  readonly name: string;
  readonly severity: Severity;
  /** How long the condition must hold before the alert fires. */
  readonly forSeconds: number;
  readonly summary: string;
  readonly description: string;
  /** Runbook under docs/runbooks/. */
  readonly runbook: string;
  readonly condition: AlertCondition;
  /** The same condition in PromQL, for the Prometheus rule file. */
  readonly expr: string;
}

const m = METRICS;

export const ALERT_RULES: readonly AlertRule[] = [
  {
    name: 'HighSyncFailureRate',
    severity: 'warning',
    forSeconds: 300,
    summary: 'High data sync failure rate',
    description: 'More than 10% of sync runs failed over the last 5 minutes.',
    runbook: 'docs/runbooks/sync-failures.md',
    condition: {
      kind: 'ratio',
      metric: m.syncRuns.name,
      numeratorFilter: { status: 'failed' },
      windowSeconds: 300,
      op: '>',
      threshold: 0.1,
    },
    expr: `(sum(rate(${m.syncRuns.name}{status="failed"}[5m])) / sum(rate(${m.syncRuns.name}[5m]))) > 0.1`,
  },
  {
    name: 'APIRateLimitApproaching',
    severity: 'critical',
    forSeconds: 60,
    summary: 'External API rate limit approaching',
    description: 'Fewer than 100 requests remain in an external API rate-limit window.',
    runbook: 'docs/runbooks/rate-limits.md',
    condition: {
      kind: 'threshold',
      metric: m.apiRequestsRemaining.name,
      aggregate: 'min',
      by: ['integration'],
      op: '<',
      threshold: 100,
    },
    expr: `min by (integration) (${m.apiRequestsRemaining.name}) < 100`,
  },
  {
    name: 'DeadLetterQueueNotEmpty',
    severity: 'warning',
    forSeconds: 300,
    summary: 'Sync jobs are in the dead-letter queue',
    description: 'Jobs exhausted their retries and wait in the dead-letter queue for inspection and redrive.',
    runbook: 'docs/runbooks/dead-letter-replay.md',
    condition: { kind: 'threshold', metric: m.deadLetterDepth.name, aggregate: 'max', by: [], op: '>', threshold: 0 },
    expr: `max(${m.deadLetterDepth.name}) > 0`,
  },
  {
    name: 'SyncLagging',
    severity: 'warning',
    forSeconds: 300,
    summary: 'An integration has not synced for twice its interval',
    description: 'The last successful sync of an integration is older than twice its sync_interval.',
    runbook: 'docs/runbooks/sync-failures.md',
    condition: { kind: 'staleness', metric: m.lastSuccess.name, relativeTo: m.syncInterval.name, factor: 2 },
    // max by (integration): every runtime replica exports both gauges, and one-to-one matching
    // across replicas would fail as many-to-many.
    expr: `(time() - max by (integration) (${m.lastSuccess.name})) > on (integration) (2 * max by (integration) (${m.syncInterval.name}))`,
  },
  {
    name: 'WebhookErrorRate',
    severity: 'warning',
    forSeconds: 300,
    summary: 'Webhook endpoint is failing',
    description: 'More than 5% of inbound webhook requests answered 5xx over the last 5 minutes.',
    runbook: 'docs/runbooks/sync-failures.md',
    condition: {
      kind: 'ratio',
      metric: m.webhookRequests.name,
      numeratorFilter: { code: '5..' },
      windowSeconds: 300,
      op: '>',
      threshold: 0.05,
    },
    expr: `(sum(rate(${m.webhookRequests.name}{code=~"5.."}[5m])) / sum(rate(${m.webhookRequests.name}[5m]))) > 0.05`,
  },
  {
    name: 'N8nDown',
    severity: 'critical',
    forSeconds: 120,
    summary: 'n8n workflow engine is down',
    description: 'The runtime cannot reach the n8n API.',
    runbook: 'docs/runbooks/sync-failures.md',
    condition: { kind: 'threshold', metric: m.n8nUp.name, aggregate: 'max', by: [], op: '<', threshold: 1 },
    expr: `max(${m.n8nUp.name}) < 1`,
  },
  {
    name: 'N8nQueueBacklog',
    severity: 'warning',
    forSeconds: 600,
    summary: 'n8n executions are waiting for workers',
    description:
      'More than 50 n8n executions have waited in the queue for 10 minutes: the workers are down or too few.',
    runbook: 'docs/runbooks/sync-failures.md',
    condition: {
      kind: 'threshold',
      metric: N8N_METRICS.queueJobsWaiting.name,
      aggregate: 'max',
      by: [],
      op: '>',
      threshold: 50,
    },
    expr: `max(${N8N_METRICS.queueJobsWaiting.name}) > 50`,
  },
  {
    name: 'DataSyncRuntimeDown',
    severity: 'critical',
    forSeconds: 60,
    summary: 'The data sync runtime is down',
    description: 'No runtime instance reports itself up.',
    runbook: 'docs/runbooks/blue-green.md',
    condition: { kind: 'threshold', metric: m.up.name, aggregate: 'sum', by: [], op: '<', threshold: 1 },
    expr: `(sum(${m.up.name}) < 1) or absent(${m.up.name})`,
  },
];

/** Panels of the "Key Metrics" dashboard, rendered to Grafana and to each cloud's dashboard. */
export interface DashboardPanel {
  readonly title: string;
  /** PromQL for Grafana; the metric it reads is `metric`, for cloud renderers. */
  readonly expr: string;
  readonly metric: string;
  readonly unit: 'percent' | 'seconds' | 'ops' | 'count';
}

export const DASHBOARD_PANELS: readonly DashboardPanel[] = [
  {
    title: 'Sync success rate',
    metric: m.syncRuns.name,
    unit: 'percent',
    expr: `sum(rate(${m.syncRuns.name}{status="succeeded"}[5m])) / sum(rate(${m.syncRuns.name}[5m]))`,
  },
  {
    title: 'Sync duration p95',
    metric: m.syncDuration.name,
    unit: 'seconds',
    expr: `histogram_quantile(0.95, sum by (le, integration) (rate(${m.syncDuration.name}_bucket[5m])))`,
  },
  {
    title: 'Records throughput',
    metric: m.recordsProcessed.name,
    unit: 'ops',
    expr: `sum by (outcome) (rate(${m.recordsProcessed.name}[5m]))`,
  },
  {
    title: 'External API latency p95',
    metric: m.apiLatency.name,
    unit: 'seconds',
    expr: `histogram_quantile(0.95, sum by (le, integration) (rate(${m.apiLatency.name}_bucket[5m])))`,
  },
  {
    title: 'External API errors',
    metric: m.apiErrors.name,
    unit: 'ops',
    expr: `sum by (integration, code) (rate(${m.apiErrors.name}[5m]))`,
  },
  {
    title: 'API quota remaining',
    metric: m.apiRequestsRemaining.name,
    unit: 'count',
    expr: `min by (integration) (${m.apiRequestsRemaining.name})`,
  },
  {
    title: 'Validation failures',
    metric: m.validationFailures.name,
    unit: 'ops',
    expr: `sum by (rule) (rate(${m.validationFailures.name}[5m]))`,
  },
  {
    title: 'Duplicate records',
    metric: m.duplicates.name,
    unit: 'ops',
    expr: `sum by (integration) (rate(${m.duplicates.name}[5m]))`,
  },
  { title: 'Queue depth', metric: m.queueDepth.name, unit: 'count', expr: `sum by (state) (${m.queueDepth.name})` },
  { title: 'Dead letters', metric: m.deadLetterDepth.name, unit: 'count', expr: `max(${m.deadLetterDepth.name})` },
  {
    title: 'Workflow execution time p95',
    metric: m.workflowExecutionDuration.name,
    unit: 'seconds',
    expr: `histogram_quantile(0.95, sum by (le, workflow) (rate(${m.workflowExecutionDuration.name}_bucket[5m])))`,
  },
];
