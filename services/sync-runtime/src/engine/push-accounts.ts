/**
 * The push of accounts to a destination object that holds organizations (pipelines/account-push.ts
 * decides what goes): batches of the accounts changed since the destination's position, each batch's
 * position, remembered pushes, run counters and audit entry committed together, as contact pushes are.
 */
import type { Connector } from '@data-sync/integrations/connector';
import {
  ACCOUNT_CHANGE_LOCK,
  accountChangesAfter,
  accountOutbound,
  prepareAccountPush,
  recordAccountPushes,
} from '@data-sync/pipelines/account-push';
import type { Db } from '@data-sync/pipelines/db';
import { writeAudit } from '../store/audit-repository';
import { createRunsRepository, type RunRow } from '../store/runs-repository';
import { CursorMoved, RunFinished } from './runs';
import type { EngineMetrics, IntegrationInfo } from './types';

const BATCH = 500;

export async function pushAccounts(
  deps: { readonly db: Db; readonly clock: () => Date; readonly metrics?: EngineMetrics },
  run: RunRow,
  integration: IntegrationInfo,
  connector: Connector,
  object: string,
): Promise<void> {
  const { db, clock, metrics } = deps;
  const map = accountOutbound(integration.system, object)!;
  const cursorKey = `push:${object}`;
  for (;;) {
    const stored = await db.query<{ cursor: string | null }>(
      'SELECT cursor FROM sync_cursors WHERE integration = $1 AND object = $2',
      [run.integration, cursorKey],
    );
    const from = stored.rows[0]?.cursor ?? null;
    const changes = await accountChangesAfter(db, from ?? '0', BATCH);
    if (changes.length === 0) return;
    const prepared = await prepareAccountPush(db, run.integration, map, changes);
    const result =
      prepared.records.length > 0
        ? await connector.push(
            object,
            prepared.records.map((r) => r.record),
          )
        : { upserted: 0, failed: [] };
    const refused = new Set(result.failed.map((f) => String(f.key).trim().toLowerCase()));
    const sent = prepared.records.filter((r) => !refused.has(r.vendorKey.trim().toLowerCase()));
    const position = changes[changes.length - 1].change_seq;
    const stats = {
      received: changes.length,
      accepted: result.upserted,
      failed: result.failed.length,
      unchanged: prepared.skipped,
    };
    try {
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
        if (current.rows[0].cursor !== from) throw new CursorMoved();
        await tx.query(ACCOUNT_CHANGE_LOCK);
        await recordAccountPushes(tx, run.integration, sent);
        await tx.query(
          'UPDATE sync_cursors SET cursor = $3, run_id = $4, updated_at = $5 WHERE integration = $1 AND object = $2',
          [run.integration, cursorKey, position, run.id, clock()],
        );
        await runs.addPageStats(run.id, object, 'internal_to_accounts', stats, clock());
        await writeAudit(tx, {
          actor: run.actor,
          action: 'sync.push.page',
          target: run.integration,
          outcome: 'committed',
          details: { runId: run.id, object, position, ...stats, failures: result.failed.slice(0, 20) },
        });
      });
    } catch (error) {
      // Another delivery moved the position: continue from where it is now.
      if (error instanceof CursorMoved) continue;
      throw error;
    }
    const labels = { integration: run.integration };
    metrics?.inc('recordsPushed', { ...labels, outcome: 'upserted' }, result.upserted);
    metrics?.inc('recordsPushed', { ...labels, outcome: 'failed' }, result.failed.length);
    metrics?.inc('recordsPushed', { ...labels, outcome: 'skipped' }, prepared.skipped);
    if (changes.length < BATCH) return;
  }
}
