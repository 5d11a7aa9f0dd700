/**
 * The 'webhook' job handler under at-least-once delivery: two deliveries of one job at once (a lease that
 * expired while the first still ran, as the fault suite's SIGKILL flood produced under load) process its
 * events once: one webhook_events row each and one audit entry counting them. A backlog of webhook jobs
 * goes through the worker in batches: its statements and transactions are counted, not timed.
 */
import { randomUUID } from 'crypto';
import pino from 'pino';
import { migrate, openPglite, type Db, type Queryable } from '@data-sync/pipelines/db';
import { createJobDispatch } from '../engine/dispatch';
import { createWorker } from '../engine/worker';
import type { Job } from '../queue/binding';
import { eventually } from '../queue/contract';
import { createStoreBinding } from '../queue/store-binding';
import { MIGRATIONS } from '../store/migrations';
import { createRunsRepository } from '../store/runs-repository';
import { createWebhookJobHandler } from './jobs';

/** `db`, counting the statements sent to it (inside transactions too) and the transactions. */
function counting(db: Db) {
  const counts = { statements: 0, transactions: 0 };
  const queryable = (q: Queryable): Queryable => ({
    query: (sql, params) => {
      counts.statements++;
      return q.query(sql, params);
    },
  });
  const counted: Db = Object.assign(Object.create(db) as Db, queryable(db), {
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => {
      counts.transactions++;
      return db.transaction((tx) => fn(queryable(tx)));
    },
  });
  return { db: counted, counts };
}

describe('webhook job handler', () => {
  let db: Db;
  beforeAll(async () => {
    db = await openPglite();
    await migrate(db, MIGRATIONS);
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  test('two concurrent deliveries of one job record and audit its events once', async () => {
    let triggers = 0;
    const handle = createWebhookJobHandler({
      db,
      engine: { trigger: async () => ({ runId: `run-${++triggers}`, jobId: String(triggers) }) } as never,
      logger: pino({ level: 'silent' }),
    });
    const job: Job = {
      id: '7',
      kind: 'webhook',
      integration: 'crm',
      payload: {
        events: [
          { id: 'e1', type: 'contact.updated', payload: {} },
          { id: 'e2', type: 'contact.updated', payload: {} },
        ],
        receivedAt: new Date().toISOString(),
      },
      attempts: 1,
      enqueuedAt: new Date(),
    };
    await Promise.all([handle(job), handle({ ...job, attempts: 2 })]);
    const events = await db.query<{ n: string }>(`SELECT count(*) AS n FROM webhook_events WHERE integration = 'crm'`);
    expect(Number(events.rows[0].n)).toBe(2);
    const audit = await db.query<{ events: number }>(
      `SELECT (details->>'events')::int AS events FROM audit_log WHERE action = 'webhook.processed' AND target = 'crm'`,
    );
    expect(audit.rows.map((r) => Number(r.events))).toEqual([2]);
  });

  test('a backlog of webhook jobs is handled in batches: far fewer statements and transactions than jobs, each event recorded and audited once, deletions handed over', async () => {
    const { db: counted, counts } = counting(db);
    const queue = createStoreBinding({ db: counted, queue: 'backlog' });
    const triggered: string[] = [];
    const deletions: unknown[] = [];
    const dispatch = createJobDispatch({});
    dispatch.registerHandler(
      'webhook',
      createWebhookJobHandler({
        db: counted,
        // As the engine's trigger does: a queued pull run, which the next batch's hasQueuedPull finds.
        engine: {
          trigger: async (integration: string, opts: { actor: string }) => {
            triggered.push(integration);
            const runId = randomUUID();
            await createRunsRepository(db).insertQueued({
              id: runId,
              integration,
              direction: 'pull',
              full: false,
              actor: opts.actor,
              at: new Date(),
            });
            return { runId, jobId: runId };
          },
        } as never,
        logger: pino({ level: 'silent' }),
        deletion: async (_integration, payload) => void deletions.push(payload),
      }),
    );
    const integrations = ['shop-a', 'shop-b'];
    const event = (id: string, type = 'order.updated') => ({ id, type, payload: {} });
    const jobs = Array.from({ length: 200 }, (_, i) => ({
      integration: integrations[i % 2],
      events: [event(`e${i}`)],
    }));
    // Vendors' redeliveries, beside the originals in the backlog, and one Meta data deletion request.
    for (let i = 0; i < 20; i++) jobs.push({ integration: integrations[i % 2], events: [event(`e${i * 7}`)] });
    jobs.push({ integration: 'shop-a', events: [event('del-1', 'data_deletion')] });
    await Promise.all(
      jobs.map((job) =>
        queue.enqueue({
          kind: 'webhook',
          integration: job.integration,
          payload: { events: job.events, receivedAt: new Date().toISOString() },
        }),
      ),
    );
    counts.statements = 0;
    counts.transactions = 0;
    const worker = createWorker({ queue, engine: dispatch, logger: pino({ level: 'silent' }), pollMs: 10 });
    worker.start();
    await eventually(
      () => db.query<{ n: string }>(`SELECT count(*) AS n FROM jobs WHERE queue = 'backlog'`),
      (result) => Number(result.rows[0].n) === 0,
      30_000,
    );
    await worker.stop(1000);

    // One job at a time cost 1,257 statements and 201 transactions here; in batches about 64 and 11.
    expect(counts.transactions).toBeLessThanOrEqual(jobs.length / 10);
    expect(counts.statements).toBeLessThanOrEqual(jobs.length / 2);
    const recorded = await db.query<{ integration: string; n: string }>(
      `SELECT integration, count(*) AS n FROM webhook_events WHERE integration LIKE 'shop-%' GROUP BY integration ORDER BY integration`,
    );
    expect(recorded.rows.map((r) => [r.integration, Number(r.n)])).toEqual([
      ['shop-a', 101],
      ['shop-b', 100],
    ]);
    const audit = await db.query<{ events: number; duplicates: number }>(
      `SELECT (details->>'events')::int AS events, (details->>'duplicates')::int AS duplicates FROM audit_log
       WHERE action = 'webhook.processed' AND target LIKE 'shop-%'`,
    );
    // One entry for each job that recorded its event; the redeliveries recorded none.
    expect(audit.rows).toHaveLength(201);
    expect(audit.rows.every((r) => Number(r.events) === 1 && Number(r.duplicates) === 0)).toBe(true);
    expect(deletions).toHaveLength(1);
    // One incremental sync per integration: each later batch finds the pull already queued.
    expect(triggered.sort()).toEqual(integrations);
  });
});
