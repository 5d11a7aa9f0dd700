import pino from 'pino';
import { FakeSource, fakeConnector, startFakeSource } from '../../test/support/fake-source';
import { TestStore, openTestPglite } from '../../test/support/store';
import type { QueueBinding } from '../queue/binding';
import { createStoreBinding } from '../queue/store-binding';
import { IntegrationInfo, SyncEngine, createScheduler, createSyncEngine } from '.';

const logger = pino({ level: 'silent' });

let store: TestStore;
let source: FakeSource;
let n = 0;
beforeAll(async () => {
  [store, source] = await Promise.all([openTestPglite(), startFakeSource()]);
});
afterAll(async () => {
  await source.close();
  await store.drop();
});

/** One integration on its own queue; every open run counts as stale at once (staleRunMs 0). */
function setup() {
  const name = `rec${++n}`;
  const integration: IntegrationInfo = {
    name,
    system: 'fake-http',
    config: { baseUrl: source.url, dataset: name, token: 'secret', pageSize: 10 },
    objects: ['contacts'],
  };
  const integrations = { get: async (x: string) => (x === name ? integration : null), list: async () => [integration] };
  const queue = createStoreBinding({
    db: store.db,
    queue: `reconcile-${name}`,
    retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  const engine = createSyncEngine({
    db: store.db,
    queue,
    integrations,
    connectors: () => fakeConnector,
    logger,
    staleRunMs: 0,
  });
  const scheduler = createScheduler({ db: store.db, engine, integrations, intervals: () => 60, logger });
  return { name, queue, engine, scheduler };
}

const runsOf = async (engine: SyncEngine, integration: string) =>
  (await engine.history({ integration, limit: 100, offset: 0 })).runs;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function drain(queue: QueueBinding, engine: SyncEngine) {
  for (let jobs = await queue.claim(10, 10_000); jobs.length > 0; jobs = await queue.claim(10, 10_000)) {
    for (const job of jobs)
      await engine.handle(job).then(
        () => queue.ack(job),
        (error) => queue.fail(job, String(error)),
      );
  }
}

test('a run whose job the queue lost is closed as failed on the next tick and queued again, so the sync goes on', async () => {
  const { name, queue, engine, scheduler } = setup();
  const t0 = new Date('2030-01-01T00:00:00Z');
  expect(await scheduler.tick(t0)).toEqual([name]);
  const [lost] = await runsOf(engine, name);
  // The queue loses the job (a Redis restart without persistence): the run stays 'queued' with nothing behind it.
  await store.db.query('DELETE FROM jobs WHERE id = $1', [lost.jobId]);

  await scheduler.tick(new Date(t0.getTime() + 60 * 60_000));
  const [again, closed] = await runsOf(engine, name);
  expect(closed).toMatchObject({
    id: lost.id,
    status: 'failed',
    error: expect.stringContaining(`its job ${lost.jobId} is no longer in the queue`),
  });
  expect(again).toMatchObject({ status: 'queued', actor: 'reconciler' });
  expect(await queue.jobState!(again.jobId!)).toBe('queued');
  await drain(queue, engine);
  expect((await runsOf(engine, name))[0]).toMatchObject({ id: again.id, status: 'succeeded' });
});

test('a run whose job was dead-lettered is closed with the reason, not queued again, and a redrive resumes it', async () => {
  const { name, queue, engine, scheduler } = setup();
  const { runId, jobId } = await engine.trigger(name, { actor: 'test' });
  // A worker claims the job, marks the run running and dies; the lease expires on the last allowed delivery.
  const [job] = await queue.claim(1, 1);
  await store.db.query(`UPDATE sync_runs SET status = 'running', attempts = $2 WHERE id = $1`, [runId, job.attempts]);
  await sleep(20);
  expect(await queue.claim(1, 1)).toEqual([]);
  expect(await queue.jobState!(jobId)).toBe('dead');

  const result = await engine.reconcile();
  expect(result).toEqual({ closed: [runId], requeued: [] });
  expect((await runsOf(engine, name))[0]).toMatchObject({
    id: runId,
    status: 'failed',
    error: expect.stringContaining('dead-lettered'),
  });
  // Nothing open is left, so the schedule queues the next run.
  expect(await scheduler.tick(new Date('2030-01-01T00:00:00Z'))).toEqual([name]);

  expect(await queue.redrive([jobId])).toBe(1);
  await drain(queue, engine);
  const runs = await runsOf(engine, name);
  expect(runs.find((r) => r.id === runId)).toMatchObject({ status: 'succeeded', error: null });
  expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
});

test('runs whose jobs are waiting or being worked on are left alone', async () => {
  const { name, queue, engine } = setup();
  const waiting = await engine.trigger(name, { actor: 'test' });
  expect(await engine.reconcile()).toEqual({ closed: [], requeued: [] });
  const [job] = await queue.claim(1, 60_000);
  await store.db.query(`UPDATE sync_runs SET status = 'running' WHERE id = $1`, [waiting.runId]);
  expect(await engine.reconcile()).toEqual({ closed: [], requeued: [] });
  await engine.handle(job);
  await queue.ack(job);
  expect((await runsOf(engine, name))[0]).toMatchObject({ id: waiting.runId, status: 'succeeded' });
});

test('a run that moved on after it was found stale is not closed (the delivery wins)', async () => {
  const { name, engine } = setup();
  const { runId, jobId } = await engine.trigger(name, { actor: 'test' });
  await store.db.query('DELETE FROM jobs WHERE id = $1', [jobId]);
  // Touched after the cutoff reconcile() uses: a delivery made progress between the read and the close.
  await store.db.query(`UPDATE sync_runs SET updated_at = now() + interval '1 hour' WHERE id = $1`, [runId]);
  expect(await engine.reconcile()).toEqual({ closed: [], requeued: [] });
  expect((await runsOf(engine, name))[0]).toMatchObject({ id: runId, status: 'queued' });
});
