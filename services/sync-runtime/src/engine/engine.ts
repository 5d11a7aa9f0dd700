import { randomUUID } from 'crypto';
import * as os from 'os';
import type { Logger } from 'pino';
import type { Db, Queryable } from '@data-sync/pipelines/db';
import {
  Connector,
  ConnectorContext,
  ConnectorModule,
  IntegrationError,
  PullPage,
} from '@data-sync/integrations/connector';
import { parseJobMessage, type RunPayload } from '@data-sync/config/job-message';
import { commitBatchWithin, prepareBatch, type BatchResult, type PipelineOptions } from '@data-sync/pipelines/batch';
import { mappingFor, type Mapping } from '@data-sync/pipelines/mappings';
import type { Job, JobKind, QueueBinding } from '../queue/binding';
import { createPushJob } from './push';
import {
  addPageStats,
  audit,
  CursorMoved,
  date,
  describeError,
  objectStats,
  PERMANENT,
  RunFinished,
  runOfJob,
  toRunRecord,
  type PageStats,
  type RunRow,
} from './runs';
import { createStoreSink, recordId } from './sink';
import {
  EngineMetrics,
  IntegrationInfo,
  IntegrationSource,
  IntegrationStatus,
  ProbeResult,
  RecordSink,
  RunDirection,
  RunRecord,
  RunStatus,
  UnknownIntegrationError,
} from './types';

export interface SyncEngineDeps {
  readonly db: Db;
  readonly queue: QueueBinding;
  readonly integrations: IntegrationSource;
  readonly connectors: (system: string) => ConnectorModule | undefined;
  /** Defaults to the store sink (synced_records). */
  readonly sink?: RecordSink;
  readonly logger: Logger;
  readonly metrics?: EngineMetrics;
  readonly clock?: () => Date;
  /**
   * Extra context for an integration's connector (the outbound rate limiter's `acquire`, a `fetch`);
   * the engine adds `observe` for the API metrics and calls the one given here too.
   */
  readonly connectorContext?: (integration: IntegrationInfo) => ConnectorContext;
  /** How pulled pages of mapped objects run through the pipeline (quarantine cipher, rules). */
  readonly pipeline?: PipelineOptions;
  /** Which mapping carries an object (default pipelines' OBJECT_MAPPINGS). */
  readonly mappings?: (system: string, object: string, direction: 'inbound' | 'outbound') => Mapping | undefined;
  /** A pull that changed contacts queues the destinations' pushes this much later, so a burst of pages is one push (default 2000 ms). */
  readonly pushDebounceMs?: number;
}

export type JobHandler = (job: Job) => Promise<void>;

export interface SyncEngine {
  /** Queues a run (a pull by default): the run row ('queued') and its job, in one transaction when the binding lives in the store. */
  trigger(
    integration: string,
    opts: { actor: string; full?: boolean; direction?: RunDirection },
  ): Promise<{ runId: string; jobId: string }>;
  /** Clears the integration's cursors (the next run is a full sync); with purge, also its synced records. */
  reset(
    integration: string,
    opts: { actor: string; purge: boolean },
  ): Promise<{ cursorsCleared: number; purgedRecords: number }>;
  /** Sends a probe job through queue, worker and store, and answers with its timings. */
  probe(opts?: { timeoutMs?: number }): Promise<ProbeResult>;
  status(): Promise<IntegrationStatus[]>;
  history(q: {
    integration?: string;
    status?: RunStatus;
    direction?: RunDirection;
    limit: number;
    offset: number;
  }): Promise<{ runs: RunRecord[]; total: number }>;
  /** The job handler the worker and the Lambda call; throws when the job must be retried. */
  handle(job: Job): Promise<void>;
  /** Adds (or replaces) the handler of a job kind ('webhook', 'pipeline', 'erasure'). */
  registerHandler(kind: JobKind, handler: JobHandler): void;
  /** The job kinds that have a handler. */
  kinds(): JobKind[];
}

export function createSyncEngine(deps: SyncEngineDeps): SyncEngine {
  const { db, queue, integrations, logger, metrics } = deps;
  const sink = deps.sink ?? createStoreSink();
  const clock = deps.clock ?? (() => new Date());
  const mappings = deps.mappings ?? mappingFor;
  const pushDebounceMs = deps.pushDebounceMs ?? 2000;
  const handlers = new Map<JobKind, JobHandler>();
  const workerName = `${os.hostname()}:${process.pid}`;

  async function requireIntegration(name: string): Promise<IntegrationInfo> {
    const integration = await integrations.get(name);
    if (!integration) throw new UnknownIntegrationError(name);
    return integration;
  }

  async function finishRun(run: RunRow, status: 'succeeded' | 'failed', error: string | null, startedAt: Date) {
    const finished = await db.transaction(async (tx) => {
      const updated = await tx.query(
        `UPDATE sync_runs SET status = $2, error = $3, finished_at = $4, updated_at = $4 WHERE id = $1 AND status <> 'succeeded'`,
        [run.id, status, error, clock()],
      );
      if (updated.rowCount === 0) return false;
      await audit(tx, {
        actor: run.actor,
        action: 'sync.run',
        target: run.integration,
        outcome: status,
        details: { runId: run.id, ...(error ? { error } : {}) },
      });
      return true;
    });
    if (!finished) return;
    metrics?.inc('syncRuns', { integration: run.integration, status });
    metrics?.observe(
      'syncDuration',
      { integration: run.integration },
      Math.max(0, clock().getTime() - startedAt.getTime()) / 1000,
    );
    if (status === 'succeeded') metrics?.set('lastSuccess', { integration: run.integration }, clock().getTime() / 1000);
  }

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
    const prepared = mapping
      ? await prepareBatch(
          {
            integration: run.integration,
            mapping: mapping.name,
            object,
            runId: run.id,
            records: page.records,
            externalIds: page.records.map(recordId),
          },
          deps.pipeline,
        )
      : undefined;
    return db.transaction(async (tx) => {
      const state = await tx.query<{ status: RunStatus }>('SELECT status FROM sync_runs WHERE id = $1 FOR UPDATE', [
        run.id,
      ]);
      if (state.rows[0]?.status === 'succeeded') throw new RunFinished();
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
      await addPageStats(
        tx,
        run.id,
        object,
        mapping?.name ?? null,
        { ...result, deleted: page.deletedIds.length },
        clock(),
      );
      await audit(tx, {
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

  /** The connector of a run's integration, or the reason the run cannot start (a permanent failure). */
  async function openConnector(
    run: RunRow,
  ): Promise<{ integration: IntegrationInfo; module: ConnectorModule; connector: Connector } | { failure: string }> {
    const integration = await integrations.get(run.integration);
    const module = integration ? deps.connectors(integration.system) : undefined;
    if (!integration || !module)
      return {
        failure: integration
          ? `no connector for system ${JSON.stringify(integration.system)}`
          : `integration ${JSON.stringify(run.integration)} no longer exists`,
      };
    let config: unknown;
    try {
      config = integration.config;
    } catch (error) {
      // A credential reference this deployment cannot resolve: retrying will not help until it is set.
      return { failure: `invalid config for ${integration.name}: ${describeError(error)}` };
    }
    const parsed = module.configSchema.safeParse(config);
    if (!parsed.success)
      return {
        failure: `invalid config for ${integration.name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
      };
    const extra = deps.connectorContext?.(integration) ?? {};
    const connector = module.create(parsed.data, {
      ...extra,
      observe: (call) => {
        extra.observe?.(call);
        const { status, latencyMs, rateLimit } = call;
        const labels = { integration: run.integration };
        metrics?.inc('apiRequests', labels);
        metrics?.observe('apiLatency', labels, latencyMs / 1000);
        if (status >= 400 || status === 0)
          metrics?.inc('apiErrors', { ...labels, code: status === 0 ? 'network' : String(status) });
        if (rateLimit.remaining !== undefined) metrics?.set('apiRequestsRemaining', labels, rateLimit.remaining);
      },
    });
    return { integration, module, connector };
  }

  /** Marks a run running for this delivery (a full pull clears its cursors once, on the first start). */
  async function startRun(run: RunRow, job: Job, startedAt: Date, firstStart: boolean) {
    await db.transaction(async (tx) => {
      if (run.direction === 'pull' && run.full_sync && firstStart) {
        await tx.query(
          `UPDATE sync_cursors SET cursor = NULL, run_id = $2, updated_at = $3 WHERE integration = $1 AND object NOT LIKE 'push:%'`,
          [run.integration, run.id, clock()],
        );
      }
      await tx.query(
        `UPDATE sync_runs SET status = 'running', attempts = $2, error = NULL, started_at = COALESCE(started_at, $3), updated_at = $3 WHERE id = $1`,
        [run.id, job.attempts, startedAt],
      );
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
      await queue.enqueue(
        {
          kind: 'push',
          integration: destination.name,
          payload: { trigger: 'change' },
          dedupeKey: `push:${destination.name}`,
        },
        { delayMs: pushDebounceMs },
      );
    }
    if (destinations.length)
      logger.info({ source: source.name, destinations: destinations.map((d) => d.name), changed }, 'pushes queued');
  }

  async function syncJob(job: Job) {
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
      await finishRun(run, 'failed', message, startedAt);
    };

    const opened = await openConnector(run);
    if ('failure' in opened) {
      await fail(opened.failure);
      return;
    }
    const { integration, connector } = opened;
    await startRun(run, job, startedAt, firstStart);
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
    await finishRun(run, 'succeeded', null, startedAt);
    log.info('sync run succeeded');
    await queuePushes(integration, changed);
  }

  const pushJob = createPushJob({
    db,
    logger,
    metrics,
    clock,
    mappings,
    runOfJob: (job) => runOfJob(db, job, 'push', clock),
    openConnector,
    startRun,
    finishRun,
  });

  async function probeJob(job: Job) {
    const payload = job.payload as { probeId?: string } | null;
    if (!payload || typeof payload.probeId !== 'string')
      throw new Error(`probe job ${job.id} has no probeId in its payload`);
    const picked = await db.query(
      'UPDATE probe_runs SET picked_at = COALESCE(picked_at, clock_timestamp()), worker = $2 WHERE id = $1',
      [payload.probeId, workerName],
    );
    if (picked.rowCount === 0) throw new Error(`probe ${payload.probeId} is not in the store this worker uses`);
    await db.query('UPDATE probe_runs SET finished_at = clock_timestamp() WHERE id = $1', [payload.probeId]);
  }

  handlers.set('sync', syncJob);
  handlers.set('push', pushJob);
  handlers.set('probe', probeJob);

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
      const insertRun = async (tx: Queryable) => {
        await tx.query(
          `INSERT INTO sync_runs (id, integration, direction, status, full_sync, actor, queued_at, updated_at) VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6)`,
          [runId, integration.name, direction, full, opts.actor, clock()],
        );
        await audit(tx, {
          actor: opts.actor,
          action: direction === 'push' ? 'sync.push.trigger' : 'sync.trigger',
          target: integration.name,
          outcome: 'queued',
          details: { runId, full },
        });
      };
      let jobId: string;
      if (queue.enqueueWithin) {
        const enqueueWithin = queue.enqueueWithin.bind(queue);
        jobId = await db.transaction(async (tx) => {
          await insertRun(tx);
          const id = await enqueueWithin(tx, job);
          await tx.query('UPDATE sync_runs SET job_id = $2 WHERE id = $1', [runId, id]);
          return id;
        });
      } else {
        // The queue is elsewhere: the run row first, so a worker always finds it; a failed enqueue fails the run.
        await db.transaction(insertRun);
        try {
          jobId = await queue.enqueue(job);
        } catch (error) {
          await db.query(
            `UPDATE sync_runs SET status = 'failed', error = $2, finished_at = $3, updated_at = $3 WHERE id = $1`,
            [runId, `could not enqueue: ${describeError(error)}`, clock()],
          );
          throw error;
        }
        await db.query('UPDATE sync_runs SET job_id = $2 WHERE id = $1', [runId, jobId]);
      }
      logger.info(
        { runId, jobId, integration: integration.name, actor: opts.actor, full, direction },
        'sync run queued',
      );
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
        await audit(tx, {
          actor: opts.actor,
          action: opts.purge ? 'sync.reset.purge' : 'sync.reset',
          target: integration.name,
          outcome: 'ok',
          details: result,
        });
        return result;
      });
    },

    async probe(opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 10_000;
      const started = performance.now();
      const probeId = randomUUID();
      await db.query(`DELETE FROM probe_runs WHERE enqueued_at < clock_timestamp() - interval '1 day'`);
      await db.query('INSERT INTO probe_runs (id) VALUES ($1)', [probeId]);
      await queue.enqueue({ kind: 'probe', payload: { probeId } });
      const enqueueMs = performance.now() - started;
      for (;;) {
        const { rows } = await db.query<{ pickup_ms: number | null; process_ms: number | null }>(
          `SELECT EXTRACT(EPOCH FROM (picked_at - enqueued_at)) * 1000 AS pickup_ms, EXTRACT(EPOCH FROM (finished_at - picked_at)) * 1000 AS process_ms
           FROM probe_runs WHERE id = $1 AND finished_at IS NOT NULL`,
          [probeId],
        );
        const totalMs = performance.now() - started;
        if (rows.length > 0) {
          return {
            ok: true,
            runId: probeId,
            timings: { enqueueMs, pickupMs: Number(rows[0].pickup_ms), processMs: Number(rows[0].process_ms), totalMs },
          };
        }
        if (totalMs > timeoutMs) {
          return {
            ok: false,
            runId: probeId,
            timings: { enqueueMs, pickupMs: 0, processMs: 0, totalMs },
            error: `no worker processed the probe job within ${timeoutMs} ms`,
          };
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },

    async status() {
      const list = await integrations.list();
      const names = list.map((i) => i.name);
      const runs = await db.query<RunRow>(
        'SELECT DISTINCT ON (integration) * FROM sync_runs WHERE integration = ANY($1::text[]) ORDER BY integration, queued_at DESC, id',
        [names],
      );
      const stats = await objectStats(
        db,
        runs.rows.map((r) => r.id),
      );
      const cursors = await db.query<{ integration: string; object: string; cursor: string | null }>(
        'SELECT integration, object, cursor FROM sync_cursors WHERE integration = ANY($1::text[])',
        [names],
      );
      const running = await db.query<{ integration: string }>(
        `SELECT DISTINCT integration FROM sync_runs WHERE status = 'running' AND integration = ANY($1::text[])`,
        [names],
      );
      const runningSet = new Set(running.rows.map((r) => r.integration));
      return list.map((integration) => {
        const last = runs.rows.find((r) => r.integration === integration.name);
        const stored = cursors.rows.filter((c) => c.integration === integration.name);
        return {
          integration: integration.name,
          lastRun: last ? { ...toRunRecord(last), objects: stats.get(last.id) ?? {} } : null,
          cursors: Object.fromEntries(
            integration.objects.map((object) => [object, stored.find((c) => c.object === object)?.cursor ?? null]),
          ),
          mappings: Object.fromEntries(
            integration.objects.map((object) => [
              object,
              mappings(integration.system, object, 'inbound')?.name ?? null,
            ]),
          ),
          pushCursors: Object.fromEntries(
            (integration.pushObjects ?? []).map((object) => [
              object,
              stored.find((c) => c.object === `push:${object}`)?.cursor ?? null,
            ]),
          ),
          running: runningSet.has(integration.name),
        };
      });
    },

    async history(q) {
      const conditions: string[] = [];
      const params: unknown[] = [];
      if (q.integration !== undefined) conditions.push(`integration = $${params.push(q.integration)}`);
      if (q.status !== undefined) conditions.push(`status = $${params.push(q.status)}`);
      if (q.direction !== undefined) conditions.push(`direction = $${params.push(q.direction)}`);
      const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
      const total = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM sync_runs ${where}`, params);
      const whole = (value: number, fallback: number) =>
        Number.isFinite(value) ? Math.max(0, Math.floor(value)) : fallback;
      const limit = Math.min(1000, whole(q.limit, 50));
      const offset = whole(q.offset, 0);
      const page = await db.query<RunRow>(
        `SELECT * FROM sync_runs ${where} ORDER BY queued_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`,
        params,
      );
      const stats = await objectStats(
        db,
        page.rows.map((r) => r.id),
      );
      return {
        runs: page.rows.map((r) => ({ ...toRunRecord(r), objects: stats.get(r.id) ?? {} })),
        total: Number(total.rows[0].n),
      };
    },

    async handle(job) {
      // Every entry point hands its jobs here: the payload is checked against the job-message contract once.
      parseJobMessage(
        { kind: job.kind, integration: job.integration, payload: job.payload },
        `${job.kind} job ${job.id}`,
      );
      const handler = handlers.get(job.kind);
      if (!handler) throw new Error(`no handler for job kind ${JSON.stringify(job.kind)} (job ${job.id})`);
      await handler(job);
    },

    registerHandler(kind, handler) {
      handlers.set(kind, handler);
    },

    kinds: () => [...handlers.keys()],
  };
}
