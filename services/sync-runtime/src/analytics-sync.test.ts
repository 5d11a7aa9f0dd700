/**
 * The inbound seam for analytics: the real engine, worker loop and store queue, each connector
 * against its fake, and the engine's store sink wrapped with withAnalyticsModel: pulled pages land in
 * `events` and `metrics_daily`, a re-run changes nothing, and a re-pulled GA4 day is replaced.
 */
import pino from 'pino';
import { CONNECTORS } from '@data-sync/integrations/registry';
import { startAnalyticsDemoFakes, type AnalyticsDemoFakes } from '@data-sync/vendor-fakes/demo/analytics';
import { migrate, openPglite, type Db } from '@data-sync/pipelines/db';
import { withAnalyticsModel } from '@data-sync/pipelines/analytics';
import { createStoreSink, createSyncEngine, type IntegrationInfo, type SyncEngine } from './engine';
import { createStoreBinding } from './queue/store-binding';
import type { QueueBinding } from './queue/binding';
import { MIGRATIONS } from './store/migrations';

let db: Db;
let fakes: AnalyticsDemoFakes;
let engine: SyncEngine;
let queue: QueueBinding;

const INTEGRATIONS: Record<string, string[]> = {
  google_analytics: ['metrics'],
  mixpanel: ['events'],
  amplitude: ['events'],
};

beforeAll(async () => {
  [db, fakes] = await Promise.all([openPglite(), startAnalyticsDemoFakes()]);
  await migrate(db, MIGRATIONS);
  const registry = new Map<string, IntegrationInfo>(
    Object.entries(INTEGRATIONS).map(([name, objects]) => [
      name,
      { name, system: name, config: fakes.configs[name as keyof typeof fakes.configs], objects },
    ]),
  );
  queue = createStoreBinding({
    db,
    queue: `analytics-sync-${process.pid}`,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
  });
  engine = createSyncEngine({
    db,
    queue,
    logger: pino({ level: 'silent' }),
    integrations: { get: async (n) => registry.get(n) ?? null, list: async () => [...registry.values()] },
    connectors: (system) => CONNECTORS[system],
    sink: withAnalyticsModel(createStoreSink()),
  });
}, 60_000);
afterAll(async () => {
  await fakes?.close();
  await db?.close();
});

async function syncAll(full: boolean): Promise<void> {
  for (const name of Object.keys(INTEGRATIONS)) await engine.trigger(name, { actor: 'test', full });
  for (;;) {
    const jobs = await queue.claim(10, 60_000);
    if (jobs.length === 0) return;
    for (const job of jobs) {
      await engine.handle(job);
      await queue.ack(job);
    }
  }
}

const count = async (sql: string) => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`)).rows[0].n;

test('synced pages reach events and metrics_daily; a second sync adds nothing; every run succeeds', async () => {
  await syncAll(true);
  const runs = (await engine.history({ limit: 10, offset: 0 })).runs as {
    integration: string;
    status: string;
    error: string | null;
  }[];
  expect(runs.map((r) => [r.integration, r.status, r.error]).sort()).toEqual([
    ['amplitude', 'succeeded', null],
    ['google_analytics', 'succeeded', null],
    ['mixpanel', 'succeeded', null],
  ]);
  expect(await count("events WHERE source = 'mixpanel'")).toBe(200);
  expect(await count("events WHERE source = 'amplitude'")).toBe(200);
  // 20 (date, eventName) rows, two metrics each.
  expect(await count("metrics_daily WHERE source = 'google_analytics'")).toBe(40);
  const before = await db.query('SELECT source, event_id, content_hash FROM events ORDER BY source, event_id');

  await syncAll(false);
  expect((await db.query('SELECT source, event_id, content_hash FROM events ORDER BY source, event_id')).rows).toEqual(
    before.rows,
  );
  // The incremental GA4 pull re-read the look-back days under a new pull id and replaced them: still 40 rows.
  expect(await count("metrics_daily WHERE source = 'google_analytics'")).toBe(40);
  const pulls = await db.query<{ recent: boolean; pulls: number }>(
    'SELECT date >= current_date - 3 AS recent, count(DISTINCT pull_id)::int AS pulls FROM metrics_daily GROUP BY 1 ORDER BY 1',
  );
  // Days older than the look-back keep the first pull's rows; the look-back days hold the second pull's.
  expect(pulls.rows).toEqual([
    { recent: false, pulls: 1 },
    { recent: true, pulls: 1 },
  ]);
  expect(new Set((await db.query('SELECT DISTINCT pull_id FROM metrics_daily')).rows.map((r) => r.pull_id)).size).toBe(
    2,
  );
  expect(await count('pipeline_quarantine')).toBe(0);
}, 120_000);
