/**
 * The n8n metrics the catalog uses, named as n8n 2.41.1 exposes them on /metrics with N8N_METRICS=true
 * (prefix `n8n_`; the queue gauges and counters with N8N_METRICS_INCLUDE_QUEUE_METRICS=true, on main
 * in queue mode). Each cloud scrapes n8n's main process into the same store as the runtime's metrics.
 */
import type { MetricDefinition } from './metrics';

export const N8N_METRICS = {
  queueJobsWaiting: {
    name: 'n8n_scaling_mode_queue_jobs_waiting',
    type: 'gauge',
    help: 'Executions waiting in the queue for a worker (queue mode)',
    labels: [],
  },
  queueJobsActive: {
    name: 'n8n_scaling_mode_queue_jobs_active',
    type: 'gauge',
    help: 'Executions a worker is running (queue mode)',
    labels: [],
  },
  queueJobsFailed: {
    name: 'n8n_scaling_mode_queue_jobs_failed',
    type: 'counter',
    help: 'Queue jobs that failed (queue mode)',
    labels: [],
  },
} as const satisfies Record<string, MetricDefinition>;

export const N8N_METRIC_LIST: readonly MetricDefinition[] = Object.values(N8N_METRICS);
