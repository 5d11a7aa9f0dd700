/**
 * Cloudflare as deployed: the Worker bundle in miniflare with the bindings the stack gives the worker
 * script (SCHEDULES, the JOBS queue with its consumer's retry settings, Hyperdrive to PostgreSQL); a
 * Cron Trigger of the stack fires the scheduled handler, and the queue consumer runs the pull and the
 * push it queues.
 */
import { Miniflare } from 'miniflare';
import { buildCloudflareWorker } from '@data-sync/sync-runtime/src/cloudflare/build';
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import {
  ENCRYPTION_KEY,
  expectNoEcho,
  expectPulledAndPushed,
  expectWebhookSync,
  report,
  runs,
  startWorld,
  type World,
} from './support/scenario';
import { resource, synthesizedStack } from './support/synthesized';

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describeWithService('Cloudflare: Cron Trigger -> Queue -> consumer Worker (miniflare)', TEST_DATABASE_URL, () => {
  let world: World;
  let mf: Miniflare;
  const stack = () => synthesizedStack('cloudflare');

  beforeAll(async () => {
    world = await startWorld('cloudflare');
    const script = resource(stack(), 'cloudflare_workers_script', 'worker_script');
    const consumer = resource(stack(), 'cloudflare_queue_consumer', 'worker_consumer');
    const bindings: Record<string, string | Record<string, string[]>> = {
      DATA_SYNC_ENCRYPTION_KEY: ENCRYPTION_KEY,
      RETRY_BASE_SECONDS: '0',
    };
    for (const b of script.bindings as { name: string; type: string; text?: string; json?: string }[]) {
      if (b.type === 'plain_text' && !b.text!.includes('${')) bindings[b.name] = b.text!;
      if (b.type === 'json') bindings[b.name] = JSON.parse(b.json!);
    }
    expect(bindings.SCHEDULES).toBeDefined();
    // Hyperdrive bindings need a password in the URL; the test server trusts local connections.
    const url = new URL(world.databaseUrl);
    url.username = url.username || 'postgres';
    url.password = 'unused';
    const { code } = await buildCloudflareWorker({ write: false, minify: false });
    mf = new Miniflare({
      modules: true,
      script: code,
      compatibilityDate: '2024-09-23',
      compatibilityFlags: ['nodejs_compat'],
      bindings,
      hyperdrives: { HYPERDRIVE: url.toString() },
      queueProducers: { JOBS: 'jobs' },
      queueConsumers: { jobs: { maxBatchTimeout: 0.05, maxRetries: consumer.settings.max_retries } },
      durableObjects: { RATE_LIMITER: 'RateLimiter' },
    });
    await mf.ready;
  }, 120_000);

  afterAll(async () => {
    await mf?.dispose();
    await world?.close();
  });

  /** Fires the stack's Cron Trigger that schedules `integration`, then waits for its pull and whatever push follows. */
  async function fire(integration: string) {
    const schedules = JSON.parse(
      resource(stack(), 'cloudflare_workers_script', 'worker_script').bindings.find(
        (b: { name: string }) => b.name === 'SCHEDULES',
      ).json,
    ) as Record<string, string[]>;
    const cron = Object.keys(schedules).find((c) => schedules[c].includes(integration))!;
    const crons = resource(stack(), 'cloudflare_workers_cron_trigger', 'schedules_crons').schedules.map(
      (s: { cron: string }) => s.cron,
    );
    expect(crons).toContain(cron);
    const before = (await runs(world)).length;
    // The Fetcher miniflare returns has scheduled() at run time; its published type lacks it.
    const worker = (await mf.getWorker()) as unknown as { scheduled(options: { cron: string }): Promise<unknown> };
    await worker.scheduled({ cron });
    await eventually(async () => {
      const all = (await runs(world)).slice(before);
      const pull = all.find((r) => r.integration === integration && r.direction === 'pull');
      const push = all.find((r) => r.direction === 'push');
      return pull?.status === 'succeeded' && (integration !== 'salesforce' || push?.status === 'succeeded');
    }, `the ${integration} run and its push`);
  }

  test("the stack's Cron Trigger runs a pull through the pipeline, the push reaches Mailchimp, and its echo changes nothing", async () => {
    await fire('salesforce');
    const figures = await expectPulledAndPushed(world, 'cloudflare');
    await expectNoEcho(world, () => fire('mailchimp'));
    report(figures);
  });

  test('a Salesforce outbound message through the Worker queues the pull that brings the edited contact in; a forged one is refused', async () => {
    const post = async (path: string, body: string, headers: Record<string, string>) => {
      const response = await mf.dispatchFetch(`https://data-sync.example${path}`, { method: 'POST', headers, body });
      return { status: response.status, body: await response.text() };
    };
    const edited = async () =>
      (
        await world.db.query(
          "SELECT 1 FROM contacts WHERE email = 'grace.hopper@example.com' AND first_name = 'Amazing'",
        )
      ).rows.length > 0;
    await expectWebhookSync(world, post, () => eventually(edited, 'the webhook-triggered pull'));
  });
});
