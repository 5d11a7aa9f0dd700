import { ingestAnalyticsPage, replaceMetricDays, upsertEvents } from './analytics';
import { mapAmplitudeEvent, mapGa4ReportRow, mapMixpanelEvent } from './analytics-mappings';
import { runBatch } from './batch';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { pipelinePglite, pipelinePostgres, type TestDb } from './testing/db';
import { sfTime, toSalesforce } from './testing/generate';

const mixpanel = (id: string, extra: Record<string, unknown> = {}) => ({
  event: 'Signed up',
  properties: { time: 1767225600, distinct_id: 'ada@example.com', $insert_id: id, plan: 'pro', ...extra },
});
const ga4 = (date: string, country: string, activeUsers: string, pullId: string) => ({
  date,
  dimensions: { country },
  metrics: { activeUsers, sessions: '7' },
  pullId,
});

test('each vendor shape maps to an events row, and a record without an id, name or time is refused with reasons', () => {
  expect(mapMixpanelEvent(mixpanel('m1', { time: 1767225600123 }))).toEqual({
    ok: true,
    rows: [
      {
        event_id: 'm1',
        name: 'Signed up',
        occurred_at: '2026-01-01T00:00:00.123Z',
        user_id: 'ada@example.com',
        device_id: null,
        email: 'ada@example.com',
        properties: expect.objectContaining({ plan: 'pro' }),
      },
    ],
  });
  const amplitude = mapAmplitudeEvent({
    uuid: 'u-1',
    event_type: 'Play',
    event_time: '2026-01-05 08:00:00.250000',
    user_id: 'u42',
    device_id: 'd1',
    user_properties: { email: 'Grace@Example.com' },
    event_properties: { song: 'x' },
  });
  expect(amplitude).toMatchObject({
    ok: true,
    rows: [
      {
        event_id: 'u-1',
        name: 'Play',
        occurred_at: '2026-01-05T08:00:00.250Z',
        user_id: 'u42',
        device_id: 'd1',
        email: 'grace@example.com',
        properties: { song: 'x' },
      },
    ],
  });
  expect(mapMixpanelEvent({ event: 'x', properties: { time: 'soon' } })).toEqual({
    ok: false,
    errors: [
      { field: 'properties.$insert_id', rule: 'required', reason: 'properties.$insert_id is required' },
      { field: 'properties.time', rule: 'required', reason: 'properties.time is required' },
    ],
  });
  expect(mapGa4ReportRow(ga4('20260103', 'DE', '12', 'p1'))).toEqual({
    ok: true,
    rows: [
      { date: '2026-01-03', metric: 'activeUsers', dimensions: { country: 'DE' }, value: 12, pull_id: 'p1' },
      { date: '2026-01-03', metric: 'sessions', dimensions: { country: 'DE' }, value: 7, pull_id: 'p1' },
    ],
  });
  expect(mapGa4ReportRow({ ...ga4('20260103', 'DE', 'n/a', 'p1') })).toMatchObject({
    ok: false,
    errors: [{ field: 'metrics.activeUsers' }],
  });
});

function analyticsStore(open: () => Promise<TestDb>) {
  let t: TestDb;
  beforeAll(async () => {
    t = await open();
  });
  afterAll(async () => t?.close());
  beforeEach(async () => {
    await t.db.exec('TRUNCATE events, metrics_daily, pipeline_quarantine, contacts');
  });

  test('upsertEvents is idempotent on the vendor event id: a repeat changes nothing, a new version updates in place', async () => {
    const page = [mixpanel('a'), mixpanel('b'), mixpanel('c', { distinct_id: 'anon-1' })];
    expect(await t.db.transaction((tx) => upsertEvents(tx, 'mixpanel', page))).toEqual({
      received: 3,
      inserted: 3,
      updated: 0,
      unchanged: 0,
      duplicates: 0,
      quarantined: 0,
    });
    expect(await upsertEvents(t.db, 'mixpanel', page)).toEqual({
      received: 3,
      inserted: 0,
      updated: 0,
      unchanged: 3,
      duplicates: 0,
      quarantined: 0,
    });
    expect(
      await upsertEvents(t.db, 'mixpanel', [mixpanel('b', { plan: 'team' }), mixpanel('b', { plan: 'enterprise' })]),
    ).toEqual({ received: 2, inserted: 0, updated: 1, unchanged: 0, duplicates: 1, quarantined: 0 });
    const { rows } = await t.db.query(
      "SELECT event_id, email, properties->>'plan' AS plan FROM events ORDER BY event_id",
    );
    expect(rows).toEqual([
      { event_id: 'a', email: 'ada@example.com', plan: 'pro' },
      { event_id: 'b', email: 'ada@example.com', plan: 'enterprise' },
      { event_id: 'c', email: null, plan: 'pro' },
    ]);
    // The same id at another source is another event.
    expect(
      (
        await upsertEvents(t.db, 'amplitude', [
          { uuid: 'a', event_type: 'x', event_time: '2026-01-01 00:00:00.000000' },
        ])
      ).inserted,
    ).toBe(1);
  });

  test('a refused event is quarantined with its reasons, not dropped', async () => {
    const result = await upsertEvents(t.db, 'mixpanel', [
      mixpanel('ok'),
      { event: 'No id', properties: { time: 1, $email: 'lin@example.com' } },
    ]);
    expect(result).toMatchObject({ inserted: 1, quarantined: 1 });
    const { rows } = await t.db.query('SELECT integration, mapping, errors, subject_hash FROM pipeline_quarantine');
    expect(rows).toEqual([
      {
        integration: 'mixpanel',
        mapping: 'mixpanel_to_internal.events',
        errors: [{ field: 'properties.$insert_id', rule: 'required', reason: 'properties.$insert_id is required' }],
        subject_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);
  });

  test('an event links to the contact of the email it carries', async () => {
    await runBatch(t.db, {
      integration: 'salesforce',
      mapping: 'salesforce_to_internal.Contact',
      records: [
        toSalesforce(
          {
            email: 'ada@example.com',
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
    await upsertEvents(t.db, 'mixpanel', [mixpanel('a'), mixpanel('b', { distinct_id: 'anon' })]);
    const { rows } = await t.db.query(
      'SELECT e.event_id, c.first_name FROM events e LEFT JOIN contacts c ON c.email = e.email ORDER BY e.event_id',
    );
    expect(rows).toEqual([
      { event_id: 'a', first_name: 'Ada' },
      { event_id: 'b', first_name: null },
    ]);
  });

  test('replaceMetricDays: pages of one pull add up; a later pull of a day replaces all of its rows', async () => {
    const first = await replaceMetricDays(t.db, 'google_analytics', [
      ga4('20260101', 'DE', '5', 'p1'),
      ga4('20260102', 'DE', '6', 'p1'),
    ]);
    expect(first).toMatchObject({ inserted: 4, replaced: 0 });
    // Second page of the same pull: day 2 continues, nothing of the first page is lost.
    await replaceMetricDays(t.db, 'google_analytics', [ga4('20260102', 'FR', '3', 'p1')]);
    expect(await replaceMetricDays(t.db, 'google_analytics', [ga4('20260102', 'FR', '3', 'p1')])).toMatchObject({
      inserted: 0,
      updated: 0,
      unchanged: 2,
    });
    // A look-back pull re-reads day 2: FR disappeared (GA4 thresholding), DE changed; day 1 is untouched.
    const second = await replaceMetricDays(t.db, 'google_analytics', [ga4('20260102', 'DE', '9', 'p2')]);
    expect(second).toMatchObject({ replaced: 4, inserted: 2 });
    const { rows } = await t.db.query(
      "SELECT to_char(date, 'YYYY-MM-DD') AS date, metric, dimensions, value FROM metrics_daily WHERE metric = 'activeUsers' ORDER BY date, dimensions_key",
    );
    expect(rows).toEqual([
      { date: '2026-01-01', metric: 'activeUsers', dimensions: { country: 'DE' }, value: 5 },
      { date: '2026-01-02', metric: 'activeUsers', dimensions: { country: 'DE' }, value: 9 },
    ]);
  });

  test('replaceMetricDays: a re-read of a day replaces only the metrics it brings; the other counts of that day stay', async () => {
    const row = (date: string, metrics: Record<string, number>, pullId: string) => ({
      id: date,
      date,
      dimensions: { page_id: '1' },
      metrics,
      pullId,
    });
    // Day 1's pull: the daily value and the follower count as of that day.
    await replaceMetricDays(t.db, 'facebook', [row('20260110', { page_media_view: 5, followers_count: 100 }, 'p1')]);
    // The next day's pull re-reads day 1's daily value only (followers now belong to day 2).
    const second = await replaceMetricDays(t.db, 'facebook', [
      row('20260110', { page_media_view: 7 }, 'p2'),
      row('20260111', { page_media_view: 3, followers_count: 104 }, 'p2'),
    ]);
    expect(second).toMatchObject({ replaced: 1, inserted: 3 });
    const { rows } = await t.db.query(
      "SELECT to_char(date, 'YYYY-MM-DD') AS date, metric, value FROM metrics_daily WHERE source = 'facebook' ORDER BY date, metric",
    );
    expect(rows).toEqual([
      { date: '2026-01-10', metric: 'followers_count', value: 100 },
      { date: '2026-01-10', metric: 'page_media_view', value: 7 },
      { date: '2026-01-11', metric: 'followers_count', value: 104 },
      { date: '2026-01-11', metric: 'page_media_view', value: 3 },
    ]);
  });

  test('ingestAnalyticsPage routes events and metrics pages and leaves other objects to the default sink', async () => {
    await expect(
      ingestAnalyticsPage(t.db, { integration: 'mixpanel', object: 'events', records: [mixpanel('x')] }),
    ).resolves.toMatchObject({ inserted: 1 });
    await expect(
      ingestAnalyticsPage(t.db, {
        integration: 'google_analytics',
        object: 'metrics',
        records: [ga4('20260101', 'DE', '1', 'p')],
      }),
    ).resolves.toMatchObject({ inserted: 2 });
    await expect(
      ingestAnalyticsPage(t.db, { integration: 'salesforce', object: 'Contact', records: [{}] }),
    ).resolves.toBeUndefined();
    await expect(upsertEvents(t.db, 'nobody', [])).rejects.toThrow(
      'no event mapping for source "nobody": known are amplitude, mixpanel',
    );
  });
}

describe('analytics store on PGlite', () => analyticsStore(pipelinePglite));
describeWithService('analytics store on PostgreSQL', TEST_DATABASE_URL, () =>
  analyticsStore(() => pipelinePostgres(TEST_DATABASE_URL, 'analytics')),
);
