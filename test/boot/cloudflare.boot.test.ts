/**
 * Cloudflare as deployed: every Worker script of the stack (the API per blue-green slot, the queue
 * consumer, the Durable Object script) in miniflare from the module file the stack uploads, with the
 * stack's bindings; the secrets set out of band (wrangler secret put) get test values. A sync
 * triggered on the active slot's API goes onto the jobs queue and the consumer script runs it, and the
 * run's outcome event goes from the outbox to the event queues of the services that take it.
 */
import pino from 'pino';
import { Miniflare } from 'miniflare';
import { loadConfig } from '@data-sync/sync-runtime/src/config';
import { createRuntime } from '@data-sync/sync-runtime/src/runtime/runtime';
import { startFakeMailchimp } from '@data-sync/vendor-fakes/mailchimp';
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { newEncryptionKey } from './support/boot';
import { cloudflareWorkers, eventQueueReader } from './support/cloudflare';
import { ENVIRONMENTS, stackOf } from './support/stack-boot';

const API_TOKEN = 'boot-test-api-token';

/** A script's fetch handler (miniflare's Fetcher; its published type lacks the call form used here). */
type Fetcher = { fetch(url: string, init?: { method?: string; headers?: Record<string, string> }): Promise<Response> };
const scriptOf = async (mf: Miniflare, name: string) => (await mf.getWorker(name)) as unknown as Fetcher;

describeWithService('Cloudflare Worker scripts boot with what the stack gives them', TEST_DATABASE_URL, () => {
  test.each(ENVIRONMENTS)(
    '%s: each API script answers /health, a sync it queues is run by the consumer script, and its event is published',
    async (environment) => {
      const stack = stackOf('cloudflare', environment);
      const scratch = scratchDatabase(`boot_cloudflare_${environment}`);
      await scratch.create();
      const mailchimp = await startFakeMailchimp({ seed: { newsletter: 3 } });
      const encryptionKey = newEncryptionKey();
      // The schema and an integration, as an operator's first deploy leaves them.
      const runtime = await createRuntime(
        loadConfig({ DATABASE_URL: scratch.url, DATA_SYNC_ENCRYPTION_KEY: encryptionKey }),
        { logger: pino({ level: 'silent' }) },
      );
      let mf: Miniflare | undefined;
      try {
        await runtime.integrations.create({
          name: 'mailchimp',
          system: 'mailchimp',
          enabled: true,
          syncInterval: '15m',
          objects: ['newsletter'],
          webhookAllowlist: [],
          config: { apiKey: mailchimp.apiKey, baseUrl: mailchimp.url },
        });
        // Hyperdrive bindings need a password in the URL; the local server trusts loopback.
        const database = new URL(scratch.url);
        database.username ||= 'postgres';
        database.password = 'unused';
        const workers = cloudflareWorkers(stack, {
          databaseUrl: database.toString(),
          secrets: { DATA_SYNC_ENCRYPTION_KEY: encryptionKey, API_TOKEN },
          plainText: (_name, text) => text.replace(/\$\{var\.cloudflare_zone_name\}/g, 'boot-test.example'),
        });
        expect(workers.map((w) => w.name).sort()).toEqual(
          [
            `data-sync-${environment}-consumer`,
            `data-sync-${environment}-runtime-blue`,
            `data-sync-${environment}-runtime-green`,
            `data-sync-${environment}-state`,
          ].sort(),
        );
        const events = eventQueueReader(stack);
        mf = new Miniflare({ workers: [...workers, events.worker] });
        await mf.ready;
        for (const slot of ['blue', 'green']) {
          const api = await scriptOf(mf, `data-sync-${environment}-runtime-${slot}`);
          const health = await api.fetch('https://boot-test.example/health');
          expect({ slot, status: health.status, body: await health.json() }).toMatchObject({
            slot,
            status: 200,
            body: { status: 'ok', slot },
          });
        }
        const api = await scriptOf(mf, `data-sync-${environment}-runtime-blue`);
        const triggered = await api.fetch('https://boot-test.example/api/sync/trigger/mailchimp', {
          method: 'POST',
          headers: { authorization: `Bearer ${API_TOKEN}` },
        });
        expect(triggered.status).toBe(202);
        const { runId } = (await triggered.json()) as { runId: string };
        for (;;) {
          const { rows } = await runtime.db.query<{ status: string }>('SELECT status FROM sync_runs WHERE id = $1', [
            runId,
          ]);
          if (rows[0]?.status === 'succeeded') break;
          expect(rows[0]?.status).not.toBe('failed');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        // The consumer script drains the outbox after its batch: the run's event reaches the services that take it.
        const outcome = (m: { body: { type: string; data: Record<string, unknown> } }) =>
          m.body.type === 'com.datasync.sync.run.succeeded' && m.body.data.runId === runId;
        const notified = await events.next((m) => outcome(m) && /-events-notifications$/.test(m.queue));
        await events.next((m) => outcome(m) && /-events-kpi-engine$/.test(m.queue));
        for (;;) {
          const { rows } = await runtime.db.query<{ published: boolean }>(
            'SELECT published_at IS NOT NULL AS published FROM event_outbox WHERE id = $1',
            [notified.body.id],
          );
          if (rows[0]?.published) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        expect(events.messages.filter((m) => outcome(m) && /-events-ai-advisor$/.test(m.queue))).toEqual([]);
      } finally {
        await mf?.dispose();
        await runtime.close();
        await mailchimp.close();
        await scratch.drop();
      }
    },
    180_000,
  );
});
