import { bearer, createHarness, Harness } from './testing/harness';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());

const HOUR = 3_600_000;
const CONFIG = {
  baseUrl: 'http://127.0.0.1:1',
  apiKey: 'key-live-0123456789',
  webhookSecret: 'whsec-abcdefghijkl',
};

describe('GET /api/sync/runs/:id', () => {
  test('a run with its pages and per-object counts so far, for a viewer; an unknown id is a 404', async () => {
    await h.inject({
      method: 'POST',
      url: '/api/integrations',
      headers: bearer(h.auth.admin),
      payload: { name: 'crm', system: 'demo', objects: ['contacts'], config: CONFIG },
    });
    const { runId } = (
      await h.inject({ method: 'POST', url: '/api/sync/trigger/crm', headers: bearer(h.auth.operator), payload: {} })
    ).json();
    const queued = await h.inject({ method: 'GET', url: `/api/sync/runs/${runId}`, headers: bearer(h.auth.viewer) });
    expect(queued.statusCode).toBe(200);
    expect(queued.json()).toMatchObject({ id: runId, integration: 'crm', status: 'queued', pages: 0, objects: {} });
    await h.drain();
    const done = (
      await h.inject({ method: 'GET', url: `/api/sync/runs/${runId}`, headers: bearer(h.auth.viewer) })
    ).json();
    // Three demo records, two per page.
    expect(done).toMatchObject({
      status: 'succeeded',
      pages: 2,
      received: 3,
      objects: { contacts: { pages: 2, received: 3 } },
    });
    const missing = await h.inject({ method: 'GET', url: '/api/sync/runs/nope', headers: bearer(h.auth.viewer) });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'not_found', message: 'run "nope" does not exist' });
  });
});

describe('GET /api/sync/records-per-hour', () => {
  test('sums pulled records per integration into its last commit hour; leaves out pushes and older runs', async () => {
    const now = Date.now();
    const insert = (id: string, integration: string, direction: string, received: number, at: number) =>
      h.db.query(
        `INSERT INTO sync_runs (id, integration, direction, status, actor, pages, received, accepted,
           queued_at, updated_at)
         VALUES ($1, $2, $3, 'succeeded', 't', 1, $4, $4, $5, $5)`,
        [id, integration, direction, received, new Date(at)],
      );
    await insert('ph-1', 'erp', 'pull', 10, now - HOUR);
    await insert('ph-2', 'erp', 'pull', 5, now - HOUR);
    await insert('ph-3', 'erp', 'pull', 7, now);
    await insert('ph-4', 'erp', 'push', 100, now);
    await insert('ph-5', 'erp', 'pull', 1000, now - 30 * HOUR);
    const res = await h.inject({
      method: 'GET',
      url: '/api/sync/records-per-hour?hours=3',
      headers: bearer(h.auth.viewer),
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.hours).toHaveLength(3);
    expect(new Date(body.hours[2]).getTime()).toBe(Math.floor(now / HOUR) * HOUR);
    expect(body.series.find((s: { integration: string }) => s.integration === 'erp')).toEqual({
      integration: 'erp',
      received: [0, 15, 7],
      accepted: [0, 15, 7],
    });
  });

  test('an out-of-range window is a 400 naming the parameter', async () => {
    const res = await h.inject({
      method: 'GET',
      url: '/api/sync/records-per-hour?hours=0',
      headers: bearer(h.auth.viewer),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/hours/);
  });
});
