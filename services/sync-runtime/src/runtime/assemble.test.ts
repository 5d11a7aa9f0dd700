import pino from 'pino';
import { migrate, openPglite, type Db } from '@data-sync/pipelines/db';
import { JOB_KINDS, type Job } from '../queue/binding';
import { eventually } from '../queue/contract';
import { createStoreBinding } from '../queue/store-binding';
import { Keyring, generateKey } from '../security/crypto';
import { MIGRATIONS } from '../store/migrations';
import { assembleRuntime } from './assemble';

let db: Db;

beforeAll(async () => {
  db = await openPglite();
  await migrate(db, MIGRATIONS);
});
afterAll(async () => db.close());

const job = (kind: Job['kind']): Job => ({ id: `j-${kind}`, kind, payload: null, attempts: 1, enqueuedAt: new Date() });

describe('assembleRuntime', () => {
  test('the engine every entry point gets has a handler for every job kind of the queue contract', async () => {
    const queue = createStoreBinding({ db, queue: `assemble-${process.pid}` });
    const { engine } = assembleRuntime({
      db,
      queue,
      keyring: Keyring.fromBase64([generateKey()]),
      logger: pino({ level: 'silent' }),
      env: {},
    });
    expect(engine.kinds().sort()).toEqual([...JOB_KINDS].sort());
    // A kind outside the contract is refused by the contract before any handler is looked up.
    await expect(engine.handle({ ...job('sync'), kind: 'teleport' as Job['kind'] })).rejects.toThrow(
      /kind: Invalid discriminator value/,
    );
    await queue.close();
  });

  test('a run whose job is dead-lettered is closed as failed with the reason: after a lease that kept expiring, and after its last failure', async () => {
    const retry = { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 };
    const queue = createStoreBinding({ db, queue: `assemble-dead-${process.pid}`, retry });
    assembleRuntime({
      db,
      queue,
      keyring: Keyring.fromBase64([generateKey()]),
      logger: pino({ level: 'silent' }),
      env: {},
    });
    const insertRun = (id: string, status: string) =>
      db.query(`INSERT INTO sync_runs (id, integration, status, actor) VALUES ($1, 'crm', $2, 'api')`, [id, status]);
    const runOf = async (id: string) =>
      (
        await db.query<{ status: string; error: string | null; finished_at: Date | null }>(
          'SELECT status, error, finished_at FROM sync_runs WHERE id = $1',
          [id],
        )
      ).rows[0];

    // The worker dies on every delivery (a database restart each time): the run was left `running`.
    await insertRun('run-crashed', 'running');
    await queue.enqueue({ kind: 'sync', integration: 'crm', payload: { runId: 'run-crashed' } });
    for (let delivery = 1; delivery <= retry.maxAttempts; delivery++)
      await eventually(
        () => queue.claim(1, 50),
        (jobs) => jobs.length === 1,
      );
    await eventually(
      () => queue.claim(1, 50).then(() => runOf('run-crashed')),
      (run) => run.status === 'failed',
    );
    expect(await runOf('run-crashed')).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^dead-lettered after 3 deliveries: lease expired/),
    });

    // A run still `queued` whose job fails for the last time before the engine ever started it.
    await insertRun('run-queued', 'queued');
    await queue.enqueue({ kind: 'push', integration: 'crm', payload: { runId: 'run-queued' } });
    for (let delivery = 1; delivery <= retry.maxAttempts; delivery++) {
      const [job] = await eventually(
        () => queue.claim(1, 5000),
        (jobs) => jobs.length === 1,
      );
      await queue.fail(job, 'the vendor refused the push');
    }
    expect(await runOf('run-queued')).toMatchObject({
      status: 'failed',
      error: 'dead-lettered after 2 deliveries: the vendor refused the push',
    });
    expect((await runOf('run-queued')).finished_at).toBeInstanceOf(Date);
    await queue.close();
  });
});
