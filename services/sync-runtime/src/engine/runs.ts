/** Run rows and what the pull and push jobs share to record their progress. */
import { randomUUID } from 'crypto';
import { IntegrationError } from '@data-sync/integrations/connector';
import type { RunPayload, RunTrigger } from '@data-sync/config/job-message';
import type { Db, Queryable } from '@data-sync/pipelines/db';
import type { Job } from '../queue/binding';
import type { RunDirection, RunObjectStats, RunRecord, RunStatus } from './types';

/** Connector errors that a retry cannot fix: the run fails and the job is not retried. */
export const PERMANENT: ReadonlySet<IntegrationError['kind']> = new Set(['auth', 'invalid_config']);

/** Another delivery of the same run moved the cursor first: this page is dropped and the cursor read again. */
export class CursorMoved extends Error {}

/** Another delivery of the same run finished it: this one stops without writing. */
export class RunFinished extends Error {}

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

/** A clear, one-line reason for a failed run. */
export function describeError(error: unknown): string {
  if (error instanceof IntegrationError)
    return `${error.kind}${error.status ? ` (HTTP ${error.status})` : ''}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

export async function audit(
  tx: Queryable,
  entry: { actor: string; action: string; target: string; outcome: string; details?: unknown },
) {
  await tx.query('INSERT INTO audit_log (actor, action, target, outcome, details) VALUES ($1, $2, $3, $4, $5::jsonb)', [
    entry.actor,
    entry.action,
    entry.target,
    entry.outcome,
    JSON.stringify(entry.details ?? {}),
  ]);
}

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

/** Adds one committed page's counts to its run and to the run's object, inside the page's transaction. */
export async function addPageStats(
  tx: Queryable,
  runId: string,
  object: string,
  mapping: string | null,
  stats: PageStats,
  at: Date,
): Promise<void> {
  const values = STAT_COLUMNS.map((c) => stats[c] ?? 0);
  await tx.query(
    `UPDATE sync_runs SET pages = pages + 1, ${STAT_COLUMNS.map((c, i) => `${c} = ${c} + $${i + 2}`).join(', ')}, updated_at = $${STAT_COLUMNS.length + 2} WHERE id = $1`,
    [runId, ...values, at],
  );
  await tx.query(
    `INSERT INTO sync_run_objects (run_id, object, mapping, pages, ${STAT_COLUMNS.join(', ')}) VALUES ($1, $2, $3, 1, ${STAT_COLUMNS.map((_, i) => `$${i + 4}`).join(', ')})
     ON CONFLICT (run_id, object) DO UPDATE SET pages = sync_run_objects.pages + 1, ${STAT_COLUMNS.map((c) => `${c} = sync_run_objects.${c} + EXCLUDED.${c}`).join(', ')}`,
    [runId, object, mapping, ...values],
  );
}

/** Per-object stats of the given runs. */
export async function objectStats(
  db: Queryable,
  runIds: readonly string[],
): Promise<Map<string, Record<string, RunObjectStats>>> {
  const out = new Map<string, Record<string, RunObjectStats>>();
  if (runIds.length === 0) return out;
  const { rows } = await db.query<Record<string, unknown> & { run_id: string; object: string; mapping: string | null }>(
    'SELECT * FROM sync_run_objects WHERE run_id = ANY($1::text[]) ORDER BY run_id, object',
    [runIds],
  );
  for (const row of rows) {
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
  const payload = (job.payload ?? {}) as RunPayload;
  if (payload.runId !== undefined)
    return (await db.query<RunRow>('SELECT * FROM sync_runs WHERE id = $1', [payload.runId])).rows[0] ?? null;
  if (!job.integration) throw new Error(`${job.kind} job ${job.id} names no integration`);
  const actor = ACTOR_OF_TRIGGER[payload.trigger ?? 'schedule'];
  await db.transaction(async (tx) => {
    const created = await tx.query(
      `INSERT INTO sync_runs (id, integration, direction, status, full_sync, actor, job_id, queued_at, updated_at)
       VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $7) ON CONFLICT (job_id) WHERE job_id IS NOT NULL DO NOTHING`,
      [randomUUID(), job.integration, direction, payload.full ?? false, actor, job.id, job.enqueuedAt ?? clock()],
    );
    if (created.rowCount > 0)
      await audit(tx, {
        actor,
        action: direction === 'push' ? 'sync.push.trigger' : 'sync.trigger',
        target: job.integration!,
        outcome: 'queued',
        details: { jobId: job.id, trigger: payload.trigger ?? 'schedule' },
      });
  });
  return (await db.query<RunRow>('SELECT * FROM sync_runs WHERE job_id = $1', [job.id])).rows[0] ?? null;
}
