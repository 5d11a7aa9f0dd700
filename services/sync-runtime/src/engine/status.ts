/** What the engine reports: each integration's state, the run history, and the end-to-end probe. */
import { randomUUID } from 'crypto';
import * as os from 'os';
import type { Mapping } from '@data-sync/pipelines/mappings';
import type { Db } from '@data-sync/pipelines/db';
import type { Job, QueueBinding } from '../queue/binding';
import { createRunsRepository, type RunHistoryQuery } from '../store/runs-repository';
import type { IntegrationSource, IntegrationStatus, ProbeResult, RunRecord } from './types';

export interface StatusDeps {
  readonly db: Db;
  readonly queue: QueueBinding;
  readonly integrations: IntegrationSource;
  readonly mappings: (system: string, object: string, direction: 'inbound' | 'outbound') => Mapping | undefined;
}

export interface EngineStatus {
  status(): Promise<IntegrationStatus[]>;
  history(q: RunHistoryQuery): Promise<{ runs: RunRecord[]; total: number }>;
  /** Sends a probe job through queue, worker and store, and answers with its timings. */
  probe(opts?: { timeoutMs?: number }): Promise<ProbeResult>;
  /** The 'probe' job's handler: records when a worker picked the probe up and finished it. */
  probeJob(job: Job): Promise<void>;
}

export function createEngineStatus(deps: StatusDeps): EngineStatus {
  const { db, queue, integrations, mappings } = deps;
  const runs = createRunsRepository(db);
  const workerName = `${os.hostname()}:${process.pid}`;

  return {
    async status() {
      const list = await integrations.list();
      const names = list.map((i) => i.name);
      const [latest, running, cursors] = await Promise.all([
        runs.latest(names),
        runs.running(names),
        db.query<{ integration: string; object: string; cursor: string | null }>(
          'SELECT integration, object, cursor FROM sync_cursors WHERE integration = ANY($1::text[])',
          [names],
        ),
      ]);
      return list.map((integration) => {
        const stored = cursors.rows.filter((c) => c.integration === integration.name);
        const cursorOf = (object: string) => stored.find((c) => c.object === object)?.cursor ?? null;
        return {
          integration: integration.name,
          lastRun: latest.find((r) => r.integration === integration.name) ?? null,
          cursors: Object.fromEntries(integration.objects.map((object) => [object, cursorOf(object)])),
          mappings: Object.fromEntries(
            integration.objects.map((object) => [
              object,
              mappings(integration.system, object, 'inbound')?.name ?? null,
            ]),
          ),
          pushCursors: Object.fromEntries(
            (integration.pushObjects ?? []).map((object) => [object, cursorOf(`push:${object}`)]),
          ),
          running: running.has(integration.name),
        };
      });
    },

    history: (q) => runs.history(q),

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
          const error = `no worker processed the probe job within ${timeoutMs} ms`;
          return { ok: false, runId: probeId, timings: { enqueueMs, pickupMs: 0, processMs: 0, totalMs }, error };
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },

    async probeJob(job) {
      const payload = job.payload as { probeId?: string } | null;
      if (!payload || typeof payload.probeId !== 'string')
        throw new Error(`probe job ${job.id} has no probeId in its payload`);
      const picked = await db.query(
        'UPDATE probe_runs SET picked_at = COALESCE(picked_at, clock_timestamp()), worker = $2 WHERE id = $1',
        [payload.probeId, workerName],
      );
      if (picked.rowCount === 0) throw new Error(`probe ${payload.probeId} is not in the store this worker uses`);
      await db.query('UPDATE probe_runs SET finished_at = clock_timestamp() WHERE id = $1', [payload.probeId]);
    },
  };
}
