/**
 * The fault suite: the real runtime (createRuntime, its engine, the store queue and a worker) syncing a vendor
 * fake through a fault proxy, with the faults the review injected. Each case checks that nothing is lost or
 * duplicated, that no run stays queued or running, that the runtime recovers without a restart, and prints
 * its figures.
 */
import { Writable } from 'stream';
import pino from 'pino';
import { openPostgres, type Db } from '@data-sync/pipelines/db';
import { startFakeHubSpot, type FakeHubSpot } from '@data-sync/vendor-fakes/hubspot';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { loadConfig } from './config';
import { createWorker, type Worker } from './engine';
import { createRuntime, type SyncRuntime } from './runtime/runtime';
import { startFaultProxy, type FaultProxy } from '../test/support/fault-proxy';
import { privatePostgresAvailable, startPrivatePostgres, type PrivatePostgres } from '../test/support/private-postgres';
import { expectComplete, settled } from '../test/support/fault-checks';

const CONTACTS = 120;
const PAGE = 10;

/** A logger keeping why each failed delivery failed (the engine's 'sync run failed' warning). */
function countingLogger() {
  const failures: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of chunk.toString().split('\n'))
        if (line.includes('"msg":"sync run failed"')) failures.push(String(JSON.parse(line).err));
      callback();
    },
  });
  return { logger: pino({ level: 'warn' }, destination), failures };
}

interface Running {
  runtime: SyncRuntime;
  worker: Worker;
  db: Db;
  hubspot: FakeHubSpot;
  proxy: FaultProxy;
  /** Why each delivery that failed (and went back to the queue) failed. */
  failures: string[];
  close(): Promise<void>;
}

/** The runtime on `databaseUrl`, a HubSpot fake with CONTACTS contacts behind a fault proxy, and a worker. */
async function start(databaseUrl: string, proxyOptions: Parameters<typeof startFaultProxy>[1]): Promise<Running> {
  const hubspot = await startFakeHubSpot({ seed: { contacts: CONTACTS } });
  const proxy = await startFaultProxy(hubspot.url, proxyOptions);
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
    // The vendor is a fake on loopback.
    DATA_SYNC_ALLOW_LOCAL_VENDORS: 'true',
  });
  const db = openPostgres(databaseUrl, { max: 4 });
  const { logger, failures } = countingLogger();
  const runtime = await createRuntime(config, { db, logger });
  await runtime.integrations.create({
    name: 'hubspot',
    system: 'hubspot',
    enabled: true,
    syncInterval: '1h',
    objects: ['contacts'],
    webhookAllowlist: [],
    config: {
      baseUrl: proxy.url,
      accessToken: hubspot.state.accessToken,
      clientSecret: 'app-secret-1',
      pageSize: PAGE,
      searchPageSize: PAGE,
    },
  });
  const worker = createWorker({ queue: runtime.queue, engine: runtime.engine, logger, pollMs: 20 });
  worker.start();
  return {
    runtime,
    worker,
    db,
    hubspot,
    proxy,
    failures,
    async close() {
      await worker.stop(2000);
      await runtime.close();
      await db.close();
      await proxy.close();
      await hubspot.close();
    },
  };
}

describeWithService('fault suite', TEST_DATABASE_URL, () => {
  test('20% mixed vendor faults (500, 429, resets, cut-off bodies, invalid JSON): the full sync succeeds, nothing lost or duplicated', async () => {
    const scratch = scratchDatabase('faults_vendor');
    await scratch.create();
    const world = await start(scratch.url, { rate: 0.2, seed: 22 });
    try {
      const { runId } = await world.runtime.engine.trigger('hubspot', { actor: 'fault-suite', full: true });
      expect(await settled(world.db, runId)).toEqual({ status: 'succeeded', error: null });
      await expectComplete(world.db, CONTACTS);
      const { faults, requests, forwarded } = world.proxy.figures;
      // The vendor client retries every kind, cut-off bodies and invalid JSON included (they used to fail the
      // delivery at once, or reach the connector as text): a delivery fails only once a call used all its attempts.
      for (const failure of world.failures)
        expect(failure).toMatch(/failed after 4 attempt\(s\)|after 4 attempt\(s\)$/);
      expect(faults['cut-body']).toBeGreaterThan(0);
      expect(faults['invalid-json']).toBeGreaterThan(0);
      console.log(
        `[faults] vendor faults: ${requests} requests, ${forwarded} forwarded, faults ${JSON.stringify(faults)}, ${world.failures.length} failed delivery(ies) redelivered; ${CONTACTS} contacts synced once`,
      );
    } finally {
      await world.close();
      await scratch.drop();
    }
  });

  (privatePostgresAvailable() ? test : test.skip)(
    'PostgreSQL restarted mid-sync: the run recovers without a restart of the runtime and completes exactly once',
    async () => {
      const pg: PrivatePostgres = await startPrivatePostgres('faults');
      let restart: Promise<void> | undefined;
      // The third vendor request waits for a PostgreSQL restart: pages are already committed by then.
      const world = await start(pg.url, {
        rate: 0,
        seed: 1,
        hold: (n) => {
          if (n !== 3) return;
          restart = pg.stop().then(() => pg.start());
          return restart;
        },
      });
      try {
        const { runId } = await world.runtime.engine.trigger('hubspot', { actor: 'fault-suite', full: true });
        const outcome = await settled(world.db, runId);
        expect(restart).toBeDefined();
        await restart;
        // The delivery cut by the restart fails; the queue delivers it again and the run completes.
        expect(outcome.status).toBe('succeeded');
        await expectComplete(world.db, CONTACTS);
        console.log(
          `[faults] postgres restart (in-process): run ${outcome.status} after ${world.failures.length} failed delivery(ies), ${world.proxy.figures.requests} vendor requests for ${CONTACTS / PAGE} pages`,
        );
      } finally {
        await world.close();
        await pg.destroy();
      }
    },
  );
});
