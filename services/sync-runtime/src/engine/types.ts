import type { Queryable } from '@data-sync/pipelines/db';
import type { VendorRecord } from '@data-sync/integrations/connector';
import type { MetricKey } from '@data-sync/monitoring/metrics';

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed';
export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'succeeded', 'failed'];

export type RunDirection = 'pull' | 'push';
export const RUN_DIRECTIONS: readonly RunDirection[] = ['pull', 'push'];

/** What one run did with one object: the pipeline's counts for a mapped object, the replica's otherwise. */
export interface RunObjectStats {
  /** The mapping that carried it (inbound for a pull, outbound for a push); null: raw replica only. */
  readonly mapping: string | null;
  readonly pages: number;
  readonly received: number;
  readonly accepted: number;
  readonly quarantined: number;
  readonly duplicates: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  /** Values removed by a validation rule whose action is `drop`. */
  readonly dropped: number;
  /** Push: records the vendor rejected. */
  readonly failed: number;
  readonly deleted: number;
}

export interface RunRecord {
  readonly id: string;
  readonly integration: string;
  /** pull: vendor into the internal model; push: the model's changes out to the vendor. */
  readonly direction: RunDirection;
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
  /** Contacts the pipeline inserted, updated or left unchanged (pull); records skipped as unchanged, echoes or opted out (push). */
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly dropped: number;
  readonly failed: number;
  /** Per object, filled by history() and status(). */
  readonly objects?: Readonly<Record<string, RunObjectStats>>;
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
  /** Objects the internal model's contact changes are pushed into (none: pull only). */
  readonly pushObjects?: readonly string[];
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
  upsert(
    tx: Queryable,
    run: { readonly integration: string; readonly object: string; readonly runId: string },
    records: readonly VendorRecord[],
    deletedIds: readonly string[],
  ): Promise<SinkResult>;
  /** Removes everything synced for an integration (reset with purge); returns how many records. */
  purge?(tx: Queryable, integration: string): Promise<number>;
}

type Labels = Readonly<Record<string, string>>;

/**
 * The metrics the engine and worker emit, by their key in monitoring/metrics.ts (METRICS); the
 * runtime backs this with its prom-client registry.
 */
export interface EngineMetrics {
  inc(
    metric: Extract<
      MetricKey,
      'syncRuns' | 'recordsProcessed' | 'duplicates' | 'valuesDropped' | 'recordsPushed' | 'apiRequests' | 'apiErrors'
    >,
    labels: Labels,
    value?: number,
  ): void;
  observe(metric: Extract<MetricKey, 'syncDuration' | 'apiLatency'>, labels: Labels, value: number): void;
  set(
    metric: Extract<MetricKey, 'lastSuccess' | 'apiRequestsRemaining' | 'queueDepth' | 'deadLetterDepth'>,
    labels: Labels,
    value: number,
  ): void;
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
  readonly timings: {
    readonly enqueueMs: number;
    readonly pickupMs: number;
    readonly processMs: number;
    readonly totalMs: number;
  };
  /** Why it failed, when ok is false. */
  readonly error?: string;
}

export interface IntegrationStatus {
  readonly integration: string;
  readonly lastRun: RunRecord | null;
  /** Stored cursor per configured object (null: next run of that object is a full pull). */
  readonly cursors: Record<string, string | null>;
  /** Per pulled object, the inbound mapping that carries it into the internal model, or null: kept in the raw replica only. */
  readonly mappings: Record<string, string | null>;
  /** Per pushed object, the position in the internal model's changes it has received up to (null: none yet). */
  readonly pushCursors: Record<string, string | null>;
  readonly running: boolean;
}
