/**
 * Delete detection where the vendor's API lists no deleted records (Klaviyo profiles, Pipedrive v2,
 * NetSuite, Meta leads: the objects a module names in `sweepObjects`). A scheduled sync that succeeds
 * queues a 'sweep' job once a day per integration, so every cloud's schedule drives the sweep too; the
 * job lists the ids still live at the vendor (sweepDeleted) and tombstones, through the engine's sink,
 * the synced records that are gone, as a pull's `deletedIds` would.
 */
import type { Logger } from 'pino';
import type { ConnectorModule } from '@data-sync/integrations/connector';
import { sweepDeleted } from '@data-sync/integrations/reconcile';
import type { Db } from '@data-sync/pipelines/db';
import type { Job, QueueBinding } from '../queue/binding';
import { writeAudit } from '../store/audit-repository';
import type { RunLifecycle } from './lifecycle';
import type { IntegrationInfo, RecordSink } from './types';

/** How often an integration is swept at most: listing every id is a full read of the objects. */
export const SWEEP_EVERY_MS = 24 * 3_600_000;

const objectsToSweep = (integration: IntegrationInfo, module: ConnectorModule) =>
  integration.objects.filter((object) => module.sweepObjects?.includes(object));

export interface SweepDeps {
  readonly db: Db;
  readonly queue: QueueBinding;
  readonly sink: RecordSink;
  readonly lifecycle: Pick<RunLifecycle, 'openConnector'>;
  readonly logger: Logger;
  readonly clock: () => Date;
}

export function createSweeps(deps: SweepDeps) {
  const { db, queue, sink, lifecycle, logger, clock } = deps;

  /** Queues a sweep of `integration` after its scheduled sync when it sweeps objects and its last sweep is a day old. */
  async function queueIfDue(integration: IntegrationInfo, module: ConnectorModule): Promise<boolean> {
    if (objectsToSweep(integration, module).length === 0) return false;
    const last = await db.query<{ at: string | null }>(
      `SELECT max(details->>'sweptAt') AS at FROM audit_log WHERE action = 'sync.sweep' AND target = $1`,
      [integration.name],
    );
    const at = last.rows[0]?.at;
    if (at && clock().getTime() - Date.parse(at) < SWEEP_EVERY_MS) return false;
    await queue.enqueue({
      kind: 'sweep',
      integration: integration.name,
      payload: {},
      dedupeKey: `sweep:${integration.name}`,
    });
    return true;
  }

  /** The 'sweep' job: each swept object's ids listed at the vendor; the synced ids missing there are tombstoned. */
  async function sweepJob(job: Job): Promise<void> {
    const name = job.integration!;
    const log = logger.child({ integration: name, jobId: job.id });
    const opened = await lifecycle.openConnector({ integration: name });
    if ('failure' in opened) {
      // Removed, disabled or misconfigured since the sync that queued it: its next sync reports why.
      log.warn({ reason: opened.failure }, 'sweep skipped');
      return;
    }
    const { integration, module, connector } = opened;
    for (const object of objectsToSweep(integration, module)) {
      // Read before listing: a record synced meanwhile is not among them, so it cannot be taken for deleted.
      const known = await db.query<{ external_id: string }>(
        'SELECT external_id FROM synced_records WHERE integration = $1 AND object = $2 AND NOT deleted',
        [name, object],
      );
      const ids = known.rows.map((r) => r.external_id);
      const gone = await sweepDeleted(integration.system, connector, object, ids);
      await db.transaction(async (tx) => {
        await sink.upsert(tx, { integration: name, object, runId: `sweep:${job.id}` }, [], gone);
        await writeAudit(tx, {
          actor: 'scheduler',
          action: 'sync.sweep',
          target: name,
          outcome: 'committed',
          details: { jobId: job.id, object, known: ids.length, deleted: gone.length, sweptAt: clock().toISOString() },
        });
      });
      log.info({ object, known: ids.length, deleted: gone.length }, 'sweep committed');
    }
  }

  return { queueIfDue, sweepJob };
}
