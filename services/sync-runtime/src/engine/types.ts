import type { Queryable } from '../../../../pipelines/db';
import type { VendorRecord } from '../../../../integrations/connector';
import type { MetricKey } from '../../../../monitoring/metrics';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed';
export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'succeeded', 'failed'];

export interface RunRecord {
  readonly id: string;
  readonly integration: string;
  /** queued, running, succeeded, or failed (a failed run whose job is retried becomes running again). */
  readonly status: RunStatus;
  /** A full sync: cursors were cleared when the run started. */
  readonly full: boolean;
  /** Who triggered it: a token's name, 'scheduler', 'webhook'. */
  readonly actor: string;
  readonly jobId: string | null;
  /** Deliveries of its job so far. */
  readonly attempts: number;
  readonly pages: number;
  readonly received: number;
  readonly accepted: number;
  readonly quarantined: number;
  readonly duplicates: number;
  readonly deleted: number;
  readonly error: string | null;
  readonly queuedAt: Date;
  readonly startedAt: Date | null;
  readonly finishedAt: Date | null;
}

/** A configured integration, as the engine needs it. */
export interface IntegrationInfo {
  readonly name: string;
  /** Connector system (registry key). */
  readonly system: string;
  /** Connector config, validated by the connector's configSchema before use. */
  readonly config: unknown;
  /** Objects synced, in order. */
  readonly objects: readonly string[];
}

export interface IntegrationSource {
  get(name: string): Promise<IntegrationInfo | null>;
  list(): Promise<IntegrationInfo[]>;
}

export interface SinkResult {
  readonly received: number;
  readonly accepted: number;
  readonly quarantined: number;
  readonly duplicates: number;
}

/** Where pulled records go, inside the page's transaction. Must be idempotent: a page can be delivered twice. */
export interface RecordSink {
  upsert(tx: Queryable, run: { readonly integration: string; readonly object: string; readonly runId: string }, records: readonly VendorRecord[], deletedIds: readonly string[]): Promise<SinkResult>;
  /** Removes everything synced for an integration (reset with purge); returns how many records. */
  purge?(tx: Queryable, integration: string): Promise<number>;
}

type Labels = Readonly<Record<string, string>>;

/**
 * The metrics the engine and worker emit, by their key in monitoring/metrics.ts (METRICS); the
 * runtime backs this with its prom-client registry.
 */
export interface EngineMetrics {
  inc(metric: Extract<MetricKey, 'syncRuns' | 'recordsProcessed' | 'duplicates' | 'apiRequests' | 'apiErrors'>, labels: Labels, value?: number): void;
  observe(metric: Extract<MetricKey, 'syncDuration' | 'apiLatency'>, labels: Labels, value: number): void;
  set(metric: Extract<MetricKey, 'lastSuccess' | 'apiRequestsRemaining' | 'queueDepth' | 'deadLetterDepth'>, labels: Labels, value: number): void;
}

export class UnknownIntegrationError extends Error {
  constructor(readonly integration: string) {
    super(`unknown integration ${JSON.stringify(integration)}`);
    this.name = 'UnknownIntegrationError';
  }
}

export interface ProbeResult {
  readonly ok: boolean;
  readonly runId: string;
  readonly timings: { readonly enqueueMs: number; readonly pickupMs: number; readonly processMs: number; readonly totalMs: number };
  /** Why it failed, when ok is false. */
  readonly error?: string;
}

export interface IntegrationStatus {
  readonly integration: string;
  readonly lastRun: RunRecord | null;
  /** Stored cursor per configured object (null: next run of that object is a full pull). */
  readonly cursors: Record<string, string | null>;
  readonly running: boolean;
}
