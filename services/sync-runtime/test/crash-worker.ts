/**
 * The worker process of the crash test: a real worker (engine + binding + fake-source connector)
 * that the test kills with SIGKILL mid-sync. Its sink also appends every write it commits to
 * `crash_writes` (no unique key), so a page applied twice shows up as a duplicate there.
 * Configured by environment: CRASH_DATABASE_URL, CRASH_BINDING (store | bullmq), CRASH_QUEUE,
 * CRASH_REDIS_URL, CRASH_REDIS_PREFIX, CRASH_INTEGRATIONS (JSON IntegrationInfo[]), CRASH_CONCURRENCY (default 2).
 */
import pino from 'pino';
import { openPostgres } from '@data-sync/pipelines/db';
import { IntegrationInfo, RecordSink, createStoreSink, createSyncEngine, createWorker } from '../src/engine';
import { createBullmqBinding } from '../src/queue/bullmq-binding';
import { createStoreBinding } from '../src/queue/store-binding';
import { CRASH_LEASE_MS, CRASH_RETRY } from './support/crash-config';
import { fakeConnector } from './support/fake-source';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

async function main() {
  const db = openPostgres(env('CRASH_DATABASE_URL'), { max: 4 });
  const queue =
    env('CRASH_BINDING') === 'bullmq'
      ? createBullmqBinding({
          url: env('CRASH_REDIS_URL'),
          prefix: env('CRASH_REDIS_PREFIX'),
          queue: env('CRASH_QUEUE'),
          retry: CRASH_RETRY,
          stalledIntervalMs: 200,
        })
      : createStoreBinding({ db, queue: env('CRASH_QUEUE'), retry: CRASH_RETRY });
  const list = JSON.parse(env('CRASH_INTEGRATIONS')) as IntegrationInfo[];
  const integrations = {
    get: async (name: string) => list.find((i) => i.name === name) ?? null,
    list: async () => list,
  };
  const store = createStoreSink();
  const sink: RecordSink = {
    async upsert(tx, run, records, deletedIds) {
      const result = await store.upsert(tx, run, records, deletedIds);
      await tx.query(
        `INSERT INTO crash_writes (integration, object, external_id, run_id) SELECT $1, $2, r.id, $3 FROM jsonb_to_recordset($4::jsonb) AS r(id text)`,
        [run.integration, run.object, run.runId, JSON.stringify(records.map((r) => ({ id: String(r.id) })))],
      );
      return result;
    },
  };
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const engine = createSyncEngine({
    db,
    queue,
    integrations,
    connectors: (system) => (system === fakeConnector.system ? fakeConnector : undefined),
    sink,
    logger,
  });
  const worker = createWorker({
    queue,
    engine,
    concurrency: Number(process.env.CRASH_CONCURRENCY ?? 2),
    leaseMs: CRASH_LEASE_MS,
    pollMs: 20,
    logger,
  });
  worker.start();
  process.on('SIGTERM', () => {
    void worker
      .stop(2000)
      .then(() => queue.close())
      .then(() => db.close())
      .then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

main().catch((error) => {
  process.stderr.write(`crash worker failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
