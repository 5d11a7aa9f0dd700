import IORedis from 'ioredis';
import { openPostgres } from '@data-sync/pipelines/db';
import { TEST_DATABASE_URL, TEST_REDIS_URL, describeWithService } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { createBullmqBinding } from '../queue/bullmq-binding';
import { bearer, createHarness, Harness } from './testing/harness';
import { signDemo } from './testing/demo-connector';

const CONFIG = { baseUrl: 'http://127.0.0.1:1', apiKey: 'pg-key-123456', webhookSecret: 'pg-secret-123456' };
const scratch = scratchDatabase('api_it');
const dbUrl = scratch.url;

function sendWebhooks(h: Harness, name: string, n: number) {
  return Promise.all(
    Array.from({ length: n }, (_, i) => {
      const body = JSON.stringify({ events: [{ id: `evt-${i}`, type: 'contact.updated' }] });
      return h.inject({
        method: 'POST',
        url: `/webhooks/${name}`,
        headers: { 'content-type': 'application/json', 'x-demo-signature': signDemo(CONFIG.webhookSecret, body) },
        payload: body,
      });
    }),
  );
}

describeWithService('API on PostgreSQL', TEST_DATABASE_URL, () => {
  let h: Harness;
  const db = () => openPostgres(dbUrl);
  let pg: ReturnType<typeof openPostgres>;
  beforeAll(async () => {
    await scratch.create();
    pg = db();
    h = await createHarness({ db: pg });
    await h.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(h.auth.admin),
      payload: { name: 'pg_crm', system: 'demo', objects: ['contacts'], config: CONFIG },
    });
  });
  afterAll(async () => {
    await h.close();
    await pg.close();
    await scratch.drop();
  });

  test('50 concurrent webhook deliveries are each committed to the jobs table before their 202', async () => {
    const replies = await sendWebhooks(h, 'pg_crm', 50);
    expect(replies.map((r) => r.statusCode)).toEqual(Array(50).fill(202));
    const ids = replies.map((r) => r.json().jobId);
    const { rows } = await pg.query<{ n: string }>(
      `SELECT count(*) AS n FROM jobs WHERE kind = 'webhook' AND id::text = ANY($1::text[])`,
      [ids],
    );
    expect(Number(rows[0].n)).toBe(50);
    await h.drain();
    const runs = await pg.query(`SELECT status FROM sync_runs WHERE integration = 'pg_crm'`);
    expect(runs.rows.length).toBeGreaterThanOrEqual(1);
    expect(runs.rows.every((r) => r.status === 'succeeded')).toBe(true);
    expect(
      (await pg.query(`SELECT count(*)::int AS n FROM webhook_events WHERE integration = 'pg_crm'`)).rows[0].n,
    ).toBe(50);
  });

  test('trigger, history and audit on PostgreSQL', async () => {
    const res = await h.inject({
      method: 'POST',
      url: '/api/sync/trigger/pg_crm',
      headers: bearer(h.auth.operator),
      payload: { full: true },
    });
    expect(res.statusCode).toBe(202);
    await h.drain();
    const history = await h.inject({
      method: 'GET',
      url: `/api/sync/history?integration=pg_crm&limit=1`,
      headers: bearer(h.auth.viewer),
    });
    expect(history.json().runs[0]).toMatchObject({ id: res.json().runId, status: 'succeeded', full: true });
    const audit = await h.inject({
      method: 'GET',
      url: '/api/audit?action=POST%20%2Fapi%2Fsync%2Ftrigger%2F%3Aintegration',
      headers: bearer(h.auth.admin),
    });
    expect(audit.json().entries[0]).toMatchObject({
      target: 'pg_crm',
      outcome: 'ok',
      details: { runId: res.json().runId },
    });
  });
});

describeWithService('API with the Redis queue', TEST_REDIS_URL, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({
      queue: () => createBullmqBinding({ url: TEST_REDIS_URL, prefix: `api-it-${process.pid}`, queue: 'api-it' }),
    });
    await h.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(h.auth.admin),
      payload: { name: 'redis_crm', system: 'demo', objects: ['contacts'], config: CONFIG },
    });
  });
  afterAll(async () => {
    await h.close();
    const redis = new IORedis(TEST_REDIS_URL);
    const keys = await redis.keys(`api-it-${process.pid}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });

  test('webhook deliveries are queued in Redis before the 202 and processed from there', async () => {
    const replies = await sendWebhooks(h, 'redis_crm', 20);
    expect(replies.map((r) => r.statusCode)).toEqual(Array(20).fill(202));
    expect((await h.queue.depth()).ready).toBe(20);
    expect(await h.drain()).toBeGreaterThanOrEqual(20);
    const runs = await h.db.query(`SELECT status FROM sync_runs WHERE integration = 'redis_crm'`);
    expect(runs.rows.length).toBeGreaterThanOrEqual(1);
    expect(runs.rows.every((r) => r.status === 'succeeded')).toBe(true);
  });
});
