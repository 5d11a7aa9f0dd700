import { mixpanel } from '@data-sync/integrations/analytics/mixpanel';
import { mixpanelConfigSchema } from '@data-sync/integrations/analytics/mixpanel/config';
import { ingestAnalyticsPage, replaceMetricDays } from '@data-sync/pipelines/analytics';
import { runBatch } from '@data-sync/pipelines/batch';
import { sfTime, toSalesforce } from '@data-sync/pipelines/testing/generate';
import { startFakeMixpanel, type MixpanelFake } from '@data-sync/vendor-fakes/mixpanel';
import { bearer, createHarness, type Harness } from './testing/harness';

let h: Harness;
let fake: MixpanelFake;

beforeAll(async () => {
  h = await createHarness();
  fake = await startFakeMixpanel({ seed: { events: 12 } });
  // Events pulled from the fake through the connector, into the model as the sink step writes them.
  const c = fake.credentials;
  const connector = mixpanel.create(
    mixpanelConfigSchema.parse({
      serviceAccountUsername: c.username,
      serviceAccountSecret: c.secret,
      projectId: c.projectId,
      projectToken: c.projectToken,
      baseUrl: fake.url,
      startDate: new Date(Date.now() - 4 * 86_400_000).toISOString().slice(0, 10),
    }),
  );
  let cursor: string | null = null;
  for (let done = false; !done;) {
    const page = await connector.pull('events', cursor);
    await h.db.transaction((tx) =>
      ingestAnalyticsPage(tx, { integration: 'mixpanel', object: 'events', records: page.records }),
    );
    ({ cursor, done } = page);
  }
  const [first] = [...fake.events.values()];
  await runBatch(h.db, {
    integration: 'salesforce',
    mapping: 'salesforce_to_internal.Contact',
    records: [
      toSalesforce(
        {
          email: first.properties.distinct_id,
          first_name: 'Ada',
          last_name: 'L',
          phone: null,
          company_name: null,
          created_at: null,
          updated_at: sfTime(1),
        },
        1,
      ),
    ],
  });
  await replaceMetricDays(h.db, 'google_analytics', [
    { date: '20260101', dimensions: { country: 'DE' }, metrics: { activeUsers: '5' }, pullId: 'p1' },
    { date: '20260102', dimensions: { country: 'DE' }, metrics: { activeUsers: '8' }, pullId: 'p1' },
    { date: '20260102', dimensions: { country: 'FR' }, metrics: { activeUsers: '3' }, pullId: 'p1' },
  ]);
});
afterAll(async () => {
  await fake?.close();
  await h?.close();
});

const get = async (url: string, role: 'viewer' | 'operator' = 'viewer') => {
  const reply = await h.inject({ method: 'GET', url, headers: bearer(h.auth[role]) });
  return { status: reply.statusCode, body: reply.json() };
};

test('GET /api/events lists the pulled events newest first, paginated, with PII masked for viewers', async () => {
  const all = await get('/api/events?limit=500');
  expect(all.status).toBe(200);
  expect(all.body.total).toBe(12);
  const times = all.body.items.map((e: { occurredAt: string }) => e.occurredAt);
  expect(times).toEqual([...times].sort().reverse());
  const page = await get('/api/events?limit=5&offset=10');
  expect(page.body).toMatchObject({ total: 12, items: all.body.items.slice(10) });
  const text = JSON.stringify(all.body);
  for (const e of fake.events.values())
    expect(text).not.toContain(e.properties.distinct_id.includes('@') ? e.properties.distinct_id : '\u0000');
  expect(all.body.items.find((e: { email: string | null }) => e.email)?.email).toMatch(/^\w\*\*\*@example\.com$/);
});

test('operators see emails, and an event carrying a contact email links to that contact', async () => {
  const { body } = await get('/api/events?limit=500', 'operator');
  const [first] = [...fake.events.values()];
  const linked = body.items.filter((e: { contactEmail: string | null }) => e.contactEmail);
  expect(linked.map((e: { eventId: string; contactEmail: string }) => [e.eventId, e.contactEmail])).toEqual([
    [first.properties.$insert_id, first.properties.distinct_id],
  ]);
});

test('events filter by source, name and time; a reversed range is a 400', async () => {
  const name = [...fake.events.values()][1].event;
  const byName = await get(`/api/events?name=${encodeURIComponent(name)}&source=mixpanel&limit=500`);
  expect(byName.body.total).toBe([...fake.events.values()].filter((e) => e.event === name).length);
  expect(byName.body.items.map((e: { event: string }) => e.event)).toEqual(byName.body.items.map(() => name));
  const middle = [...fake.events.values()][6].properties.time * 1000;
  const later = await get(`/api/events?from=${new Date(middle).toISOString()}&limit=500`);
  expect(later.body.total).toBe([...fake.events.values()].filter((e) => e.properties.time * 1000 >= middle).length);
  expect((await get('/api/events?source=amplitude')).body).toEqual({ items: [], total: 0 });
  const reversed = await get('/api/events?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z');
  expect(reversed).toMatchObject({ status: 400, body: { error: 'validation_failed' } });
  expect((await get('/api/events?from=yesterday')).status).toBe(400);
});

test('GET /api/metrics lists daily values newest day first and filters by metric and day', async () => {
  const all = await get('/api/metrics');
  expect(all.body).toEqual({
    total: 3,
    items: [
      {
        source: 'google_analytics',
        metric: 'activeUsers',
        date: '2026-01-02',
        dimensions: { country: 'DE' },
        value: 8,
      },
      {
        source: 'google_analytics',
        metric: 'activeUsers',
        date: '2026-01-02',
        dimensions: { country: 'FR' },
        value: 3,
      },
      {
        source: 'google_analytics',
        metric: 'activeUsers',
        date: '2026-01-01',
        dimensions: { country: 'DE' },
        value: 5,
      },
    ],
  });
  expect((await get('/api/metrics?from=2026-01-01&to=2026-01-01')).body.total).toBe(1);
  expect((await get('/api/metrics?name=sessions')).body.total).toBe(0);
});

test('the analytics routes need a token', async () => {
  expect((await h.inject({ method: 'GET', url: '/api/events' })).statusCode).toBe(401);
  expect((await h.inject({ method: 'GET', url: '/api/metrics' })).statusCode).toBe(401);
});
