/**
 * What every push (contacts, accounts) commits per page in one transaction: the destination's position,
 * moved only if no other delivery moved it since the page was read, the pushes remembered (under the
 * model's change lock, so no pull commits between them and the position), the run's counters and the
 * audit entry. Read and committed the same way for every kind of record, so the two stay in step.
 */
import type { Db, Queryable } from '@data-sync/pipelines/db';
import type { PushResult } from '@data-sync/integrations/connector';
import { writeAudit } from '../store/audit-repository';
import { createRunsRepository, type RunRow } from '../store/runs-repository';
import { CursorMoved, RunFinished } from './runs';
import type { EngineMetrics } from './types';

/** The destination's stored position for `cursorKey` (`push:<object>`), null before its first push. */
export async function pushPosition(db: Queryable, integration: string, cursorKey: string): Promise<string | null> {
  const stored = await db.query<{ cursor: string | null }>(
    'SELECT cursor FROM sync_cursors WHERE integration = $1 AND object = $2',
    [integration, cursorKey],
  );
  return stored.rows[0]?.cursor ?? null;
}

export interface PushPage {
  readonly run: RunRow;
  readonly object: string;
  readonly cursorKey: string;
  /** The position the page was read from; the commit throws CursorMoved when it is no longer the stored one. */
  readonly from: string | null;
  /** The last change in the page. */
  readonly position: string;
  /** The model's change lock (CONTACT_CHANGE_LOCK, ACCOUNT_CHANGE_LOCK). */
  readonly changeLock: string;
  /** Records what was pushed, for echo suppression. */
  remember(tx: Queryable): Promise<void>;
  /** The mapping the run's page counters are kept under. */
  readonly mapping: string;
  readonly result: PushResult;
  /** Changes in the page that were not sent (own source, opted out, unchanged). */
  readonly skipped: number;
  readonly received: number;
  readonly at: Date;
}

/** Commits `page`; throws RunFinished when the run already succeeded, CursorMoved when another delivery moved on. */
export async function commitPushPage(db: Db, page: PushPage): Promise<void> {
  const { run, cursorKey, result } = page;
  await db.transaction(async (tx) => {
    const runs = createRunsRepository(tx);
    if ((await runs.lockStatus(run.id)) === 'succeeded') throw new RunFinished();
    await tx.query(
      'INSERT INTO sync_cursors (integration, object, cursor) VALUES ($1, $2, NULL) ON CONFLICT DO NOTHING',
      [run.integration, cursorKey],
    );
    const current = await tx.query<{ cursor: string | null }>(
      'SELECT cursor FROM sync_cursors WHERE integration = $1 AND object = $2 FOR UPDATE',
      [run.integration, cursorKey],
    );
    if (current.rows[0].cursor !== page.from) throw new CursorMoved();
    await tx.query(page.changeLock);
    await page.remember(tx);
    await tx.query(
      'UPDATE sync_cursors SET cursor = $3, run_id = $4, updated_at = $5 WHERE integration = $1 AND object = $2',
      [run.integration, cursorKey, page.position, run.id, page.at],
    );
    const stats = {
      received: page.received,
      accepted: result.upserted,
      failed: result.failed.length,
      unchanged: page.skipped,
    };
    await runs.addPageStats(run.id, page.object, page.mapping, stats, page.at);
    await writeAudit(tx, {
      actor: run.actor,
      action: 'sync.push.page',
      target: run.integration,
      outcome: 'committed',
      details: {
        runId: run.id,
        object: page.object,
        position: page.position,
        ...stats,
        failures: result.failed.slice(0, 20),
      },
    });
  });
}

/** The page's outcome in the recordsPushed counter. */
export function countPushed(
  metrics: EngineMetrics | undefined,
  integration: string,
  result: PushResult,
  skipped: number,
) {
  const labels = { integration };
  metrics?.inc('recordsPushed', { ...labels, outcome: 'upserted' }, result.upserted);
  metrics?.inc('recordsPushed', { ...labels, outcome: 'failed' }, result.failed.length);
  metrics?.inc('recordsPushed', { ...labels, outcome: 'skipped' }, skipped);
}
