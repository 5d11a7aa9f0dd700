/**
 * The reconciliation sweep as a stack's schedule drives it: a schedule message (config/job-message)
 * runs the sync, which queues a 'sweep' job for vendors whose API lists no deletes (Pipedrive, Klaviyo
 * profiles) once a day; the sweep tombstones the synced records the vendor no longer lists.
 */
import pino from 'pino';
import { scheduleMessage } from '@data-sync/config/job-message';
import { CONNECTORS } from '@data-sync/integrations/registry';
import { migrate, openPglite, type Db } from '@data-sync/pipelines/db';
import { startFakeKlaviyo, type KlaviyoFake } from '@data-sync/vendor-fakes/klaviyo';
import { startFakePipedrive, type FakePipedrive } from '@data-sync/vendor-fakes/pipedrive';
import { createStoreBinding } from '../queue/store-binding';
import type { QueueBinding } from '../queue/binding';
import { MIGRATIONS } from '../store/migrations';
import { createSyncEngine, type IntegrationInfo, type SyncEngine } from '.';
import { SWEEP_EVERY_MS } from './sweep';

let db: Db;
let pipedrive: FakePipedrive;
let klaviyo: KlaviyoFake;
let queue: QueueBinding;
let engine: SyncEngine;
let now = Date.parse('2026-03-02T06:00:00Z');
const handled: string[] = [];

beforeAll(async () => {
  [db, pipedrive, klaviyo] = await Promise.all([
    openPglite(),
    startFakePipedrive({ seed: { persons: 6 } }),
    startFakeKlaviyo({ seed: { profiles: 5 } }),
  ]);
  await migrate(db, MIGRATIONS);
  const registry = new Map<string, IntegrationInfo>([
    [
      'pipedrive',
      {
        name: 'pipedrive',
        system: 'pipedrive',
        objects: ['persons'],
        config: {
          baseUrl: pipedrive.url,
          apiToken: pipedrive.state.apiToken,
          companyId: 7001,
          webhookUser: 'sync',
          webhookPassword: 'webhook-password-1',
        },
      },
    ],
    [
      'klaviyo',
      {
        name: 'klaviyo',
        system: 'klaviyo',
        objects: ['profiles'],
        config: { apiKey: klaviyo.state.apiKey, baseUrl: klaviyo.url },
      },
    ],
  ]);
  queue = createStoreBinding({
    db,
    queue: `sweep-${process.pid}`,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
  });
  engine = createSyncEngine({
    db,
    queue,
    logger: pino({ level: 'silent' }),
    integrations: { get: async (n) => registry.get(n) ?? null, list: async () => [...registry.values()] },
    connectors: (system) => CONNECTORS[system],
    clock: () => new Date(now),
  });
}, 60_000);
afterAll(async () => {
  await Promise.all([pipedrive?.close(), klaviyo?.close()]);
  await db?.close();
});

/** What every cloud's schedule sends for `integration`, then the worker loop until nothing is ready. */
async function scheduled(integration: string): Promise<void> {
  await queue.enqueue(scheduleMessage(integration));
  for (;;) {
    const jobs = await queue.claim(10, 60_000);
    if (jobs.length === 0) return;
    for (const job of jobs) {
      handled.push(`${job.kind}:${job.integration}`);
      await engine.handle(job);
      await queue.ack(job);
    }
  }
}

const live = async (integration: string) =>
  (
    await db.query<{ external_id: string }>(
      'SELECT external_id FROM synced_records WHERE integration = $1 AND NOT deleted ORDER BY external_id',
      [integration],
    )
  ).rows.map((r) => r.external_id);

test.each([
  ['pipedrive', 'persons'],
  ['klaviyo', 'profiles'],
])(
  '%s: a record deleted at the vendor is tombstoned by the daily sweep its scheduled sync queues',
  async (integration, object) => {
    const fake = integration === 'pipedrive' ? pipedrive : klaviyo;
    handled.length = 0;
    await scheduled(integration);
    expect(handled).toEqual([`sync:${integration}`, `sweep:${integration}`]);
    expect(await live(integration)).toEqual([...fake.ids(object)].sort());

    const [gone] = fake.ids(object);
    fake.remove!(object, gone);
    // The next scheduled sync within the day queues no sweep, and the pull alone does not see the delete.
    now += 3_600_000;
    handled.length = 0;
    await scheduled(integration);
    expect(handled).toEqual([`sync:${integration}`]);
    expect(await live(integration)).toContain(gone);

    now += SWEEP_EVERY_MS;
    handled.length = 0;
    await scheduled(integration);
    expect(handled).toEqual([`sync:${integration}`, `sweep:${integration}`]);
    expect(await live(integration)).toEqual([...fake.ids(object)].sort());
    const tombstone = await db.query<{ deleted: boolean }>(
      'SELECT deleted FROM synced_records WHERE integration = $1 AND object = $2 AND external_id = $3',
      [integration, object, gone],
    );
    expect(tombstone.rows).toEqual([{ deleted: true }]);
  },
);

test('a sweep job that names no integration is refused', async () => {
  await expect(engine.handle({ id: 'x', kind: 'sweep', payload: {}, attempts: 1 } as never)).rejects.toThrow(
    /integration: required for a sweep job/,
  );
});
