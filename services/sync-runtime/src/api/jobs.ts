/**
 * Worker-side handlers for the jobs the API enqueues: 'webhook' (new events trigger an incremental sync)
 * and 'pipeline' (an ingest batch through pipelines/). Both are safe to run twice (at-least-once delivery).
 */
import type { Logger } from 'pino';
import type { Db } from '@data-sync/pipelines/db';
import type { Job } from '../queue/binding';
import type { EngineApi, PipelinesApi } from './deps';
import { writeAudit } from '../store/audit-repository';
import { createPipelineRunsRepository } from '../store/pipeline-runs-repository';
import { createRunsRepository } from '../store/runs-repository';
import type { WebhookJobPayload } from '../webhooks/ingest';
import type { PipelineJobPayload } from './routes/pipelines';

/**
 * A webhook delivery: events already seen (vendors redeliver) are skipped; new ones queue an incremental
 * sync of the integration unless one is already waiting. The events are recorded after the trigger, so
 * a crash in between triggers again rather than losing the events. Data deletion requests (Meta's
 * callback) go to `deletion` instead of triggering a sync.
 */
export function createWebhookJobHandler(deps: {
  db: Db;
  engine: Pick<EngineApi, 'trigger'>;
  logger: Logger;
  /** Processes a verified data deletion request of `integration`. @default none: such events are only recorded */
  deletion?: (integration: string, payload: unknown) => Promise<void>;
}) {
  return async (job: Job): Promise<void> => {
    const payload = job.payload as WebhookJobPayload | null;
    const integration = job.integration;
    if (!integration || !payload || !Array.isArray(payload.events))
      throw new Error(`webhook job ${job.id} has no integration or events`);
    const ids = payload.events.map((e) => e.id);
    const seen = await deps.db.query<{ event_id: string }>(
      'SELECT event_id FROM webhook_events WHERE integration = $1 AND event_id = ANY($2::text[])',
      [integration, ids],
    );
    const seenIds = new Set(seen.rows.map((r) => r.event_id));
    const fresh = payload.events.filter((e) => !seenIds.has(e.id));
    if (fresh.length === 0) return;
    for (const event of fresh)
      if (event.type === 'data_deletion' && deps.deletion) await deps.deletion(integration, event.payload);
    const changes = fresh.filter((e) => e.type !== 'data_deletion');
    let runId: string | null = null;
    if (changes.length > 0 && !(await createRunsRepository(deps.db).hasQueuedPull(integration)))
      runId = (await deps.engine.trigger(integration, { actor: `webhook:${integration}` })).runId;
    const recorded = await deps.db.transaction(async (tx) => {
      let inserted = 0;
      for (const event of fresh) {
        const result = await tx.query(
          'INSERT INTO webhook_events (integration, event_id, type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
          [integration, event.id, event.type],
        );
        inserted += result.rowCount;
      }
      // A concurrent delivery of the same job (its lease expired while this one ran) recorded them first and
      // audits them: processed once means one audit entry.
      if (inserted === 0) return 0;
      await writeAudit(tx, {
        actor: `webhook:${integration}`,
        action: 'webhook.processed',
        target: integration,
        outcome: 'ok',
        details: {
          jobId: job.id,
          events: inserted,
          duplicates: payload.events.length - inserted,
          runId,
          receivedAt: payload.receivedAt,
        },
      });
      return inserted;
    });
    if (recorded > 0) deps.logger.info({ integration, events: recorded, runId }, 'webhook events processed');
  };
}

/** An ingest batch: runs the pipeline and records the outcome in pipeline_runs; a finished run is not run again. */
export function createPipelineJobHandler(deps: { db: Db; pipelines: PipelinesApi; logger: Logger }) {
  return async (job: Job): Promise<void> => {
    const payload = job.payload as PipelineJobPayload | null;
    if (!job.integration || !payload || typeof payload.runId !== 'string' || !Array.isArray(payload.records))
      throw new Error(`pipeline job ${job.id} has no run, integration or records`);
    const pipelineRuns = createPipelineRunsRepository(deps.db);
    if (!(await pipelineRuns.start(payload.runId))) return;
    try {
      const result = await deps.pipelines.runBatch(deps.db, {
        integration: job.integration,
        mapping: payload.mapping,
        records: payload.records,
        runId: payload.runId,
      });
      await deps.db.transaction(async (tx) => {
        await createPipelineRunsRepository(tx).succeed(payload.runId, result);
        await writeAudit(tx, {
          actor: 'worker',
          action: 'pipeline.run',
          target: job.integration!,
          outcome: 'succeeded',
          details: { runId: payload.runId, mapping: payload.mapping, ...result },
        });
      });
    } catch (error) {
      const message = (error as Error).message;
      await pipelineRuns.fail(payload.runId, message);
      deps.logger.warn({ runId: payload.runId, err: message }, 'pipeline run failed');
      throw error;
    }
  };
}
