/**
 * The runtime's metrics, named once: the runtime registers exactly these with prom-client, and the
 * alert rules and dashboards of every cloud refer to them by these names.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDefinition {
  /** Prometheus name, `data_sync_` prefixed. */
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  /** Label names, in order. */
  readonly labels: readonly string[];
  /** Histogram buckets, in the metric's unit (seconds for durations). */
  readonly buckets?: readonly number[];
}

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const METRICS = {
  syncRuns: {
    name: 'data_sync_sync_runs_total',
    type: 'counter',
    help: 'Sync runs finished, by integration and status (succeeded, failed)',
    labels: ['integration', 'status'],
  },
  syncDuration: {
    name: 'data_sync_sync_duration_seconds',
    type: 'histogram',
    help: 'Duration of a sync run',
    labels: ['integration'],
    buckets: DURATION_BUCKETS,
  },
  syncInterval: {
    name: 'data_sync_sync_interval_seconds',
    type: 'gauge',
    help: "An integration's configured sync interval",
    labels: ['integration'],
  },
  lastSuccess: {
    name: 'data_sync_last_success_timestamp_seconds',
    type: 'gauge',
    help: 'Unix time of the last successful sync run',
    labels: ['integration'],
  },
  recordsProcessed: {
    name: 'data_sync_records_processed_total',
    type: 'counter',
    help: 'Records through the pipeline, by outcome (accepted, quarantined, duplicate)',
    labels: ['integration', 'outcome'],
  },
  validationFailures: {
    name: 'data_sync_validation_failures_total',
    type: 'counter',
    help: 'Field validation failures, by rule',
    labels: ['integration', 'rule'],
  },
  duplicates: {
    name: 'data_sync_duplicates_total',
    type: 'counter',
    help: 'Duplicate records removed before upsert',
    labels: ['integration'],
  },
  valuesDropped: {
    name: 'data_sync_values_dropped_total',
    type: 'counter',
    help: 'Malformed optional values removed from kept records by a validation rule whose action is drop',
    labels: ['integration'],
  },
  recordsPushed: {
    name: 'data_sync_records_pushed_total',
    type: 'counter',
    help: 'Internal-model records pushed to a destination, by outcome (upserted, failed, skipped)',
    labels: ['integration', 'outcome'],
  },
  apiLatency: {
    name: 'data_sync_external_api_latency_seconds',
    type: 'histogram',
    help: 'Latency of calls to external APIs',
    labels: ['integration'],
    buckets: LATENCY_BUCKETS,
  },
  apiErrors: {
    name: 'data_sync_external_api_errors_total',
    type: 'counter',
    help: 'Failed calls to external APIs, by status class or code',
    labels: ['integration', 'code'],
  },
  apiRequests: {
    name: 'data_sync_external_api_requests_total',
    type: 'counter',
    help: 'Calls to external APIs',
    labels: ['integration'],
  },
  apiRequestsRemaining: {
    name: 'data_sync_api_requests_remaining',
    type: 'gauge',
    help: "Requests left in the vendor's current rate-limit window",
    labels: ['integration'],
  },
  queueDepth: {
    name: 'data_sync_queue_depth',
    type: 'gauge',
    help: 'Jobs waiting or in flight in the sync queue',
    labels: ['state'],
  },
  deadLetterDepth: {
    name: 'data_sync_dead_letter_depth',
    type: 'gauge',
    help: 'Jobs in the dead-letter queue',
    labels: [],
  },
  webhookRequests: {
    name: 'data_sync_webhook_requests_total',
    type: 'counter',
    help: 'Inbound webhook requests, by integration and HTTP status code',
    labels: ['integration', 'code'],
  },
  workflowExecutionDuration: {
    name: 'data_sync_workflow_execution_seconds',
    type: 'histogram',
    help: 'n8n workflow execution time',
    labels: ['workflow'],
    buckets: DURATION_BUCKETS,
  },
  up: { name: 'data_sync_up', type: 'gauge', help: '1 while the runtime process serves requests', labels: ['role'] },
  n8nUp: { name: 'data_sync_n8n_up', type: 'gauge', help: '1 when the n8n API answers, 0 otherwise', labels: [] },
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;
export const METRIC_LIST: readonly MetricDefinition[] = Object.values(METRICS);

/**
 * The exposed series names of `metrics`: a histogram's `_bucket`, `_sum` and `_count`, or without its buckets
 * where nothing reads them (OCI's alarms, like AWS's, use only `_sum` and `_count`; PromQL's histogram_quantile
 * reads the buckets). @default buckets included
 */
export const catalogSeries = (metrics: readonly MetricDefinition[], { buckets = true } = {}): Set<string> =>
  new Set(
    metrics.flatMap((m) =>
      m.type === 'histogram' ? [...(buckets ? ['_bucket'] : []), '_sum', '_count'].map((s) => m.name + s) : [m.name],
    ),
  );
