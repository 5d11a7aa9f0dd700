import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import { randomUUID } from 'crypto';
import IORedis from 'ioredis';
import pino from 'pino';
import { TEST_REDIS_URL } from '@data-sync/test-services';
import { IntegrationInfo, createSyncEngine } from '../../src/engine';
import { QueueBinding } from '../../src/queue/binding';
import { createBullmqBinding } from '../../src/queue/bullmq-binding';
import { createStoreBinding } from '../../src/queue/store-binding';
import { CRASH_RETRY } from './crash-config';
import { FakeSource, fakeConnector, startFakeSource } from './fake-source';
import { TestStore, openTestPostgres } from './store';

/**
 * The crash test, run by crash-store.integration.test.ts and crash-redis.integration.test.ts (two
 * files, so jest runs them side by side). Kills a worker process with SIGKILL in the middle of
 * syncing, again and again, and checks the target: every source record arrives (none lost), none is written twice (none duplicated), and
 * nothing appears that the source does not have (none unexpected).
 */
const KILLS = 10;
const INTEGRATIONS = 12;
const RECORDS = 60;
const PAGE_SIZE = 5;
const WORKER = path.join(__dirname, '..', 'crash-worker.ts');

/** Generous: on a loaded machine each worker process takes seconds to start. */
const TEST_TIMEOUT_MS = 240_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Worker processes still running; a failing test must not leave any behind. */
const children = new Set<ChildProcess>();

function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk) => String(chunk).includes('ready') && resolve(child));
    child.on('exit', (code, signal) => reject(new Error(`crash worker exited early (${code ?? signal}): ${stderr}`)));
  });
}

/** Sends `signal`; a process still running 10 s after a SIGTERM is killed. */
function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const fallback = signal === 'SIGTERM' ? setTimeout(() => child.kill('SIGKILL'), 10_000) : undefined;
    child.once('exit', () => {
      clearTimeout(fallback);
      resolve();
    });
    child.kill(signal);
  });
}

export function crashSuite(binding: 'store' | 'bullmq') {
  let store: TestStore;
  let source: FakeSource;
  const prefix = `crash-${process.pid}-${randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    [store, source] = await Promise.all([openTestPostgres(`crash_${binding}`), startFakeSource()]);
    await store.db.exec(
      'CREATE TABLE crash_writes (integration text NOT NULL, object text NOT NULL, external_id text NOT NULL, run_id text NOT NULL)',
    );
  });
  afterAll(async () => {
    await Promise.all([...children].map((child) => kill(child, 'SIGKILL')));
    await source.close();
    await store.drop();
    if (binding === 'bullmq') {
      const redis = new IORedis(TEST_REDIS_URL);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
      await redis.quit();
    }
  });

  test(
    `SIGKILL mid-sync ${KILLS} times: nothing lost, nothing duplicated, nothing unexpected`,
    async () => {
      const queueName = `crash-${binding}`;
      const integrations: IntegrationInfo[] = Array.from({ length: INTEGRATIONS }, (_, i) => ({
        name: `crash${i}`,
        system: fakeConnector.system,
        config: { baseUrl: source.url, dataset: `crash${i}`, token: 'secret', pageSize: PAGE_SIZE },
        objects: ['contacts'],
      }));
      const expected = new Map<string, Set<string>>();
      for (const integration of integrations) {
        const records = Array.from({ length: RECORDS }, (_, n) => ({
          id: `${integration.name}-${n}`,
          updated_at: new Date(Date.UTC(2024, 0, 1, 0, 0, n)).toISOString(),
        }));
        source.upsert(integration.name, 'contacts', records);
        expected.set(integration.name, new Set(records.map((r) => r.id)));
      }
      source.delayMs = 10;
      const queue: QueueBinding =
        binding === 'bullmq'
          ? createBullmqBinding({ url: TEST_REDIS_URL, prefix, queue: queueName, retry: CRASH_RETRY })
          : createStoreBinding({ db: store.db, queue: queueName, retry: CRASH_RETRY });
      const lookup = {
        get: async (name: string) => integrations.find((i) => i.name === name) ?? null,
        list: async () => integrations,
      };
      const engine = createSyncEngine({
        db: store.db,
        queue,
        integrations: lookup,
        connectors: () => fakeConnector,
        logger: pino({ level: 'silent' }),
      });
      const runIds = [];
      for (const integration of integrations)
        runIds.push((await engine.trigger(integration.name, { actor: 'crash-test' })).runId);

      const env = {
        CRASH_DATABASE_URL: store.url!,
        CRASH_BINDING: binding,
        CRASH_QUEUE: queueName,
        CRASH_REDIS_URL: TEST_REDIS_URL,
        CRASH_REDIS_PREFIX: prefix,
        CRASH_INTEGRATIONS: JSON.stringify(integrations),
      };
      const pages = async () =>
        Number((await store.db.query<{ n: string }>('SELECT coalesce(sum(pages), 0) AS n FROM sync_runs')).rows[0].n);
      const started = Date.now();
      let killedMidSync = 0;
      for (let cycle = 0; cycle < KILLS; cycle++) {
        const child = await startWorker(env);
        const before = await pages();
        // Kill once this worker has committed a page or two, at a random moment inside the next page.
        const deadline = Date.now() + 30_000;
        while ((await pages()) < before + 1 + (cycle % 2) && Date.now() < deadline) await sleep(5);
        await sleep(Math.floor(Math.random() * 25));
        const inFlight = (await queue.depth()).inFlight;
        await kill(child, 'SIGKILL');
        if (inFlight > 0) killedMidSync++;
      }
      const killPhase = (Date.now() - started) / 1000;
      const finisher = await startWorker({ ...env, CRASH_CONCURRENCY: '6' });
      const all = async () =>
        (await store.db.query<{ status: string; attempts: number }>('SELECT status, attempts FROM sync_runs')).rows;
      const deadline = Date.now() + 90_000;
      while ((await all()).some((r) => r.status !== 'succeeded') && Date.now() < deadline) await sleep(50);
      await kill(finisher, 'SIGTERM');

      const runs = await all();
      const writes = (
        await store.db.query<{ integration: string; external_id: string; n: number }>(
          'SELECT integration, external_id, count(*)::int AS n FROM crash_writes GROUP BY 1, 2',
        )
      ).rows;
      const target = (
        await store.db.query<{ integration: string; external_id: string }>(
          'SELECT integration, external_id FROM synced_records WHERE NOT deleted',
        )
      ).rows;
      const inTarget = new Set(target.map((r) => `${r.integration}/${r.external_id}`));
      const expectedKeys = [...expected].flatMap(([integration, ids]) => [...ids].map((id) => `${integration}/${id}`));
      const expectedSet = new Set(expectedKeys);
      const counts = {
        expected: expectedKeys.length,
        lost: expectedKeys.filter((key) => !inTarget.has(key)).length,
        duplicated: writes.filter((w) => w.n > 1).length,
        unexpected:
          [...inTarget].filter((key) => !expectedSet.has(key)).length +
          writes.filter((w) => !expectedSet.has(`${w.integration}/${w.external_id}`)).length,
        recoveredRuns: runs.filter((r) => r.status === 'succeeded' && Number(r.attempts) > 1).length,
        kills: KILLS,
        killedMidSync,
        deadLetters: (await queue.depth()).dead,
        killPhaseSeconds: killPhase,
        seconds: (Date.now() - started) / 1000,
      };
      console.log(`crash test (${binding} binding): ${JSON.stringify(counts)}`);
      await queue.close();
      expect(runs.map((r) => r.status)).toEqual(Array(INTEGRATIONS).fill('succeeded'));
      expect(counts).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0, deadLetters: 0 });
      expect(writes).toHaveLength(expectedKeys.length);
      expect(counts.killedMidSync).toBeGreaterThanOrEqual(KILLS - 1);
      expect(counts.recoveredRuns).toBeGreaterThan(0);
    },
    TEST_TIMEOUT_MS,
  );
}
