/**
 * The fault suite's crash case: the built runtime bundle as a child process, flooded with signed webhooks
 * over several connections, killed with SIGKILL mid-flood and started again. Every webhook answered 202 is
 * processed exactly once afterwards, on the store queue and on the Redis queue, and the backlog's drain rate
 * after the restart is printed next to the rate the webhooks arrived at.
 */
import { openPostgres } from '@data-sync/pipelines/db';
import { startFakeHubSpot, type FakeHubSpot } from '@data-sync/vendor-fakes/hubspot';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import {
  allProcessed,
  createHubSpotIntegration,
  processedWebhookEvents,
  settled,
  startFlood,
  until,
} from '../test/support/fault-checks';
import { privateRedisAvailable, startPrivateRedis, type PrivateRedis } from '../test/support/private-redis';
import { createBullmqBinding } from './queue/bullmq-binding';
import { createStoreBinding } from './queue/store-binding';
import { killAllRuntimes, startRuntime } from '../test/support/runtime-child';

/** Webhooks answered 202 before the kill. */
const BEFORE_KILL = 1500;
const CONNECTIONS = 16;

describeWithService('fault suite: SIGKILL during a webhook flood', TEST_DATABASE_URL, () => {
  let hubspot: FakeHubSpot;
  beforeAll(async () => {
    hubspot = await startFakeHubSpot({ seed: { contacts: 5 } });
  });
  afterAll(async () => {
    await killAllRuntimes();
    await hubspot?.close();
  });

  for (const queue of ['store', 'redis'] as const)
    (queue === 'redis' && !privateRedisAvailable() ? test.skip : test)(
      `SIGKILL mid-flood (${queue} queue): after a restart every webhook answered 202 is processed exactly once`,
      async () => {
        const scratch = scratchDatabase(`faults_flood_${queue}`);
        await scratch.create();
        let redis: PrivateRedis | undefined;
        if (queue === 'redis') redis = await startPrivateRedis('flood', { persistence: 'aof' });
        const env = {
          DATABASE_URL: scratch.url,
          DATA_SYNC_QUEUE: queue,
          ...(redis ? { REDIS_URL: redis.url } : {}),
        };
        const db = openPostgres(scratch.url, { max: 2 });
        try {
          const first = await startRuntime(env);
          await createHubSpotIntegration(first.url, { url: hubspot.url, accessToken: hubspot.state.accessToken });
          let killed: Promise<void> | undefined;
          let killedAt = 0;
          let onKilled!: () => void;
          const kill = new Promise<void>((resolve) => (onKilled = resolve));
          const floodStarted = performance.now();
          const flood = startFlood(
            () => first.url,
            CONNECTIONS,
            (_status, figures) => {
              if (killed || figures.accepted.length < BEFORE_KILL) return;
              killedAt = performance.now();
              killed = first.kill('SIGKILL');
              onKilled();
            },
          );
          await kill;
          await killed;
          const sent = await flood.stop();
          const arrivalRate = sent.accepted.length / ((killedAt - floodStarted) / 1000);
          const processedAtKill = (await processedWebhookEvents(db)).ids.size;
          // The jobs the killed process held (its slots' batches and those waiting for a slot) come back only
          // when their lease (30 s) runs out: the drain rate is the backlog without them, and the time until
          // the last one is printed beside it.
          const observer = redis ? createBullmqBinding({ url: redis.url }) : createStoreBinding({ db });
          const leased = (await observer.depth()).inFlight;
          await observer.close();

          const second = await startRuntime(env);
          const restartedAt = performance.now();
          await until('the backlog was not drained', async () =>
            (await processedWebhookEvents(db)).ids.size >= sent.accepted.length - leased ? true : undefined,
          );
          const drainSeconds = (performance.now() - restartedAt) / 1000;
          const processed = await allProcessed(db, sent.accepted);
          const lastSeconds = (performance.now() - restartedAt) / 1000;
          // A leased job may already be processed (the kill came before its acknowledgement): then it is
          // counted in both, and the backlog is what neither covers.
          const backlog = Math.max(0, sent.accepted.length - leased - processedAtKill);
          const drainRate = backlog > 0 ? backlog / drainSeconds : 0;
          // None lost, none processed twice.
          expect(sent.accepted.filter((id) => !processed.ids.has(id))).toEqual([]);
          expect(processed.audited).toBe(processed.ids.size);
          // The syncs the webhooks queued all end: none is left queued or running after the restart.
          const runs = await db.query<{ id: string }>('SELECT id FROM sync_runs');
          for (const run of runs.rows) expect((await settled(db, run.id)).status).toBe('succeeded');
          console.log(
            `[faults] SIGKILL mid-flood (${queue} queue): ${sent.accepted.length} answered 202 (${JSON.stringify(sent.statuses)}) at ${arrivalRate.toFixed(0)}/s over ${CONNECTIONS} connections; ${processedAtKill} processed before the kill, backlog ${backlog} drained after the restart in ${drainSeconds.toFixed(1)} s = ${drainRate.toFixed(0)}/s, the last of the killed process's ${leased} leased jobs after ${lastSeconds.toFixed(1)} s; ${processed.ids.size} processed, each once; ${runs.rows.length} run(s) all succeeded`,
          );
          await second.kill('SIGTERM');
        } finally {
          await killAllRuntimes();
          await db.close();
          await redis?.destroy();
          await scratch.drop();
        }
      },
      180_000,
    );
});
