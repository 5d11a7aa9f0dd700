/**
 * The 'webhook' job handler under at-least-once delivery: two deliveries of one job at once (a lease that
 * expired while the first still ran, as the fault suite's SIGKILL flood produced under load) process its
 * events once: one webhook_events row each and one audit entry counting them.
 */
import pino from 'pino';
import { migrate, openPglite, type Db } from '@data-sync/pipelines/db';
import type { Job } from '../queue/binding';
import { MIGRATIONS } from '../store/migrations';
import { createWebhookJobHandler } from './jobs';

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
});
