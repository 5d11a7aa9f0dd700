/**
 * Social insights through the real engine, worker loop and store queue: the `metrics` object of
 * Facebook, Instagram, LinkedIn and X pulled from their fakes lands in `metrics_daily` through the
 * runtime's sink, with the values the fakes serve; a second sync replaces today's counts and keeps the
 * days behind the look-back window as they were.
 */
import pino from 'pino';
import { CONNECTORS } from '@data-sync/integrations/registry';
import { addDays, utcDay } from '@data-sync/integrations/analytics/shared/time';
import { startSocialDemoFakes, type SocialDemoFakes } from '@data-sync/vendor-fakes/demo/social';
import { migrate, openPglite, type Db } from '@data-sync/pipelines/db';
import { withAnalyticsModel } from '@data-sync/pipelines/analytics';
import { INTEGRATIONS as CATALOG } from '@data-sync/config/integrations';
import { createStoreSink, createSyncEngine, type IntegrationInfo, type SyncEngine } from '../engine';
import { createStoreBinding } from '../queue/store-binding';
import type { QueueBinding } from '../queue/binding';
import { MIGRATIONS } from '../store/migrations';

const NETWORKS = ['facebook', 'instagram', 'linkedin', 'x'] as const;
let db: Db;
let fakes: SocialDemoFakes;
let engine: SyncEngine;
let queue: QueueBinding;

beforeAll(async () => {
  [db, fakes] = await Promise.all([openPglite(), startSocialDemoFakes({ leads: 0, mentions: 0 })]);
  await migrate(db, MIGRATIONS);
  const registry = new Map<string, IntegrationInfo>(
    NETWORKS.map((name) => [name, { name, system: name, config: fakes.configs[name], objects: ['metrics'] }]),
  );
  queue = createStoreBinding({
    db,
    queue: `social-insights-${process.pid}`,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
  });
  engine = createSyncEngine({
    db,
    queue,
    logger: pino({ level: 'silent' }),
    integrations: { get: async (n) => registry.get(n) ?? null, list: async () => [...registry.values()] },
    connectors: (system) => CONNECTORS[system],
    sink: withAnalyticsModel(createStoreSink()),
  });
}, 60_000);
afterAll(async () => {
  await fakes?.close();
  await db?.close();
});

async function syncAll(full: boolean): Promise<void> {
  for (const name of NETWORKS) await engine.trigger(name, { actor: 'test', full });
  for (;;) {
    const jobs = await queue.claim(10, 60_000);
    if (jobs.length === 0) return;
    for (const job of jobs) {
      await engine.handle(job);
      await queue.ack(job);
    }
  }
}

async function value(source: string, metric: string, date: string, dimensions: Record<string, string>) {
  const { rows } = await db.query<{ value: number }>(
    `SELECT value FROM metrics_daily WHERE source = $1 AND metric = $2 AND date = $3 AND dimensions = $4::jsonb`,
    [source, metric, date, JSON.stringify(dimensions)],
  );
  return rows.map((r) => r.value);
}

test('the catalog syncs metrics for every social network', () => {
  for (const name of NETWORKS) expect(CATALOG.find((i) => i.name === name)?.objects).toContain('metrics');
});

test('insights and followers of every network reach metrics_daily with the values the vendors serve', async () => {
  await syncAll(true);
  const runs = (await engine.history({ limit: 10, offset: 0 })).runs as { integration: string; status: string }[];
  expect(runs.map((r) => [r.integration, r.status]).sort()).toEqual(NETWORKS.map((n) => [n, 'succeeded']));

  const today = utcDay(Date.now());
  const day = addDays(today, -5);
  const { meta, linkedin, x } = fakes;
  const page = { page_id: meta.credentials.pageId };
  const ig = { instagram_account_id: meta.instagramAccountId };
  // Daily values, dated the day each value's end_time closes.
  expect(await value('facebook', 'page_media_view', day, page)).toEqual([
    meta.insightValue(meta.credentials.pageId, 'page_media_view', day),
  ]);
  expect(await value('instagram', 'reach', day, ig)).toEqual([
    meta.insightValue(meta.instagramAccountId, 'reach', day),
  ]);
  const org = { organization_id: linkedin.credentials.organizationId };
  expect(await value('linkedin', 'organic_follower_gain', day, org)).toEqual([
    linkedin.statValue('organicFollowerGain', day),
  ]);
  expect(await value('linkedin', 'impressionCount', day, org)).toEqual([linkedin.statValue('impressionCount', day)]);
  // Counts as of now, dated today.
  expect(await value('facebook', 'followers_count', today, page)).toEqual([1200]);
  expect(await value('instagram', 'followers_count', today, ig)).toEqual([3400]);
  expect(await value('linkedin', 'follower_count', today, org)).toEqual([linkedin.followers]);
  expect(await value('x', 'followers_count', today, { user_id: x.credentials.userId })).toEqual([8800]);
  // Lifetime insights of each recent post and media object.
  const post = meta.posts.get(meta.credentials.pageId)![0].id;
  expect(await value('facebook', 'post_clicks', today, { ...page, post_id: post })).toEqual([
    meta.insightValue(post, 'post_clicks'),
  ]);
  const media = meta.posts.get(meta.instagramAccountId)![1].id;
  expect(await value('instagram', 'saved', today, { ...ig, media_id: media })).toEqual([
    meta.insightValue(media, 'saved'),
  ]);
  const tweet = x.ownPosts[2];
  expect(await value('x', 'like_count', today, { user_id: x.credentials.userId, post_id: tweet.id })).toEqual([
    tweet.public_metrics.like_count,
  ]);
  expect((await db.query('SELECT count(*)::int AS n FROM pipeline_quarantine')).rows[0].n).toBe(0);
  expect(x.violations?.() ?? []).toEqual([]);
  expect(linkedin.violations?.() ?? []).toEqual([]);
}, 120_000);

test('a second sync replaces today’s counts and leaves the days behind the look-back as they were', async () => {
  const today = utcDay(Date.now());
  const old = await db.query(
    `SELECT source, metric, date, dimensions_key, value, pull_id FROM metrics_daily WHERE date < $1::date - 3 ORDER BY 1, 2, 3, 4`,
    [today],
  );
  expect(old.rows.length).toBeGreaterThan(0);
  fakes.meta.followers.set(fakes.meta.credentials.pageId, 1250);
  fakes.x.userMetrics.followers_count = 8801;
  fakes.linkedin.followers += 3;
  await syncAll(false);
  const page = { page_id: fakes.meta.credentials.pageId };
  expect(await value('facebook', 'followers_count', today, page)).toEqual([1250]);
  expect(await value('x', 'followers_count', today, { user_id: fakes.x.credentials.userId })).toEqual([8801]);
  expect(
    await value('linkedin', 'follower_count', today, { organization_id: fakes.linkedin.credentials.organizationId }),
  ).toEqual([fakes.linkedin.followers]);
  const after = await db.query(
    `SELECT source, metric, date, dimensions_key, value, pull_id FROM metrics_daily WHERE date < $1::date - 3 ORDER BY 1, 2, 3, 4`,
    [today],
  );
  expect(after.rows).toEqual(old.rows);
}, 120_000);
