/** Ingest batches through the pipeline (table pipeline_runs): queued by the API, run by the 'pipeline' job. */
import type { Queryable } from '@data-sync/pipelines/db';
import type { BatchCounts } from '../api/deps';

interface PipelineRunRow {
  id: string;
  integration: string;
  mapping: string;
  status: string;
  actor: string;
  job_id: string | null;
  received: number;
  accepted: number;
  quarantined: number;
  duplicates: number;
  inserted: number;
  updated: number;
  unchanged: number;
  error: string | null;
  queued_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

/** A pipeline run as the API shows it. */
export const toPipelineRunView = (r: PipelineRunRow) => ({
  id: r.id,
  integration: r.integration,
  mapping: r.mapping,
  status: r.status,
  actor: r.actor,
  jobId: r.job_id,
  received: r.received,
  accepted: r.accepted,
  quarantined: r.quarantined,
  duplicates: r.duplicates,
  inserted: r.inserted,
  updated: r.updated,
  unchanged: r.unchanged,
  error: r.error,
  queuedAt: iso(r.queued_at)!,
  startedAt: iso(r.started_at),
  finishedAt: iso(r.finished_at),
});

export type PipelineRunView = ReturnType<typeof toPipelineRunView>;

const METRIC_COUNTS = [
  'runs',
  'failed',
  'received',
  'accepted',
  'quarantined',
  'duplicates',
  'inserted',
  'updated',
  'unchanged',
] as const;

export type PipelineRunsRepository = ReturnType<typeof createPipelineRunsRepository>;

export function createPipelineRunsRepository(q: Queryable) {
  return {
    async insertQueued(run: { id: string; integration: string; mapping: string; actor: string }): Promise<void> {
      await q.query(
        `INSERT INTO pipeline_runs (id, integration, mapping, status, actor) VALUES ($1, $2, $3, 'queued', $4)`,
        [run.id, run.integration, run.mapping, run.actor],
      );
    },

    async attachJob(runId: string, jobId: string): Promise<void> {
      await q.query('UPDATE pipeline_runs SET job_id = $2 WHERE id = $1', [runId, jobId]);
    },

    /** A run whose job could not be enqueued. */
    async failUnqueued(runId: string, reason: string): Promise<void> {
      await q.query(`UPDATE pipeline_runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1`, [
        runId,
        reason,
      ]);
    },

    /** Marks the run running; false when it already succeeded (a redelivered job does nothing). */
    async start(runId: string): Promise<boolean> {
      const { rows } = await q.query(
        `UPDATE pipeline_runs SET status = 'running', started_at = COALESCE(started_at, now()) WHERE id = $1 AND status <> 'succeeded' RETURNING status`,
        [runId],
      );
      return rows.length > 0;
    },

    async succeed(runId: string, counts: BatchCounts): Promise<void> {
      await q.query(
        `UPDATE pipeline_runs SET status = 'succeeded', received = $2, accepted = $3, quarantined = $4, duplicates = $5, inserted = $6,
           updated = $7, unchanged = $8, error = NULL, finished_at = now() WHERE id = $1`,
        [
          runId,
          counts.received,
          counts.accepted,
          counts.quarantined,
          counts.duplicates,
          counts.inserted,
          counts.updated,
          counts.unchanged,
        ],
      );
    },

    async fail(runId: string, reason: string): Promise<void> {
      await q.query(`UPDATE pipeline_runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1`, [
        runId,
        reason,
      ]);
    },

    /** A page of runs (newest first) and the count of each status, of one integration or all. */
    async list(query: {
      integration?: string;
      limit: number;
      offset: number;
    }): Promise<{ runs: PipelineRunView[]; byStatus: Record<string, number> }> {
      const where = query.integration === undefined ? '' : 'WHERE integration = $1';
      const params = query.integration === undefined ? [] : [query.integration];
      const [runs, counts] = await Promise.all([
        q.query<PipelineRunRow>(
          `SELECT * FROM pipeline_runs ${where} ORDER BY queued_at DESC, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
          [...params, query.limit, query.offset],
        ),
        q.query<{ status: string; n: string }>(
          `SELECT status, count(*) AS n FROM pipeline_runs ${where} GROUP BY status`,
          params,
        ),
      ]);
      return {
        runs: runs.rows.map(toPipelineRunView),
        byStatus: Object.fromEntries(counts.rows.map((r) => [r.status, Number(r.n)])),
      };
    },

    /** Records through the pipeline per integration. */
    async totals(): Promise<Record<string, unknown>[]> {
      const { rows } = await q.query<Record<string, string>>(
        `SELECT integration, count(*) AS runs, count(*) FILTER (WHERE status = 'failed') AS failed,
                sum(received) AS received, sum(accepted) AS accepted, sum(quarantined) AS quarantined, sum(duplicates) AS duplicates,
                sum(inserted) AS inserted, sum(updated) AS updated, sum(unchanged) AS unchanged,
                avg(extract(epoch FROM finished_at - started_at)) AS avg_seconds
         FROM pipeline_runs GROUP BY integration ORDER BY integration`,
      );
      return rows.map((r) => ({
        integration: r.integration,
        ...Object.fromEntries(METRIC_COUNTS.map((k) => [k, Number(r[k] ?? 0)])),
        avgSeconds: r.avg_seconds === null ? null : Number(r.avg_seconds),
      }));
    },
  };
}
