import type { Logger } from 'pino';
import type { Db } from '@data-sync/pipelines/db';
import type { SyncEngine } from './engine';
import type { IntegrationSource } from './types';

export interface SchedulerDeps {
  readonly db: Db;
  readonly engine: Pick<SyncEngine, 'trigger' | 'reconcile' | 'pullInFlight'>;
  readonly integrations: IntegrationSource;
  /** Minutes between scheduled runs of an integration; undefined or <= 0: not scheduled. */
  readonly intervals: (name: string) => number | undefined;
  readonly logger?: Logger;
  /** How often start() ticks (default 30 s). */
  readonly tickMs?: number;
}

export interface Scheduler {
  /** Enqueues the runs due at `now`; returns the names of the integrations it queued a run for. */
  tick(now: Date): Promise<string[]>;
  start(): void;
  stop(): void;
}

/**
 * Enqueues each integration's sync every `intervals(name)` minutes. Several instances may tick at
 * once: a due slot is taken by one atomic UPDATE of its `sync_schedules` row (next_run_at moves
 * forward), so exactly one instance queues the run. A pull still queued or awaiting redelivery is not doubled;
 * one whose job the queue lost or dead-lettered is closed first (engine.reconcile), so it blocks nothing.
 */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { db, engine, integrations, intervals, logger } = deps;
  const tickMs = deps.tickMs ?? 30_000;
  let timer: NodeJS.Timeout | null = null;
  let ticking: Promise<unknown> = Promise.resolve();

  async function tick(now: Date): Promise<string[]> {
    const queued: string[] = [];
    try {
      await engine.reconcile();
    } catch (error) {
      // Scheduling goes on: a stale run only delays its integration's next run until a tick reconciles it.
      logger?.error({ err: error }, 'runs could not be reconciled with the queue');
    }
    for (const integration of await integrations.list()) {
      const minutes = intervals(integration.name);
      if (minutes === undefined || !(minutes > 0)) continue;
      await db.query(
        `INSERT INTO sync_schedules (integration, interval_minutes, next_run_at) VALUES ($1, $2, $3)
         ON CONFLICT (integration) DO UPDATE SET interval_minutes = EXCLUDED.interval_minutes,
           next_run_at = CASE WHEN sync_schedules.interval_minutes <> EXCLUDED.interval_minutes AND sync_schedules.last_enqueued_at IS NOT NULL
                              THEN sync_schedules.last_enqueued_at + EXCLUDED.interval_minutes * interval '1 minute'
                              ELSE sync_schedules.next_run_at END`,
        [integration.name, Math.round(minutes), now],
      );
      const claimed = await db.query<{ previous: Date | string }>(
        `UPDATE sync_schedules s SET next_run_at = $2::timestamptz + s.interval_minutes * interval '1 minute', last_enqueued_at = $2
         FROM (SELECT integration, next_run_at AS previous FROM sync_schedules WHERE integration = $1 FOR UPDATE) p
         WHERE s.integration = p.integration AND s.next_run_at <= $2
         RETURNING p.previous`,
        [integration.name, now],
      );
      if (claimed.rowCount === 0) continue;
      if (await engine.pullInFlight(integration.name)) {
        logger?.info({ integration: integration.name }, 'scheduled run skipped: a pull is still queued or retrying');
        continue;
      }
      try {
        const { runId } = await engine.trigger(integration.name, { actor: 'scheduler' });
        await db.query('UPDATE sync_schedules SET last_run_id = $2 WHERE integration = $1', [integration.name, runId]);
        queued.push(integration.name);
      } catch (error) {
        // Give the slot back so the next tick (here or on another instance) tries again.
        await db.query('UPDATE sync_schedules SET next_run_at = $2 WHERE integration = $1', [
          integration.name,
          claimed.rows[0].previous,
        ]);
        logger?.error({ err: error, integration: integration.name }, 'scheduled run could not be queued');
      }
    }
    return queued;
  }

  return {
    tick,
    start() {
      if (timer) return;
      const run = () => {
        // Ticks never overlap: a slow tick delays the next one.
        ticking = ticking
          .then(() => tick(new Date()))
          .catch((error) => logger?.error({ err: error }, 'scheduler tick failed'));
      };
      timer = setInterval(run, tickMs);
      run();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
