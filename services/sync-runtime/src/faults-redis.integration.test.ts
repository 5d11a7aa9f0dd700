/**
 * The fault suite's Redis cases, against the built runtime bundle as a child process and a private Redis:
 * Redis paused (SIGSTOP, a half-open connection) for longer than the queue's command timeout, with the
 * store queue (Redis holds only the shared rate limit and vendor budgets) and with the Redis queue; a Redis
 * restart in the middle of a webhook flood; and a Redis without persistence refused as the queue.
 */
import { openPostgres, type Db } from '@data-sync/pipelines/db';
import { startFakeHubSpot, type FakeHubSpot } from '@data-sync/vendor-fakes/hubspot';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { allProcessed, createHubSpotIntegration, percentile, startFlood, until } from '../test/support/fault-checks';
import { privateRedisAvailable, startPrivateRedis, type PrivateRedis } from '../test/support/private-redis';
import { killAllRuntimes, startRuntime, type RuntimeChild } from '../test/support/runtime-child';

/** The Redis queue binding's command timeout (bullmq-binding.ts): the pause outlasts it. */
const QUEUE_COMMAND_TIMEOUT_MS = 5000;
const PAUSE_MS = QUEUE_COMMAND_TIMEOUT_MS + 1500;

const suite = privateRedisAvailable()
  ? describeWithService
  : (name: string, _url: string, fn: () => void) => describe.skip(name, fn);
if (!privateRedisAvailable()) console.warn('skipping the Redis fault cases: no redis-server (set REDIS_SERVER)');

interface World {
  runtime: RuntimeChild;
  redis: PrivateRedis;
  db: Db;
  close(): Promise<void>;
}

suite('fault suite: Redis outages', TEST_DATABASE_URL, () => {
  let hubspot: FakeHubSpot;
  beforeAll(async () => {
    hubspot = await startFakeHubSpot({ seed: { contacts: 5 } });
  });
  afterAll(async () => {
    await killAllRuntimes();
    await hubspot?.close();
  });

  /** A scratch database, a private Redis, and the runtime on both with the `queue` binding. */
  async function start(label: string, queue: 'store' | 'redis'): Promise<World> {
    const scratch = scratchDatabase(`faults_${label}`);
    await scratch.create();
    const redis = await startPrivateRedis(label, { persistence: 'aof' });
    const runtime = await startRuntime({ DATABASE_URL: scratch.url, REDIS_URL: redis.url, DATA_SYNC_QUEUE: queue });
    await createHubSpotIntegration(runtime.url, { url: hubspot.url, accessToken: hubspot.state.accessToken });
    const db = openPostgres(scratch.url, { max: 2 });
    return {
      runtime,
      redis,
      db,
      async close() {
        redis.resume();
        await runtime.kill('SIGTERM');
        await db.close();
        await redis.destroy();
        await scratch.drop();
      },
    };
  }

  for (const queue of ['store', 'redis'] as const)
    test(`Redis paused for longer than the command timeout (${queue} queue): /health answers within the timeout throughout, no webhook answered 202 is lost`, async () => {
      const world = await start(`pause_${queue}`, queue);
      try {
        const health: number[] = [];
        const healthStatuses: number[] = [];
        let paused = true;
        world.redis.pause();
        const resumed = new Promise<void>((resolve) =>
          setTimeout(() => {
            world.redis.resume();
            paused = false;
            resolve();
          }, PAUSE_MS),
        );
        const liveness = (async () => {
          while (paused) {
            const started = performance.now();
            const status = await fetch(`${world.runtime.url}/health`, {
              signal: AbortSignal.timeout(QUEUE_COMMAND_TIMEOUT_MS * 2),
            }).then(
              (r) => r.status,
              () => 0,
            );
            healthStatuses.push(status);
            health.push(performance.now() - started);
          }
        })();
        const flood = startFlood(() => world.runtime.url, 4);
        await resumed;
        await liveness;
        const during = await flood.stop();
        const processed = await allProcessed(world.db, during.accepted);
        // Every 202 was queued durably: none lost after SIGCONT, and each processed once.
        expect(during.accepted.filter((id) => !processed.ids.has(id))).toEqual([]);
        expect(processed.audited).toBe(processed.ids.size);
        // A refusal is the vendor's cue to retry: only 202 and 503 are answered.
        expect(Object.keys(during.statuses).filter((s) => s !== '202' && s !== '503')).toEqual([]);
        expect(healthStatuses.filter((status) => status !== 200)).toEqual([]);
        expect(Math.max(...health)).toBeLessThan(QUEUE_COMMAND_TIMEOUT_MS);
        console.log(
          `[faults] redis paused ${PAUSE_MS} ms (${queue} queue): /health ${health.length} checks, p50 ${percentile(health, 50)} ms, max ${percentile(health, 100)} ms; webhooks ${JSON.stringify(during.statuses)}, latency p50 ${percentile(during.latencies, 50)} ms p99 ${percentile(during.latencies, 99)} ms max ${percentile(during.latencies, 100)} ms; ${during.accepted.length} answered 202, all processed once`,
        );
      } finally {
        await world.close();
      }
    }, 120_000);

  test('Redis restarted mid-flood (Redis queue, append-only file): every webhook answered 202 is processed once', async () => {
    const world = await start('restart', 'redis');
    try {
      let restart: Promise<void> | undefined;
      let acceptedAfterRestart = 0;
      let restarted = false;
      const flood = startFlood(
        () => world.runtime.url,
        8,
        (status, figures) => {
          if (!restart && figures.accepted.length >= 300)
            restart = world.redis
              .stop()
              .then(() => world.redis.start())
              .then(() => void (restarted = true));
          if (restarted && status === 202) acceptedAfterRestart++;
        },
      );
      await until('the flood was not accepted again after the Redis restart', async () =>
        acceptedAfterRestart >= 300 ? true : undefined,
      );
      const sent = await flood.stop();
      const processed = await allProcessed(world.db, sent.accepted);
      expect(sent.accepted.filter((id) => !processed.ids.has(id))).toEqual([]);
      expect(processed.audited).toBe(processed.ids.size);
      console.log(
        `[faults] redis restart mid-flood (redis queue, AOF): webhooks ${JSON.stringify(sent.statuses)}, ${sent.accepted.length} answered 202, all processed once`,
      );
    } finally {
      await world.close();
    }
  }, 120_000);

  test('a Redis without persistence is refused as the queue unless DATA_SYNC_REDIS_ALLOW_VOLATILE allows it', async () => {
    const scratch = scratchDatabase('faults_volatile');
    await scratch.create();
    const redis = await startPrivateRedis('volatile', { persistence: 'none' });
    try {
      const env = { DATABASE_URL: scratch.url, REDIS_URL: redis.url, DATA_SYNC_QUEUE: 'redis' };
      await expect(startRuntime(env)).rejects.toThrow(/refuses this Redis.*DATA_SYNC_REDIS_ALLOW_VOLATILE=true/s);
      const allowed = await startRuntime({ ...env, DATA_SYNC_REDIS_ALLOW_VOLATILE: 'true' });
      expect((await fetch(`${allowed.url}/health/ready`)).status).toBe(200);
      await allowed.kill('SIGTERM');
      console.log('[faults] volatile redis: refused without DATA_SYNC_REDIS_ALLOW_VOLATILE, ready with it');
    } finally {
      await redis.destroy();
      await scratch.drop();
    }
  }, 60_000);
});
