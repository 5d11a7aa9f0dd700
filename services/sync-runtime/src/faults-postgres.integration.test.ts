/**
 * The fault suite's PostgreSQL cases, against the built runtime bundle as a child process on a private
 * PostgreSQL (a database per case): the store stopped mid-sync for a while, on the store and the Redis queue
 * (one server for both); and a restart cutting every delivery (a server each, since a restart cuts every
 * database on it), where a job without progress is dead-lettered with its run closed as failed, and a sync
 * that commits a page per delivery is never dead-lettered.
 */
import { openPostgres, type Db } from '@data-sync/pipelines/db';
import { startFakeHubSpot, type FakeHubSpot } from '@data-sync/vendor-fakes/hubspot';
import { DEFAULT_RETRY } from './queue/binding';
import { startFaultProxy, type FaultProxy, type FaultProxyOptions } from '../test/support/fault-proxy';
import {
  createHubSpotIntegration,
  expectComplete,
  runsClosed,
  settled,
  triggerSync,
  until,
} from '../test/support/fault-checks';
import { privatePostgresAvailable, startPrivatePostgres, type PrivatePostgres } from '../test/support/private-postgres';
import { privateRedisAvailable, startPrivateRedis, type PrivateRedis } from '../test/support/private-redis';
import { killAllRuntimes, startRuntime, type RuntimeChild } from '../test/support/runtime-child';

const PAGE = 10;
/** How long a restart case may take to settle: on a loaded machine with every fault file running, over 2 minutes. */
const RESTART_SETTLE_MS = 240_000;

const suite = privatePostgresAvailable() ? describe : describe.skip;
if (!privatePostgresAvailable())
  console.warn('skipping the PostgreSQL fault cases: no PostgreSQL server binaries (set PG_BIN)');

interface World {
  runtime: RuntimeChild;
  db: Db;
  hubspot: FakeHubSpot;
  proxy: FaultProxy;
  close(): Promise<void>;
}

suite('fault suite: PostgreSQL outages', () => {
  let pg: PrivatePostgres;
  let databases = 0;
  beforeAll(async () => {
    pg = await startPrivatePostgres('faults');
  }, 60_000);
  afterAll(async () => {
    await killAllRuntimes();
    await pg?.destroy();
  });

  /** A database of its own on `server`, the runtime on it, and a HubSpot fake with `contacts` behind a proxy. */
  async function start(
    server: PrivatePostgres,
    contacts: number,
    hold: FaultProxyOptions['hold'],
    env: Record<string, string> = {},
  ): Promise<World> {
    const name = `case_${++databases}`;
    const admin = openPostgres(server.url, { max: 1 });
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.close();
    const url = server.url.replace(/\/postgres$/, `/${name}`);
    const hubspot = await startFakeHubSpot({ seed: { contacts } });
    const proxy = await startFaultProxy(hubspot.url, { rate: 0, seed: 1, hold });
    const runtime = await startRuntime({ DATABASE_URL: url, ...env });
    await createHubSpotIntegration(runtime.url, { url: proxy.url, accessToken: hubspot.state.accessToken }, PAGE);
    const db = openPostgres(url, { max: 2 });
    return {
      runtime,
      db,
      hubspot,
      proxy,
      async close() {
        await runtime.kill('SIGTERM');
        await db.close();
        await proxy.close();
        await hubspot.close();
      },
    };
  }

  /**
   * Restarts of the private server that cut a delivery: cut() stops it and resolves while it is down (the held
   * vendor answer then reaches a runtime that cannot commit), and starts it again at once, or once the
   * case's `holdDown` settles. One restart at a time; settled() resolves once the last one is done.
   */
  function restarter(server: PrivatePostgres, holdDown?: () => Promise<unknown>) {
    let last: Promise<void> = Promise.resolve();
    const restart = {
      count: 0,
      /** Restarts that failed (pg_ctl's error with the server log), asserted empty: a held vendor answer must never wait on one. */
      errors: [] as string[],
      cut(): Promise<void> {
        const held = holdDown?.().catch(() => undefined);
        const stopped = last.then(() => server.stop());
        // A failed start is tried once more, so the server is up for the next delivery; the failure is kept.
        last = stopped
          .then(() => held)
          .then(() => server.start())
          .catch(async (error: Error) => {
            restart.errors.push(error.message);
            await server.start().catch((again: Error) => void restart.errors.push(again.message));
          });
        restart.count++;
        return stopped.catch((error: Error) => void restart.errors.push(error.message));
      },
      settled: () => last,
    };
    return restart;
  }

  /** Polls /health every 100 ms until stopped: every answer's status and latency. */
  function watchLiveness(runtimeUrl: string) {
    const answers: { status: number; ms: number }[] = [];
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        const started = performance.now();
        const status = await fetch(`${runtimeUrl}/health`, { signal: AbortSignal.timeout(5000) }).then(
          (r) => r.status,
          () => 0,
        );
        answers.push({ status, ms: Math.round(performance.now() - started) });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    return {
      answers,
      async stop() {
        stopped = true;
        await loop;
      },
    };
  }

  for (const binding of ['store', 'redis'] as const)
    (binding === 'redis' && !privateRedisAvailable() ? test.skip : test)(
      `PostgreSQL stopped mid-sync (${binding} queue): /health stays 200, /health/ready and API writes answer 503 with Retry-After, the run completes exactly once without a restart`,
      async () => {
        const CONTACTS = 60;
        let redis: PrivateRedis | undefined;
        if (binding === 'redis') redis = await startPrivateRedis('faults-pg', { persistence: 'aof' });
        let outage:
          Promise<{ ready: number; write: Awaited<ReturnType<typeof triggerSync>>; outageMs: number }> | undefined;
        let world: World | undefined;
        // The third vendor request (pages already committed) waits while the store is down.
        const hold = (n: number) => {
          if (n !== 3 || !world) return;
          const w = world;
          outage = (async () => {
            const from = Date.now();
            await pg.stop();
            const ready = await fetch(`${w.runtime.url}/health/ready`).then((r) => r.status);
            const write = await triggerSync(w.runtime.url, false);
            // On the store queue the worker's claim fails too: the store is down long enough for every part to notice.
            if (binding === 'store')
              await w.runtime.waitForLog(
                (line) => line.msg === 'claiming jobs failed; retrying' && Number(line.time) > from,
              );
            await pg.start();
            return { ready, write, outageMs: Date.now() - from };
          })();
          return outage.then(() => undefined);
        };
        world = await start(pg, CONTACTS, hold, redis ? { DATA_SYNC_QUEUE: 'redis', REDIS_URL: redis.url } : {});
        const liveness = watchLiveness(world.runtime.url);
        try {
          const { status, runId } = await triggerSync(world.runtime.url);
          expect(status).toBe(202);
          const outcome = await settled(world.db, runId!);
          expect(outage).toBeDefined();
          const during = await outage!;
          // Readiness says the store is down, a write is refused with the client's cue to retry, and both recover.
          expect(during.ready).toBe(503);
          expect(during.write).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) });
          const ready = await until('/health/ready did not turn 200', async () =>
            (await fetch(`${world!.runtime.url}/health/ready`)).status === 200 ? true : undefined,
          );
          expect(ready).toBe(true);
          expect((await triggerSync(world.runtime.url, false)).status).toBe(202);
          expect(outcome).toEqual({ status: 'succeeded', error: null });
          await liveness.stop();
          // Liveness never depended on the store.
          expect(liveness.answers.filter((a) => a.status !== 200)).toEqual([]);
          // The incremental run the recovered API queued settles too: no run is left queued or running.
          const runs = await world.db.query<{ id: string }>(`SELECT id FROM sync_runs`);
          for (const run of runs.rows) await settled(world.db, run.id);
          await expectComplete(world.db, CONTACTS);
          const failures = world.runtime.logs.filter((line) => line.msg === 'sync run failed').length;
          console.log(
            `[faults] postgres outage (${binding} queue): store down ${during.outageMs} ms, /health ${liveness.answers.length} checks all 200 (max ${Math.max(...liveness.answers.map((a) => a.ms))} ms), ready 503 then 200, write 503 Retry-After ${during.write.retryAfter} s, ${failures} failed delivery(ies), run ${outcome.status}, ${CONTACTS} contacts once`,
          );
        } finally {
          await liveness.stop();
          await world.close();
          await redis?.destroy();
        }
      },
      120_000,
    );

  test(
    'PostgreSQL restarted during every delivery: a job without progress is dead-lettered and its run ends failed with the reason, never running',
    async () => {
      // Restarts cut every database on a server: this case has one of its own.
      const server = await startPrivatePostgres('faults-dead');
      const restart = restarter(server);
      // Every vendor request is the first of its delivery, and its answer meets a store that is down: the delivery fails.
      const world = await start(server, 30, () => restart.cut());
      try {
        const { runId } = await triggerSync(world.runtime.url);
        // Backoff up to 8 s between deliveries, and a lease (30 s) when a failure could not be recorded while the store was down.
        const outcome = await Promise.race([settled(world.db, runId!, RESTART_SETTLE_MS), world.runtime.crashed]);
        expect(restart.errors).toEqual([]);
        expect(outcome.status).toBe('failed');
        expect(outcome.error).toEqual(expect.any(String));
        expect(outcome.error!.length).toBeGreaterThan(0);
        const dead = await world.db.query<{ attempts: number; last_error: string }>(
          `SELECT attempts, last_error FROM jobs WHERE payload->>'runId' = $1 AND status = 'dead'`,
          [runId],
        );
        expect(dead.rows).toHaveLength(1);
        expect(Number(dead.rows[0].attempts)).toBeGreaterThanOrEqual(DEFAULT_RETRY.maxAttempts);
        expect(restart.count).toBeGreaterThanOrEqual(DEFAULT_RETRY.maxAttempts);
        // Every run the case left (its own, and a scheduled one the first tick may have queued) ends failed with its reason.
        for (const run of await runsClosed(world.db, RESTART_SETTLE_MS))
          expect(run).toMatchObject({ status: 'failed', error: expect.stringMatching(/\S/) });
        console.log(
          `[faults] restart per delivery, no progress: ${restart.count} restarts, job dead after ${dead.rows[0].attempts} deliveries, run ${outcome.status} (${outcome.error!.slice(0, 120)})`,
        );
      } finally {
        await restart.settled().catch(() => undefined);
        await world.close();
        await server.destroy();
      }
    },
    2 * RESTART_SETTLE_MS + 60_000,
  );

  test(
    'PostgreSQL restarted after each committed page: the sync keeps its progress, is never dead-lettered, and completes exactly once',
    async () => {
      // Enough pages that the cut deliveries outnumber maxAttempts with room to spare.
      const CONTACTS = 150;
      const server = await startPrivatePostgres('faults-progress');
      let world: Awaited<ReturnType<typeof start>> | undefined;
      const failedDeliveries = () => world!.runtime.logs.filter((line) => line.msg === 'sync run failed').length;
      // The store stays down until the cut delivery has failed: on a busy machine a quick restart could
      // otherwise be back before the delivery's next write, and the delivery would go on past its page.
      const restart = restarter(server, () => {
        const before = failedDeliveries();
        return until(
          'the cut delivery did not fail',
          async () => (failedDeliveries() > before ? true : undefined),
          15_000,
        );
      });
      // Every second vendor request meets a store that is down: each delivery commits one page before it is cut.
      world = await start(server, CONTACTS, (n) => (n % 2 === 0 ? restart.cut() : restart.settled()));
      try {
        const { runId } = await triggerSync(world.runtime.url);
        const outcome = await Promise.race([settled(world.db, runId!, RESTART_SETTLE_MS), world.runtime.crashed]);
        expect(restart.errors).toEqual([]);
        expect(outcome).toEqual({ status: 'succeeded', error: null });
        const failures = failedDeliveries();
        // More cut deliveries than maxAttempts: only deliveries without progress count against it.
        expect(failures).toBeGreaterThan(DEFAULT_RETRY.maxAttempts);
        const dead = await world.db.query(`SELECT id FROM jobs WHERE status = 'dead'`);
        expect(dead.rows).toEqual([]);
        await expectComplete(world.db, CONTACTS);
        console.log(
          `[faults] restart per delivery, a page each: ${restart.count} restarts, ${failures} cut deliveries (maxAttempts ${DEFAULT_RETRY.maxAttempts}), run ${outcome.status}, none dead-lettered, ${CONTACTS} contacts once`,
        );
      } finally {
        await restart.settled().catch(() => undefined);
        await world.close();
        await server.destroy();
      }
    },
    RESTART_SETTLE_MS + 60_000,
  );
});
