/**
 * Worker-side handlers for the jobs the API enqueues: 'webhook' (new events trigger an incremental sync)
 * and 'pipeline' (an ingest batch through pipelines/). Both are safe to run twice (at-least-once delivery).
 */
import type { Logger } from 'pino';
import type { Db } from '@data-sync/pipelines/db';
import type { Job } from '../queue/binding';
import type { EngineApi, PipelinesApi } from './deps';
import { writeAudit, writeAudits } from '../store/audit-repository';
import { createPipelineRunsRepository } from '../store/pipeline-runs-repository';
import { createRunsRepository } from '../store/runs-repository';
import type { WebhookJobPayload } from '../webhooks/ingest';
import type { PipelineJobPayload } from './routes/pipelines';

type WebhookEvent = WebhookJobPayload['events'][number];

/** A 'webhook' handler that also takes a backlog of webhook jobs at once (`batch`), as the worker hands them over. */
export interface WebhookJobHandler {
  (job: Job): Promise<void>;
  /** Handles `jobs` as one: per integration, one lookup, at most one trigger and one transaction. */
  batch(jobs: readonly Job[]): Promise<void>;
}

/**
 * Webhook deliveries: events already seen (vendors redeliver) are skipped; new ones queue an incremental
 * sync of the integration unless one is already waiting. The events are recorded after the trigger, so
 * a crash in between triggers again rather than losing the events. Data deletion requests (Meta's
 * callback) go to `deletion` instead of triggering a sync. A batch does this once per integration for
 * all its jobs, and audits each job that recorded events; when it throws, nothing is recorded, so the
 * worker can hand each job to this handler again on its own.
 */
export function createWebhookJobHandler(deps: {
  db: Db;
  engine: Pick<EngineApi, 'trigger'>;
  logger: Logger;
  /** Processes a verified data deletion request of `integration`. @default none: such events are only recorded */
  deletion?: (integration: string, payload: unknown) => Promise<void>;
}): WebhookJobHandler {
  async function handleIntegration(integration: string, jobs: readonly Job[]): Promise<void> {
    const deliveries = jobs.map((job) => ({ job, payload: job.payload as WebhookJobPayload }));
    const ids = [...new Set(deliveries.flatMap(({ payload }) => payload.events.map((e) => e.id)))];
    const seen = await deps.db.query<{ event_id: string }>(
      'SELECT event_id FROM webhook_events WHERE integration = $1 AND event_id = ANY($2::text[])',
      [integration, ids],
    );
    const seenIds = new Set(seen.rows.map((r) => r.event_id));
    // Each new event once, owned by the first job that carries it (a vendor's redelivery can sit beside it).
    const fresh = new Map<string, { event: WebhookEvent; owner: Job }>();
    for (const { job, payload } of deliveries)
      for (const event of payload.events)
        if (!seenIds.has(event.id) && !fresh.has(event.id)) fresh.set(event.id, { event, owner: job });
    if (fresh.size === 0) return;
    const events = [...fresh.values()].map((f) => f.event);
    for (const event of events)
      if (event.type === 'data_deletion' && deps.deletion) await deps.deletion(integration, event.payload);
    let runId: string | null = null;
    if (
      events.some((e) => e.type !== 'data_deletion') &&
      !(await createRunsRepository(deps.db).hasQueuedPull(integration))
    )
      runId = (await deps.engine.trigger(integration, { actor: `webhook:${integration}` })).runId;
    // Rows in one order, so concurrent batches over the same events wait on each other instead of deadlocking.
    const rows = events
      .map((e) => ({ id: e.id, type: e.type }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const recorded = await deps.db.transaction(async (tx) => {
      const inserted = await tx.query<{ event_id: string }>(
        `INSERT INTO webhook_events (integration, event_id, type)
         SELECT $1, event_id, type FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS e(event_id, type, ord)
         ORDER BY ord
         ON CONFLICT DO NOTHING
         RETURNING event_id`,
        [integration, rows.map((r) => r.id), rows.map((r) => r.type)],
      );
      const perJob = new Map<Job, number>();
      for (const { event_id } of inserted.rows) {
        const owner = fresh.get(event_id)!.owner;
        perJob.set(owner, (perJob.get(owner) ?? 0) + 1);
      }
      // A concurrent delivery of the same job (its lease expired while this one ran) recorded its events
      // first and audits them: processed once means one audit entry.
      await writeAudits(
        tx,
        deliveries
          .filter(({ job }) => perJob.has(job))
          .map(({ job, payload }) => ({
            actor: `webhook:${integration}`,
            action: 'webhook.processed',
            target: integration,
            outcome: 'ok',
            details: {
              jobId: job.id,
              events: perJob.get(job)!,
              duplicates: payload.events.length - perJob.get(job)!,
              runId,
              receivedAt: payload.receivedAt,
            },
          })),
      );
      return inserted.rows.length;
    });
    if (recorded > 0)
      deps.logger.info({ integration, events: recorded, jobs: jobs.length, runId }, 'webhook events processed');
  }

  async function batch(jobs: readonly Job[]): Promise<void> {
    const byIntegration = new Map<string, Job[]>();
    for (const job of jobs) {
      const payload = job.payload as WebhookJobPayload | null;
      if (!job.integration || !payload || !Array.isArray(payload.events))
        throw new Error(`webhook job ${job.id} has no integration or events`);
      const group = byIntegration.get(job.integration);
      if (group) group.push(job);
      else byIntegration.set(job.integration, [job]);
    }
    for (const [integration, group] of byIntegration) await handleIntegration(integration, group);
  }

  return Object.assign((job: Job) => batch([job]), { batch });
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
