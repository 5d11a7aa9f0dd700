/**
 * The pull job ('sync'): each object of the integration from its stored cursor, page by page, every page
 * committed with its cursor, run counters and audit entry; then the destinations' pushes are queued.
 */
import type { Logger } from 'pino';
import type { RunPayload } from '@data-sync/config/job-message';
import { IntegrationError, type ConnectorModule, type PullPage } from '@data-sync/integrations/connector';
import { commitBatchWithin, prepareBatch, type BatchResult, type PipelineOptions } from '@data-sync/pipelines/batch';
import type { Mapping } from '@data-sync/pipelines/mappings';
import type { Db } from '@data-sync/pipelines/db';
import type { Job, QueueBinding } from '../queue/binding';
import { writeAudit } from '../store/audit-repository';
import { createRunsRepository, date, runOfJob, type PageStats, type RunRow } from '../store/runs-repository';
import type { RunLifecycle } from './lifecycle';
import { CursorMoved, describeError, PERMANENT, RunFinished } from './runs';
import { recordId } from './sink';
import type { EngineMetrics, IntegrationInfo, IntegrationSource, RecordSink } from './types';

export interface PullJobDeps {
  readonly db: Db;
  readonly queue: QueueBinding;
  readonly integrations: IntegrationSource;
  readonly sink: RecordSink;
  readonly lifecycle: RunLifecycle;
  readonly logger: Logger;
  readonly metrics?: EngineMetrics;
  readonly clock: () => Date;
  readonly mappings: (system: string, object: string, direction: 'inbound' | 'outbound') => Mapping | undefined;
  /** How pulled pages of mapped objects run through the pipeline (quarantine cipher, rules). */
  readonly pipeline?: PipelineOptions;
  /** Delay before a pull's changes are pushed to the destinations. */
  readonly pushDebounceMs: number;
  /** Queues the integration's reconciliation sweep when it is due (sweep.ts); called after a scheduled pull. */
  readonly queueSweep?: (integration: IntegrationInfo, module: ConnectorModule) => Promise<unknown>;
}

export function createPullJob(deps: PullJobDeps) {
  const { db, queue, integrations, sink, lifecycle, logger, metrics, clock, mappings } = deps;

  /**
   * Commits one page: the raw replica, the pipeline into the internal model (for an object with an
   * inbound mapping), cursor, run counters and audit entry together, if the cursor is still where the
   * page started. The pipeline's CPU work (map, validate) is done before the transaction opens.
   */
  async function commitPage(
    run: RunRow,
    integration: IntegrationInfo,
    object: string,
    from: string | null,
    page: PullPage,
  ) {
    const mapping = mappings(integration.system, object, 'inbound');
    const batch = mapping && {
      integration: run.integration,
      mapping: mapping.name,
      object,
      runId: run.id,
      records: page.records,
      externalIds: page.records.map(recordId),
    };
    const prepared = batch ? await prepareBatch(batch, deps.pipeline) : undefined;
    return db.transaction(async (tx) => {
      const runs = createRunsRepository(tx);
      if ((await runs.lockStatus(run.id)) === 'succeeded') throw new RunFinished();
      await tx.query(
        'INSERT INTO sync_cursors (integration, object, cursor) VALUES ($1, $2, NULL) ON CONFLICT DO NOTHING',
        [run.integration, object],
      );
      const current = await tx.query<{ cursor: string | null }>(
        'SELECT cursor FROM sync_cursors WHERE integration = $1 AND object = $2 FOR UPDATE',
        [run.integration, object],
      );
      if (current.rows[0].cursor !== from) throw new CursorMoved();
      const replica = await sink.upsert(
        tx,
        { integration: run.integration, object, runId: run.id },
        page.records,
        page.deletedIds,
      );
      const result: PageStats = prepared ? await commitBatchWithin(tx, prepared) : replica;
      await tx.query(
        'UPDATE sync_cursors SET cursor = $3, run_id = $4, updated_at = $5 WHERE integration = $1 AND object = $2',
        [run.integration, object, page.cursor, run.id, clock()],
      );
      await runs.addPageStats(
        run.id,
        object,
        mapping?.name ?? null,
        { ...result, deleted: page.deletedIds.length },
        clock(),
      );
      await writeAudit(tx, {
        actor: run.actor,
        action: 'sync.page',
        target: run.integration,
        outcome: 'committed',
        details: {
          runId: run.id,
          object,
          cursor: page.cursor,
          mapping: mapping?.name ?? null,
          ...result,
          deleted: page.deletedIds.length,
        },
      });
      return { mapped: prepared !== undefined, result: result as BatchResult | PageStats };
    });
  }

  /**
   * After a pull that changed contacts, every destination gets a push (debounced: the same pending key
   * is one job); a destination's own scheduled pull is followed by its push.
   */
  async function queuePushes(source: IntegrationInfo, changed: boolean) {
    const destinations = (await integrations.list()).filter(
      (i) => (i.pushObjects?.length ?? 0) > 0 && (changed || i.name === source.name),
    );
    for (const destination of destinations) {
      const push = {
        kind: 'push' as const,
        integration: destination.name,
        payload: { trigger: 'change' as const },
        dedupeKey: `push:${destination.name}`,
      };
      await queue.enqueue(push, { delayMs: deps.pushDebounceMs });
    }
    if (destinations.length)
      logger.info({ source: source.name, destinations: destinations.map((d) => d.name), changed }, 'pushes queued');
  }

  return async function syncJob(job: Job) {
    const run = await runOfJob(db, job, 'pull', clock);
    if (!run) throw new Error(`sync job ${job.id}: run ${(job.payload as RunPayload | null)?.runId} does not exist`);
    // Redelivered after the run finished (a crash between commit and ack): nothing left to do.
    if (run.status === 'succeeded') return;
    const log = logger.child({ runId: run.id, integration: run.integration, jobId: job.id, attempt: job.attempts });
    const firstStart = run.started_at === null;
    const startedAt = date(run.started_at) ?? clock();

    const fail = async (error: unknown) => {
      const message = describeError(error);
      log.warn({ err: message }, 'sync run failed');
      await lifecycle.finishRun(run, 'failed', message, startedAt);
    };

    const opened = await lifecycle.openConnector(run);
    if ('failure' in opened) {
      await fail(opened.failure);
      return;
    }
    const { integration, module, connector } = opened;
    await lifecycle.startRun(run, job, startedAt, firstStart);
    log.info('sync run started');

    let changed = false;
    try {
      for (const object of integration.objects) {
        for (;;) {
          const stored = await db.query<{ cursor: string | null }>(
            'SELECT cursor FROM sync_cursors WHERE integration = $1 AND object = $2',
            [run.integration, object],
          );
          const from = stored.rows[0]?.cursor ?? null;
          const page = await connector.pull(object, from);
          if (!page.done && page.cursor === from && page.records.length === 0 && page.deletedIds.length === 0) {
            throw new IntegrationError(
              run.integration,
              'vendor_error',
              `${object}: the source returned an empty page without advancing the cursor and without finishing`,
            );
          }
          let committed;
          try {
            committed = await commitPage(run, integration, object, from, page);
          } catch (error) {
            if (error instanceof RunFinished) {
              log.info('run finished by another delivery; this one stops');
              return;
            }
            if (!(error instanceof CursorMoved)) throw error;
            log.warn(
              { object },
              'cursor moved by another delivery of this integration; page dropped, continuing from the stored cursor',
            );
            continue;
          }
          const result = committed.result;
          // A committed page is progress: this delivery does not count against the job's retry budget.
          await job.progress?.();
          if ((result.inserted ?? 0) + (result.updated ?? 0) > 0) changed = true;
          const labels = { integration: run.integration };
          metrics?.inc('recordsProcessed', { ...labels, outcome: 'accepted' }, result.accepted ?? 0);
          metrics?.inc('recordsProcessed', { ...labels, outcome: 'quarantined' }, result.quarantined ?? 0);
          metrics?.inc('recordsProcessed', { ...labels, outcome: 'duplicate' }, result.duplicates ?? 0);
          metrics?.inc('duplicates', labels, result.duplicates ?? 0);
          if (result.dropped) metrics?.inc('valuesDropped', labels, result.dropped);
          if (page.done) break;
        }
      }
    } catch (error) {
      await fail(error);
      if (error instanceof IntegrationError && PERMANENT.has(error.kind)) return;
      throw error;
    }
    await lifecycle.finishRun(run, 'succeeded', null, startedAt);
    log.info('sync run succeeded');
    await queuePushes(integration, changed);
    // Deletes the vendor cannot report ride on its schedule (every cloud's), at the sweep's own pace.
    if (run.actor === 'scheduler') await deps.queueSweep?.(integration, module);
  };
}
