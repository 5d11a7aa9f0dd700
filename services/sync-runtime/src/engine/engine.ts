/**
 * The sync engine, composed of its parts: triggers (trigger.ts), the run lifecycle and the pull and
 * push jobs (lifecycle.ts, pull.ts, push.ts), status and probe (status.ts), reconciliation with the
 * queue (reconcile.ts) and job dispatch (dispatch.ts). The run rows are store/runs-repository.ts.
 */
import type { Logger } from 'pino';
import type { ConnectorContext, ConnectorModule } from '@data-sync/integrations/connector';
import type { PipelineOptions } from '@data-sync/pipelines/batch';
import { mappingFor, type Mapping } from '@data-sync/pipelines/mappings';
import type { Db } from '@data-sync/pipelines/db';
import type { QueueBinding } from '../queue/binding';
import { runOfJob } from '../store/runs-repository';
import { createJobDispatch, type JobDispatch, type JobHandler } from './dispatch';
import { createRunLifecycle } from './lifecycle';
import { createPullJob } from './pull';
import { createPushJob } from './push';
import { createPullInFlight, createReconciler, type Reconciled } from './reconcile';
import { createStoreSink } from './sink';
import { createSweeps } from './sweep';
import { createEngineStatus, type EngineStatus } from './status';
import { createTriggers, type Triggers } from './trigger';
import type { EngineMetrics, IntegrationInfo, IntegrationSource, RecordSink } from './types';

export type { JobHandler };

export interface SyncEngineDeps {
  readonly db: Db;
  readonly queue: QueueBinding;
  readonly integrations: IntegrationSource;
  readonly connectors: (system: string) => ConnectorModule | undefined;
  /** Where pulled records go. @default the store sink (synced_records) */
  readonly sink?: RecordSink;
  readonly logger: Logger;
  /** The engine's metrics. @default none recorded */
  readonly metrics?: EngineMetrics;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /**
   * Extra context for an integration's connector (the outbound rate limiter's `acquire`, a `fetch`);
   * the engine adds `observe` for the API metrics and calls the one given here too. @default none
   */
  readonly connectorContext?: (integration: IntegrationInfo) => ConnectorContext;
  /** How pulled pages of mapped objects run through the pipeline (quarantine cipher, rules). @default pipelines' defaults */
  readonly pipeline?: PipelineOptions;
  /** Which mapping carries an object. @default pipelines' OBJECT_MAPPINGS (mappingFor) */
  readonly mappings?: (system: string, object: string, direction: 'inbound' | 'outbound') => Mapping | undefined;
  /** A pull that changed contacts queues the destinations' pushes this much later, so a burst of pages is one push. @default 2000 */
  readonly pushDebounceMs?: number;
  /** An open run untouched this long is checked against the queue by reconcile(). @default 60000 */
  readonly staleRunMs?: number;
}

export interface SyncEngine extends Triggers, Omit<EngineStatus, 'probeJob'>, JobDispatch {
  /** Closes runs whose job the queue lost or dead-lettered, and queues lost ones again (reconcile.ts). */
  reconcile(): Promise<Reconciled>;
  /** Whether a pull of the integration is queued, or running or awaiting redelivery where the queue can tell. */
  pullInFlight(integration: string): Promise<boolean>;
}

export function createSyncEngine(deps: SyncEngineDeps): SyncEngine {
  const { db, queue, integrations, logger, metrics } = deps;
  const sink = deps.sink ?? createStoreSink();
  const clock = deps.clock ?? (() => new Date());
  const mappings = deps.mappings ?? mappingFor;
  const lifecycle = createRunLifecycle({
    db,
    integrations,
    connectors: deps.connectors,
    metrics,
    clock,
    connectorContext: deps.connectorContext,
  });
  const triggers = createTriggers({ db, queue, integrations, sink, logger, clock });
  const status = createEngineStatus({ db, queue, integrations, mappings });
  const pushDebounceMs = deps.pushDebounceMs ?? 2000;
  const sweeps = createSweeps({ db, queue, sink, lifecycle, logger, clock });
  const dispatch = createJobDispatch({
    sync: createPullJob({
      db,
      queue,
      integrations,
      sink,
      lifecycle,
      logger,
      metrics,
      clock,
      mappings,
      pipeline: deps.pipeline,
      pushDebounceMs,
      queueSweep: sweeps.queueIfDue,
    }),
    push: createPushJob({
      db,
      logger,
      metrics,
      clock,
      mappings,
      runOfJob: (job) => runOfJob(db, job, 'push', clock),
      ...lifecycle,
    }),
    probe: status.probeJob,
    sweep: sweeps.sweepJob,
  });
  const reconcile = createReconciler({
    db,
    queue,
    trigger: triggers.trigger,
    logger,
    metrics,
    clock,
    staleAfterMs: deps.staleRunMs ?? 60_000,
  });

  return {
    trigger: triggers.trigger,
    ingest: triggers.ingest,
    reset: triggers.reset,
    status: status.status,
    history: status.history,
    probe: status.probe,
    handle: dispatch.handle,
    batches: dispatch.batches,
    handleBatch: dispatch.handleBatch,
    registerHandler: dispatch.registerHandler,
    kinds: dispatch.kinds,
    reconcile,
    pullInFlight: createPullInFlight({ db, queue }),
  };
}
