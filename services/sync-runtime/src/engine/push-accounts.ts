/**
 * The push of accounts to a destination object that holds organizations (pipelines/account-push.ts
 * decides what goes): batches of the accounts changed since the destination's position, each batch's
 * position, remembered pushes, run counters and audit entry committed together (push-page.ts), as contact
 * pushes are.
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
import type { RunRow } from '../store/runs-repository';
import { commitPushPage, countPushed, pushPosition } from './push-page';
import { CursorMoved } from './runs';
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
    const from = await pushPosition(db, run.integration, cursorKey);
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
    try {
      await commitPushPage(db, {
        run,
        object,
        cursorKey,
        from,
        position: changes[changes.length - 1].change_seq,
        changeLock: ACCOUNT_CHANGE_LOCK,
        remember: (tx) => recordAccountPushes(tx, run.integration, sent),
        mapping: 'internal_to_accounts',
        result,
        skipped: prepared.skipped,
        received: changes.length,
        at: clock(),
      });
    } catch (error) {
      // Another delivery moved the position: continue from where it is now.
      if (error instanceof CursorMoved) continue;
      throw error;
    }
    countPushed(metrics, run.integration, result, prepared.skipped);
    if (changes.length < BATCH) return;
  }
}
