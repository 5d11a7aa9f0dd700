import * as path from 'path';
import { Miniflare } from 'miniflare';
import { buildCloudflareWorker } from './build';

/** The Worker's inbound limit per client address, with small limits so a few requests reach them. */
describe('Cloudflare Worker inbound rate limit (miniflare)', () => {
  let mf: Miniflare;
  beforeAll(async () => {
    const { code } = await buildCloudflareWorker({
      entry: path.join(__dirname, 'worker.fixture.ts'),
      write: false,
      minify: false,
    });
    mf = new Miniflare({
      modules: true,
      script: code,
      compatibilityDate: '2024-09-23',
      compatibilityFlags: ['nodejs_compat'],
      bindings: {
        API_TOKEN: 'operator-token-for-tests',
        TEST_SINK_URL: 'http://127.0.0.1:1',
        INTEGRATIONS: '[]',
        DATA_SYNC_WEBHOOK_RATE_LIMIT: '3',
        DATA_SYNC_RATE_LIMIT: '2',
      },
      queueProducers: { JOBS: 'jobs' },
      durableObjects: { RATE_LIMITER: 'RateLimiter' },
    });
    await mf.ready;
  }, 60000);
  afterAll(async () => mf?.dispose());

  const from = (address: string, pathname: string, headers: Record<string, string> = {}) =>
    mf.dispatchFetch(`https://data-sync.example${pathname}`, {
      method: 'POST',
      headers: { 'cf-connecting-ip': address, ...headers },
      body: '{}',
    });

  test('webhooks are limited per sender address: past the limit 429 with Retry-After, other senders unaffected', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await from('203.0.113.1', '/webhooks/unknown')).status);
    expect(statuses).toEqual([404, 404, 404, 429]);
    const limited = await from('203.0.113.1', '/webhooks/unknown');
    expect(await limited.json()).toMatchObject({ error: 'rate_limited', details: { limit: 3 } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await from('203.0.113.2', '/webhooks/unknown')).status).toBe(404);
  });

  test('the trigger route is limited per address before its token is checked; /health never', async () => {
    const guesses = [];
    for (const token of ['guess-1', 'guess-2', 'operator-token-for-tests'])
      guesses.push((await from('198.51.100.9', '/api/sync/trigger/x', { authorization: `Bearer ${token}` })).status);
    expect(guesses).toEqual([403, 403, 429]);
    for (let i = 0; i < 5; i++)
      expect(
        (
          await mf.dispatchFetch('https://data-sync.example/health', {
            headers: { 'cf-connecting-ip': '198.51.100.9' },
          })
        ).status,
      ).toBe(200);
  });
});
