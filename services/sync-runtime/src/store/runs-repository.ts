/**
 * Sync runs (tables sync_runs and sync_run_objects): what the engine records of every pull and push,
 * and what the API, the scheduler and the reconciliation read. Bound to a connection or to an open
 * transaction (`createRunsRepository(tx)`), so a run's writes commit with the page or job they belong to.
 */
import { randomUUID } from 'crypto';
import type { RunPayload, RunTrigger } from '@data-sync/config/job-message';
import type { Db, Queryable } from '@data-sync/pipelines/db';
import type { RunDirection, RunObjectStats, RunRecord, RunStatus } from '../engine/types';
import type { Job } from '../queue/binding';
import { writeAudit } from './audit-repository';

export interface RunRow {
  id: string;
  integration: string;
  direction: RunDirection;
  status: RunStatus;
  full_sync: boolean;
  actor: string;
  job_id: string | null;
  attempts: number;
  pages: number;
  received: number;
  accepted: number;
  quarantined: number;
  duplicates: number;
  deleted: number;
  inserted: number;
  updated: number;
  unchanged: number;
  dropped: number;
  failed: number;
  error: string | null;
  queued_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  updated_at: Date | string;
}

export const date = (value: Date | string | null) => (value === null ? null : new Date(value));

export const toRunRecord = (row: RunRow): RunRecord => ({
  id: row.id,
  integration: row.integration,
  direction: row.direction ?? 'pull',
  status: row.status,
  full: row.full_sync,
  actor: row.actor,
  jobId: row.job_id,
  attempts: Number(row.attempts),
  pages: Number(row.pages),
  received: Number(row.received),
  accepted: Number(row.accepted),
  quarantined: Number(row.quarantined),
  duplicates: Number(row.duplicates),
  deleted: Number(row.deleted),
  inserted: Number(row.inserted ?? 0),
  updated: Number(row.updated ?? 0),
  unchanged: Number(row.unchanged ?? 0),
  dropped: Number(row.dropped ?? 0),
  failed: Number(row.failed ?? 0),
  error: row.error,
  queuedAt: new Date(row.queued_at),
  startedAt: date(row.started_at),
  finishedAt: date(row.finished_at),
});

const STAT_COLUMNS = [
  'received',
  'accepted',
  'quarantined',
  'duplicates',
  'inserted',
  'updated',
  'unchanged',
  'dropped',
  'failed',
  'deleted',
] as const;
export type PageStats = Partial<Record<(typeof STAT_COLUMNS)[number], number>>;

/** Runs per integration and status with their record counts (GET /api/sync/metrics). */
export interface RunTotals {
  readonly integration: string;
  readonly status: string;
  readonly count: number;
  readonly received: number;
  readonly accepted: number;
  readonly quarantined: number;
  readonly duplicates: number;
  readonly avgDurationSeconds: number | null;
}

export interface RunHistoryQuery {
  readonly integration?: string;
  readonly status?: RunStatus;
  readonly direction?: RunDirection;
  readonly limit: number;
  readonly offset: number;
}

export interface NewRun {
  readonly id: string;
  readonly integration: string;
  readonly direction: RunDirection;
  readonly full: boolean;
  readonly actor: string;
  readonly at: Date;
}

export type RunsRepository = ReturnType<typeof createRunsRepository>;

export function createRunsRepository(q: Queryable) {
  const rows = async (sql: string, params: unknown[] = []) => (await q.query<RunRow>(sql, params)).rows;

  /** Per-object stats of the given runs. */
  async function objectStats(runIds: readonly string[]): Promise<Map<string, Record<string, RunObjectStats>>> {
    const out = new Map<string, Record<string, RunObjectStats>>();
    if (runIds.length === 0) return out;
    const { rows: found } = await q.query<
      Record<string, unknown> & { run_id: string; object: string; mapping: string | null }
    >('SELECT * FROM sync_run_objects WHERE run_id = ANY($1::text[]) ORDER BY run_id, object', [runIds]);
    for (const row of found) {
      const stats = Object.fromEntries(STAT_COLUMNS.map((c) => [c, Number(row[c])])) as Record<
        (typeof STAT_COLUMNS)[number],
        number
      >;
      const forRun = out.get(row.run_id) ?? {};
      forRun[row.object] = { mapping: row.mapping, pages: Number(row.pages), ...stats };
      out.set(row.run_id, forRun);
    }
    return out;
  }

  const withObjects = async (found: RunRow[]): Promise<RunRecord[]> => {
    const stats = await objectStats(found.map((r) => r.id));
    return found.map((r) => ({ ...toRunRecord(r), objects: stats.get(r.id) ?? {} }));
  };

  return {
    objectStats,

    /** One run with its per-object counts, or null. */
    async view(id: string): Promise<RunRecord | null> {
      const found = await rows('SELECT * FROM sync_runs WHERE id = $1', [id]);
      return found.length ? (await withObjects(found))[0] : null;
    },

    /** Pull records received and accepted per integration and hour since `from` (a run counts in the hour it last committed). */
    async pulledPerHour(
      from: Date,
    ): Promise<{ integration: string; hour: Date | string; received: string; accepted: string }[]> {
      const result = await q.query<{ integration: string; hour: Date | string; received: string; accepted: string }>(
        `SELECT integration, date_trunc('hour', updated_at) AS hour,
                sum(received) AS received, sum(accepted) AS accepted
         FROM sync_runs WHERE direction = 'pull' AND pages > 0 AND updated_at >= $1
         GROUP BY integration, date_trunc('hour', updated_at) ORDER BY integration`,
        [from],
      );
      return result.rows;
    },

    async byId(id: string): Promise<RunRow | null> {
      return (await rows('SELECT * FROM sync_runs WHERE id = $1', [id]))[0] ?? null;
    },

    async byJob(jobId: string): Promise<RunRow | null> {
      return (await rows('SELECT * FROM sync_runs WHERE job_id = $1', [jobId]))[0] ?? null;
    },

    /** A new run, 'queued', and its trigger's audit entry. */
    async insertQueued(run: NewRun): Promise<void> {
      await q.query(
        `INSERT INTO sync_runs (id, integration, direction, status, full_sync, actor, queued_at, updated_at)
         VALUES ($1, $2, $3, 'queued', $4, $5, $6, $6)`,
        [run.id, run.integration, run.direction, run.full, run.actor, run.at],
      );
      const action = run.direction === 'push' ? 'sync.push.trigger' : 'sync.trigger';
      await writeAudit(q, {
        actor: run.actor,
        action,
        target: run.integration,
        outcome: 'queued',
        details: { runId: run.id, full: run.full },
      });
    },

    async attachJob(runId: string, jobId: string): Promise<void> {
      await q.query('UPDATE sync_runs SET job_id = $2 WHERE id = $1', [runId, jobId]);
    },

    /** A run whose job could not be enqueued. */
    async failUnqueued(runId: string, reason: string, at: Date): Promise<void> {
      await q.query(
        `UPDATE sync_runs SET status = 'failed', error = $2, finished_at = $3, updated_at = $3 WHERE id = $1`,
        [runId, reason, at],
      );
    },

    /** Locks the run's row for the caller's transaction and answers its status. */
    async lockStatus(runId: string): Promise<RunStatus | null> {
      return (
        (await q.query<{ status: RunStatus }>('SELECT status FROM sync_runs WHERE id = $1 FOR UPDATE', [runId])).rows[0]
          ?.status ?? null
      );
    },

    /** A delivery starts the run (`startedAt` is kept from its first start); `at` is now. */
    async markRunning(runId: string, attempts: number, startedAt: Date, at: Date): Promise<void> {
      await q.query(
        `UPDATE sync_runs SET status = 'running', attempts = $2, error = NULL, started_at = COALESCE(started_at, $3), updated_at = $4 WHERE id = $1`,
        [runId, attempts, startedAt, at],
      );
    },

    /** Ends a run not already succeeded; false when it was (another delivery finished it). */
    async finish(runId: string, status: 'succeeded' | 'failed', error: string | null, at: Date): Promise<boolean> {
      const updated = await q.query(
        `UPDATE sync_runs SET status = $2, error = $3, finished_at = $4, updated_at = $4 WHERE id = $1 AND status <> 'succeeded'`,
        [runId, status, error, at],
      );
      return updated.rowCount > 0;
    },

    /** Adds one committed page's counts to its run and to the run's object, inside the page's transaction. */
    async addPageStats(
      runId: string,
      object: string,
      mapping: string | null,
      stats: PageStats,
      at: Date,
    ): Promise<void> {
      const values = STAT_COLUMNS.map((c) => stats[c] ?? 0);
      const sums = STAT_COLUMNS.map((c, i) => `${c} = ${c} + $${i + 2}`).join(', ');
      await q.query(
        `UPDATE sync_runs SET pages = pages + 1, ${sums}, updated_at = $${STAT_COLUMNS.length + 2} WHERE id = $1`,
        [runId, ...values, at],
      );
      await q.query(
        `INSERT INTO sync_run_objects (run_id, object, mapping, pages, ${STAT_COLUMNS.join(', ')})
         VALUES ($1, $2, $3, 1, ${STAT_COLUMNS.map((_, i) => `$${i + 4}`).join(', ')})
         ON CONFLICT (run_id, object) DO UPDATE SET pages = sync_run_objects.pages + 1,
           ${STAT_COLUMNS.map((c) => `${c} = sync_run_objects.${c} + EXCLUDED.${c}`).join(', ')}`,
        [runId, object, mapping, ...values],
      );
    },

    /** Each integration's newest run, with its per-object stats. */
    async latest(integrations: readonly string[]): Promise<RunRecord[]> {
      return withObjects(
        await rows(
          'SELECT DISTINCT ON (integration) * FROM sync_runs WHERE integration = ANY($1::text[]) ORDER BY integration, queued_at DESC, id',
          [integrations],
        ),
      );
    },

    /** Which of the integrations have a run in progress. */
    async running(integrations: readonly string[]): Promise<Set<string>> {
      const found = await q.query<{ integration: string }>(
        `SELECT DISTINCT integration FROM sync_runs WHERE status = 'running' AND integration = ANY($1::text[])`,
        [integrations],
      );
      return new Set(found.rows.map((r) => r.integration));
    },

    /** Whether a pull of the integration is still waiting in the queue. */
    async hasQueuedPull(integration: string): Promise<boolean> {
      return (
        (
          await q.query(
            `SELECT 1 FROM sync_runs WHERE integration = $1 AND direction = 'pull' AND status = 'queued' LIMIT 1`,
            [integration],
          )
        ).rows.length > 0
      );
    },

    /** The integration's most recently queued pull run. */
    async latestPull(integration: string): Promise<RunRow | undefined> {
      return (
        await rows(
          `SELECT * FROM sync_runs WHERE integration = $1 AND direction = 'pull' ORDER BY queued_at DESC, id DESC LIMIT 1`,
          [integration],
        )
      )[0];
    },

    async history(query: RunHistoryQuery): Promise<{ runs: RunRecord[]; total: number }> {
      const conditions: string[] = [];
      const params: unknown[] = [];
      if (query.integration !== undefined) conditions.push(`integration = $${params.push(query.integration)}`);
      if (query.status !== undefined) conditions.push(`status = $${params.push(query.status)}`);
      if (query.direction !== undefined) conditions.push(`direction = $${params.push(query.direction)}`);
      const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
      const total = await q.query<{ n: string | number }>(`SELECT count(*) AS n FROM sync_runs ${where}`, params);
      const whole = (value: number, fallback: number) =>
        Number.isFinite(value) ? Math.max(0, Math.floor(value)) : fallback;
      const limit = Math.min(1000, whole(query.limit, 50));
      const offset = whole(query.offset, 0);
      const page = await rows(
        `SELECT * FROM sync_runs ${where} ORDER BY queued_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`,
        params,
      );
      return { runs: await withObjects(page), total: Number(total.rows[0].n) };
    },

    async totals(): Promise<RunTotals[]> {
      const { rows: found } = await q.query<Record<string, string | null>>(
        `SELECT integration, status, count(*) AS count, coalesce(sum(received), 0) AS received, coalesce(sum(accepted), 0) AS accepted,
                coalesce(sum(quarantined), 0) AS quarantined, coalesce(sum(duplicates), 0) AS duplicates,
                avg(extract(epoch FROM finished_at - started_at)) AS avg
         FROM sync_runs GROUP BY integration, status ORDER BY integration, status`,
      );
      return found.map((r) => ({
        integration: r.integration!,
        status: r.status!,
        count: Number(r.count),
        received: Number(r.received),
        accepted: Number(r.accepted),
        quarantined: Number(r.quarantined),
        duplicates: Number(r.duplicates),
        avgDurationSeconds: r.avg === null ? null : Number(r.avg),
      }));
    },

    /** Runs still queued or running that nothing has touched since `before`: candidates for reconciliation. */
    async unfinished(before: Date): Promise<RunRow[]> {
      return rows(
        `SELECT * FROM sync_runs WHERE status IN ('queued', 'running') AND updated_at < $1 ORDER BY queued_at, id LIMIT 1000`,
        [before],
      );
    },

    /**
     * Closes a stale run as failed, only if it is still untouched since `before` (the cutoff it was
     * found with): a delivery that made progress or finished it in the meantime wins. False when it did.
     */
    async closeStale(runId: string, before: Date, reason: string, at: Date): Promise<boolean> {
      const closed = await q.query(
        `UPDATE sync_runs SET status = 'failed', error = $3, finished_at = $4, updated_at = $4
         WHERE id = $1 AND status IN ('queued', 'running') AND updated_at < $2`,
        [runId, before, reason, at],
      );
      return closed.rowCount > 0;
    },
  };
}

const ACTOR_OF_TRIGGER: Record<RunTrigger, string> = {
  schedule: 'scheduler',
  api: 'api',
  webhook: 'webhook',
  change: 'change',
  demo: 'demo',
};

/**
 * The run a run job belongs to: the one it names, or, for a message without a run (a stack's schedule,
 * a change-triggered push), the one created for this job on its first delivery.
 */
export async function runOfJob(db: Db, job: Job, direction: RunDirection, clock: () => Date): Promise<RunRow | null> {
  const runs = createRunsRepository(db);
  const payload = (job.payload ?? {}) as RunPayload;
  if (payload.runId !== undefined) return runs.byId(payload.runId);
  if (!job.integration) throw new Error(`${job.kind} job ${job.id} names no integration`);
  const actor = ACTOR_OF_TRIGGER[payload.trigger ?? 'schedule'];
  await db.transaction(async (tx) => {
    const created = await tx.query(
      `INSERT INTO sync_runs (id, integration, direction, status, full_sync, actor, job_id, queued_at, updated_at)
       VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $7) ON CONFLICT (job_id) WHERE job_id IS NOT NULL DO NOTHING`,
      [randomUUID(), job.integration, direction, payload.full ?? false, actor, job.id, job.enqueuedAt ?? clock()],
    );
    if (created.rowCount > 0) {
      const action = direction === 'push' ? 'sync.push.trigger' : 'sync.trigger';
      await writeAudit(tx, {
        actor,
        action,
        target: job.integration!,
        outcome: 'queued',
        details: { jobId: job.id, trigger: payload.trigger ?? 'schedule' },
      });
    }
  });
  return runs.byJob(job.id);
}

/**
 * Closes the run of a dead-lettered run job (a sync or push) as failed with the reason, so that no run
 * stays `queued` or `running` for ever once its job is gone. A finished run is left as it is.
 */
export async function closeRunOfDeadJob(
  db: Db,
  job: Job,
  reason: string,
  clock: () => Date = () => new Date(),
): Promise<string | null> {
  if (job.kind !== 'sync' && job.kind !== 'push') return null;
  const runId = ((job.payload ?? {}) as RunPayload).runId ?? null;
  const error = `dead-lettered after ${job.attempts} deliveries: ${reason}`;
  return db.transaction(async (tx) => {
    const closed = await tx.query<{ id: string; actor: string; integration: string }>(
      `UPDATE sync_runs SET status = 'failed', error = $3, finished_at = $4, updated_at = $4
       WHERE (id = $1 OR job_id = $2) AND status IN ('queued', 'running')
       RETURNING id, actor, integration`,
      [runId, job.id, error, clock()],
    );
    const run = closed.rows[0];
    if (!run) return null;
    await writeAudit(tx, {
      actor: run.actor,
      action: 'sync.run',
      target: run.integration,
      outcome: 'failed',
      details: { runId: run.id, jobId: job.id, error },
    });
    return run.id;
  });
}
