/**
 * Reconciliation of runs with the queue: a run left 'queued' or 'running' whose job the queue no longer
 * holds (lost: a Redis restart without persistence, a crash between the run row and its enqueue) or
 * has dead-lettered is closed as failed with the reason, so it neither stays open for ever nor keeps
 * the scheduler and webhooks from queueing the next run. A lost run is queued again: pulls resume from
 * the stored cursor and pushes from their position, so running one again changes nothing twice. A
 * dead-lettered one is not: it failed every delivery, and redriving its dead letter resumes it.
 */
import type { Logger } from 'pino';
import type { Db } from '@data-sync/pipelines/db';
import type { JobState, QueueBinding } from '../queue/binding';
import { writeAudit } from '../store/audit-repository';
import { createRunsRepository, type RunRow } from '../store/runs-repository';
import type { Triggers } from './trigger';
import { describeError } from './runs';
import type { EngineMetrics } from './types';

export interface ReconcileDeps {
  readonly db: Db;
  readonly queue: QueueBinding;
  readonly trigger: Triggers['trigger'];
  readonly logger: Logger;
  readonly metrics?: EngineMetrics;
  readonly clock: () => Date;
  /** A run untouched for this long is checked against the queue. */
  readonly staleAfterMs: number;
}

export interface Reconciled {
  /** Runs closed as failed. */
  readonly closed: readonly string[];
  /** The runs queued in place of lost ones. */
  readonly requeued: readonly string[];
}

/** Why an open run is stale, or null while its job is still in the queue. */
function staleReason(run: RunRow, state: JobState | null): { reason: string; requeue: boolean } | null {
  if (run.job_id === null)
    return { reason: 'its job never reached the queue (the enqueue was interrupted)', requeue: true };
  if (state === 'queued' || state === 'active') return null;
  if (state === 'dead') {
    return {
      reason: `its job ${run.job_id} was dead-lettered (GET /api/queue/dead-letters; a redrive resumes this run)`,
      requeue: false,
    };
  }
  return { reason: `its job ${run.job_id} is no longer in the queue (lost by the queue)`, requeue: true };
}

/**
 * Whether a pull of `integration` is still on its way: queued, or (where the queue can tell) running or
 * failed with its job still waiting for redelivery. The scheduler skips a due slot then, so an hourly
 * schedule never stacks a second pull on one that is retrying; a run whose job is gone or dead is
 * closed by reconcile() and blocks nothing.
 */
export function createPullInFlight(
  deps: Pick<ReconcileDeps, 'db' | 'queue'>,
): (integration: string) => Promise<boolean> {
  const runs = createRunsRepository(deps.db);
  return async function pullInFlight(integration) {
    if (await runs.hasQueuedPull(integration)) return true;
    if (!deps.queue.jobState) return false;
    const latest = await runs.latestPull(integration);
    if (!latest?.job_id || (latest.status !== 'running' && latest.status !== 'failed')) return false;
    const state = await deps.queue.jobState(latest.job_id);
    return state === 'queued' || state === 'active';
  };
}

export function createReconciler(deps: ReconcileDeps): () => Promise<Reconciled> {
  const { db, queue, logger, metrics, clock } = deps;
  const runs = createRunsRepository(db);

  return async function reconcile() {
    const closed: string[] = [];
    const requeued: string[] = [];
    // A binding that cannot tell where a job is (SQS, Pub/Sub, ...) leaves its runs to it.
    if (!queue.jobState) return { closed, requeued };
    const jobState = queue.jobState.bind(queue);
    const before = new Date(clock().getTime() - deps.staleAfterMs);
    for (const run of await runs.unfinished(before)) {
      const stale = staleReason(run, run.job_id === null ? null : await jobState(run.job_id));
      if (!stale) continue;
      const reason = `closed by reconciliation: ${stale.reason}`;
      const won = await db.transaction(async (tx) => {
        if (!(await createRunsRepository(tx).closeStale(run.id, before, reason, clock()))) return false;
        const details = { runId: run.id, jobId: run.job_id, was: run.status, error: reason };
        await writeAudit(tx, {
          actor: 'reconciler',
          action: 'sync.run',
          target: run.integration,
          outcome: 'failed',
          details,
        });
        return true;
      });
      // Another instance reconciled it, or a delivery moved it on since it was read.
      if (!won) continue;
      closed.push(run.id);
      metrics?.inc('syncRuns', { integration: run.integration, status: 'failed' });
      logger.warn({ runId: run.id, integration: run.integration, jobId: run.job_id, was: run.status }, reason);
      if (!stale.requeue) continue;
      try {
        const again = await deps.trigger(run.integration, {
          actor: 'reconciler',
          full: run.full_sync,
          direction: run.direction,
        });
        requeued.push(again.runId);
      } catch (error) {
        // The integration may be gone by now; its next schedule or webhook queues a run as usual.
        logger.warn(
          { runId: run.id, integration: run.integration, err: describeError(error) },
          'stale run not queued again',
        );
      }
    }
    return { closed, requeued };
  };
}
