/** What an operator, the scheduler or a webhook asks of an integration: queue a run, queue an ingest batch, reset. */
import { randomUUID } from 'crypto';
import type { Logger } from 'pino';
import type { RunPayload } from '@data-sync/config/job-message';
import type { Db } from '@data-sync/pipelines/db';
import type { QueueBinding } from '../queue/binding';
import { writeAudit } from '../store/audit-repository';
import { createPipelineRunsRepository } from '../store/pipeline-runs-repository';
import { createRunsRepository } from '../store/runs-repository';
import { enqueueRecorded } from './enqueue';
import { IntegrationInfo, IntegrationSource, RecordSink, RunDirection, UnknownIntegrationError } from './types';

export interface TriggerDeps {
  readonly db: Db;
  readonly queue: QueueBinding;
  readonly integrations: IntegrationSource;
  readonly sink: RecordSink;
  readonly logger: Logger;
  readonly clock: () => Date;
}

export interface Triggers {
  /** Queues a run (a pull by default): the run row ('queued') and its job, in one transaction when the binding lives in the store. */
  trigger(
    integration: string,
    opts: { actor: string; full?: boolean; direction?: RunDirection },
  ): Promise<{ runId: string; jobId: string }>;
  /** Queues records through the pipeline: a 'pipeline' job tracked by its pipeline_runs row. */
  ingest(input: {
    integration: string;
    mapping: string;
    records: readonly Record<string, unknown>[];
    actor: string;
  }): Promise<{ runId: string; jobId: string }>;
  /** Clears the integration's cursors (the next run is a full sync); with purge, also its synced records. */
  reset(
    integration: string,
    opts: { actor: string; purge: boolean },
  ): Promise<{ cursorsCleared: number; purgedRecords: number }>;
}

export function createTriggers(deps: TriggerDeps): Triggers {
  const { db, queue, integrations, sink, logger, clock } = deps;

  async function requireIntegration(name: string): Promise<IntegrationInfo> {
    const integration = await integrations.get(name);
    if (!integration) throw new UnknownIntegrationError(name);
    return integration;
  }

  return {
    async trigger(name, opts) {
      const integration = await requireIntegration(name);
      const runId = randomUUID();
      const full = opts.full ?? false;
      const direction = opts.direction ?? 'pull';
      const payload: RunPayload = { runId, full };
      const job = {
        kind: direction === 'push' ? ('push' as const) : ('sync' as const),
        integration: integration.name,
        payload,
      };
      const jobId = await enqueueRecorded(db, queue, job, {
        insert: (tx) =>
          createRunsRepository(tx).insertQueued({
            id: runId,
            integration: integration.name,
            direction,
            full,
            actor: opts.actor,
            at: clock(),
          }),
        attach: (q, id) => createRunsRepository(q).attachJob(runId, id),
        fail: (q, reason) => createRunsRepository(q).failUnqueued(runId, reason, clock()),
      });
      logger.info(
        { runId, jobId, integration: integration.name, actor: opts.actor, full, direction },
        'sync run queued',
      );
      return { runId, jobId };
    },

    async ingest({ integration, mapping, records, actor }) {
      const runId = randomUUID();
      const job = { kind: 'pipeline' as const, integration, payload: { runId, mapping, records } };
      const jobId = await enqueueRecorded(db, queue, job, {
        insert: (tx) => createPipelineRunsRepository(tx).insertQueued({ id: runId, integration, mapping, actor }),
        attach: (q, id) => createPipelineRunsRepository(q).attachJob(runId, id),
        fail: (q, reason) => createPipelineRunsRepository(q).failUnqueued(runId, reason),
      });
      return { runId, jobId };
    },

    async reset(name, opts) {
      const integration = await requireIntegration(name);
      return db.transaction(async (tx) => {
        // Push positions stay: a reset re-pulls from the vendor, it does not re-send the internal model.
        const cleared = await tx.query(
          `DELETE FROM sync_cursors WHERE integration = $1 AND cursor IS NOT NULL AND object NOT LIKE 'push:%'`,
          [integration.name],
        );
        await tx.query(`DELETE FROM sync_cursors WHERE integration = $1 AND object NOT LIKE 'push:%'`, [
          integration.name,
        ]);
        let purgedRecords = 0;
        if (opts.purge) {
          if (!sink.purge) throw new Error('the configured sink cannot purge synced data');
          purgedRecords = await sink.purge(tx, integration.name);
        }
        const result = { cursorsCleared: cleared.rowCount, purgedRecords };
        const action = opts.purge ? 'sync.reset.purge' : 'sync.reset';
        await writeAudit(tx, { actor: opts.actor, action, target: integration.name, outcome: 'ok', details: result });
        return result;
      });
    },
  };
}
