import { randomBytes } from 'crypto';
import { Miniflare } from 'miniflare';
import { migrate, openPostgres, type Db } from '@data-sync/pipelines/db';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { startFakeMailchimp, type MailchimpFake } from '@data-sync/vendor-fakes/mailchimp';
import { createIntegrationStore } from '../api/integration-store';
import { Keyring } from '../security/crypto';
import { MIGRATIONS } from '../store/migrations';
import { buildCloudflareWorker } from './build';

async function eventually<T>(read: () => Promise<T>, check: (value: T) => void, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    try {
      check(value);
      return value;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const WEBHOOK_SECRET = 'worker-e2e-webhook-secret-0123456789';
const API_TOKEN = 'worker-e2e-operator-token';

// Hyperdrive in miniflare passes the database but not connection options, so the test gets its own database.
describeWithService(
  'Cloudflare Worker over the runtime core (miniflare, Hyperdrive to PostgreSQL)',
  TEST_DATABASE_URL,
  () => {
    const database = `cf_worker_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = () => openPostgres(TEST_DATABASE_URL, { max: 1 });
    let db: Db;
    let mf: Miniflare;
    let fake: MailchimpFake;

    beforeAll(async () => {
      const a = admin();
      await a.exec(`CREATE DATABASE ${database}`);
      await a.close();
      const url = new URL(TEST_DATABASE_URL);
      url.pathname = `/${database}`;
      db = openPostgres(url.toString(), { max: 2 });
      await migrate(db, MIGRATIONS);
      const key = randomBytes(32).toString('base64');
      fake = await startFakeMailchimp({ seed: { newsletter: 7 } });
      const store = createIntegrationStore(db, Keyring.fromBase64([key]));
      const integration = {
        system: 'mailchimp',
        enabled: true,
        syncInterval: '1h',
        objects: ['newsletter'],
        webhookAllowlist: [],
      };
      // The API key by reference: the Worker resolves it from its secret binding.
      const config = {
        apiKey: { $env: 'MAILCHIMP_API_KEY' },
        baseUrl: fake.url,
        webhookSecret: WEBHOOK_SECRET,
        lists: { newsletter: fake.listId('newsletter') },
      };
      await store.create({ ...integration, name: 'mailchimp', config });
      await store.create({
        ...integration,
        name: 'mailchimp_unset',
        config: { ...config, apiKey: { $env: 'KLAVIYO_API_KEY' } },
      });
      // Hyperdrive bindings need a password in the URL; the test server trusts local connections.
      url.username = url.username || 'postgres';
      url.password = 'unused';
      const { code } = await buildCloudflareWorker({ write: false, minify: false });
      mf = new Miniflare({
        modules: true,
        script: code,
        compatibilityDate: '2024-09-23',
        compatibilityFlags: ['nodejs_compat'],
        bindings: {
          API_TOKEN,
          DATA_SYNC_ENCRYPTION_KEY: key,
          MAILCHIMP_API_KEY: fake.apiKey,
          RETRY_BASE_SECONDS: '0',
          LOG_LEVEL: 'warn',
        },
        hyperdrives: { HYPERDRIVE: url.toString() },
        queueProducers: { JOBS: 'jobs' },
        queueConsumers: { jobs: { maxBatchTimeout: 0.05, maxRetries: 3 } },
        durableObjects: { RATE_LIMITER: 'RateLimiter' },
      });
      await mf.ready;
    }, 90000);

    afterAll(async () => {
      await mf?.dispose();
      await fake?.close();
      await db?.close();
      const a = admin();
      await a.exec(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await a.close();
    });

    const runs = () =>
      db.query<{ id: string; status: string; actor: string; accepted: number; error: string | null }>(
        'SELECT id, status, actor, accepted, error FROM sync_runs ORDER BY queued_at',
      );

    test('a webhook through the Worker records its event and syncs the integration into the store', async () => {
      const form = new URLSearchParams({
        type: 'subscribe',
        fired_at: new Date().toISOString().replace('T', ' ').slice(0, 19),
        'data[email]': 'new.member@example.com',
        'data[list_id]': fake.listId('newsletter'),
      });
      const response = await mf.dispatchFetch(`https://data-sync.example/webhooks/mailchimp?secret=${WEBHOOK_SECRET}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
      });
      expect(response.status).toBe(202);
      expect(await response.json()).toMatchObject({ accepted: 1 });
      const events = await eventually(
        () => db.query<{ type: string }>('SELECT type FROM webhook_events WHERE integration = $1', ['mailchimp']),
        (r) => expect(r.rows).toHaveLength(1),
      );
      expect(events.rows[0].type).toBe('subscribe');
      const done = await eventually(runs, (r) =>
        expect(r.rows.find((run) => run.actor === 'webhook:mailchimp')?.status).toBe('succeeded'),
      );
      expect(done.rows.find((run) => run.actor === 'webhook:mailchimp')).toMatchObject({ accepted: 7, error: null });
      const records = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM synced_records WHERE integration = 'mailchimp' AND object = 'newsletter'",
      );
      expect(Number(records.rows[0].n)).toBe(7);
    });

    test('a webhook for an integration whose credential secret is not set answers 503, for the vendor to retry', async () => {
      const response = await mf.dispatchFetch(
        `https://data-sync.example/webhooks/mailchimp_unset?secret=${WEBHOOK_SECRET}`,
        { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'type=subscribe' },
      );
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({
        error: 'integration_misconfigured',
        details: { variable: 'KLAVIYO_API_KEY' },
      });
    });

    test('a forged webhook through the Worker is 401 with an audit entry in the store, and a sender outside the allowlist 403', async () => {
      const form = {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'cf-connecting-ip': '203.0.113.7' },
        body: 'type=subscribe',
      };
      const forged = await mf.dispatchFetch(
        'https://data-sync.example/webhooks/mailchimp?secret=not-the-secret-at-all',
        form,
      );
      expect(forged.status).toBe(401);
      const audit = await db.query<{ actor: string; outcome: string }>(
        `SELECT actor, outcome FROM audit_log WHERE action = 'webhook.rejected' AND target = 'mailchimp'`,
      );
      expect(audit.rows).toEqual([{ actor: 'webhook:203.0.113.7', outcome: 'rejected' }]);
      await db.query(`UPDATE integrations SET webhook_allowlist = '["10.0.0.0/8"]' WHERE name = 'mailchimp_unset'`);
      const blocked = await mf.dispatchFetch(
        `https://data-sync.example/webhooks/mailchimp_unset?secret=${WEBHOOK_SECRET}`,
        form,
      );
      expect(blocked.status).toBe(403);
      expect(await blocked.json()).toMatchObject({
        error: 'forbidden',
        message: expect.stringContaining('203.0.113.7'),
      });
    });

    test('a sync triggered through the Worker runs to completion; a bad token is refused', async () => {
      expect(
        (
          await mf.dispatchFetch('https://data-sync.example/api/sync/trigger/mailchimp', {
            method: 'POST',
            headers: { authorization: 'Bearer nope' },
          })
        ).status,
      ).toBe(403);
      const response = await mf.dispatchFetch('https://data-sync.example/api/sync/trigger/mailchimp', {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}` },
      });
      expect(response.status).toBe(202);
      const { runId } = (await response.json()) as { runId: string };
      await eventually(runs, (r) => expect(r.rows.find((run) => run.id === runId)?.status).toBe('succeeded'));
    });
  },
);
