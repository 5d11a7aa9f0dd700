/**
 * Two worker processes (main.ts, DATA_SYNC_ROLE=worker, one job at a time each) started with the same
 * configuration and REDIS_URL run the scheduled syncs of one Klaviyo account at the same time and share
 * one budget per endpoint through Redis: together they stay inside the account's burst window, so the
 * vendor throttles none of their calls. With a budget per process each spends the whole window and
 * Klaviyo answers 429.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';
import IORedis from 'ioredis';
import pino from 'pino';
import { openPostgres, type Db } from '@data-sync/pipelines/db';
import { describeWithService, TEST_REDIS_URL } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { startFakeKlaviyo, type KlaviyoFake } from '@data-sync/vendor-fakes/klaviyo';
import { loadConfig } from '../config';
import { createRuntime } from './runtime';

const MAIN = path.resolve(__dirname, '../main.ts');
const ROOT = path.resolve(__dirname, '../../../..');
const BURST = 3;

describeWithService('vendor budgets shared through Redis', TEST_REDIS_URL, () => {
  const scratch = scratchDatabase('vendor_budget');
  const env = {
    DATABASE_URL: scratch.url,
    DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
    REDIS_URL: TEST_REDIS_URL,
    DATA_SYNC_QUEUE: 'store',
    // The Klaviyo fake listens on loopback.
    DATA_SYNC_ALLOW_LOCAL_VENDORS: 'true',
  };
  let db: Db;
  let klaviyo: KlaviyoFake;
  let redis: IORedis;
  const workers: ChildProcess[] = [];

  /** A worker process; resolves once its worker loop and scheduler run. */
  async function startWorker(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        ...env,
        DATA_SYNC_ROLE: 'worker',
        DATA_SYNC_WORKER_CONCURRENCY: '1',
        LOG_LEVEL: 'info',
        DATA_SYNC_SHUTDOWN_MS: '2000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    workers.push(child);
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const seen = (chunk: Buffer) => {
        output += chunk;
        if (output.includes('worker and scheduler started')) resolve();
      };
      child.stdout!.on('data', seen);
      child.stderr!.on('data', seen);
      child.on('exit', (code) => reject(new Error(`worker exited with ${code}: ${output}`)));
    });
    return child;
  }

  beforeAll(async () => {
    await scratch.create();
    klaviyo = await startFakeKlaviyo({ seed: { profiles: 30 }, burst: BURST, steady: 1000 });
    redis = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    db = openPostgres(scratch.url, { max: 2 });
    // Migrates the database and registers the integrations, as the API would, before any worker starts.
    const setup = await createRuntime(loadConfig(env), { db, logger: pino({ level: 'silent' }) });
    for (const name of ['klaviyo_a', 'klaviyo_b'])
      await setup.integrations.create({
        name,
        system: 'klaviyo',
        enabled: true,
        syncInterval: '1h',
        webhookAllowlist: [],
        objects: ['profiles'],
        // The same account (key and host) under two names: one budget, whichever worker calls.
        config: { apiKey: klaviyo.state.apiKey, baseUrl: klaviyo.url, pageSize: 5, burstPerSecond: BURST },
      });
    await setup.close();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(
      workers.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null) return resolve(undefined);
            child.once('exit', resolve);
            child.kill('SIGTERM');
          }),
      ),
    );
    await db?.close();
    await klaviyo?.close();
    const keys = await redis.keys('ratelimit:klaviyo:*');
    if (keys.length) await redis.del(...keys);
    await redis?.quit();
    await scratch.drop();
  });

  test('two worker processes syncing one Klaviyo account at once stay inside its burst window: no call is throttled', async () => {
    // The first scheduler tick queues both (never synced) integrations; each worker takes one.
    await Promise.all([startWorker(), startWorker()]);
    type Run = { integration: string; status: string; started_at: Date; finished_at: Date; pages: number };
    let runs: Run[] = [];
    for (let polls = 0; polls < 600; polls++) {
      runs = (
        await db.query<Run>(
          'SELECT integration, status, started_at, finished_at, pages FROM sync_runs ORDER BY integration',
        )
      ).rows;
      if (runs.length === 2 && runs.every((r) => r.status === 'succeeded' || r.status === 'failed')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(runs.map((r) => [r.integration, r.status])).toEqual([
      ['klaviyo_a', 'succeeded'],
      ['klaviyo_b', 'succeeded'],
    ]);
    // They ran at the same time (one job at a time per worker: in the two processes), for more calls
    // than one burst window holds.
    const [a, b] = runs;
    expect(a.started_at < b.finished_at && b.started_at < a.finished_at).toBe(true);
    expect(a.pages + b.pages).toBeGreaterThan(2 * BURST);
    expect(klaviyo.state.throttled).toBe(0);
  }, 120_000);
});
