/**
 * The outbox across a SIGKILL: the real entry point (main.ts) on PostgreSQL publishes to webhook
 * subscribers; the first delivery kills the process before it can mark anything published. The events
 * committed with their changes are delivered once the process is back, none lost, and a redelivered
 * event carries the id (and content) it had the first time.
 */
import { ChildProcess, spawn } from 'child_process';
import { createHmac } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { migrate, openPostgres, type Db } from '@data-sync/pipelines/db';
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { generateKey } from '../security/crypto';
import { MIGRATIONS } from '../store/migrations';

const MAIN = path.join(__dirname, '..', 'main.ts');
const ROOT = path.resolve(__dirname, '../../../..');
const SECRET = 'crash-test-signing-secret-0123456789';

interface Delivery {
  consumer: string;
  events: { id: string; type: string; data: unknown }[];
}

describeWithService('the outbox across a SIGKILL', TEST_DATABASE_URL, () => {
  const scratch = scratchDatabase('outbox_crash');
  let db: Db;
  let server: http.Server;
  let port: number;
  const deliveries: Delivery[] = [];
  let onDelivery: (d: Delivery) => void = () => undefined;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    await scratch.create();
    db = openPostgres(scratch.url);
    await migrate(db, MIGRATIONS);
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const [t, v1] = String(req.headers['x-data-sync-signature']).split(',');
        const expected = createHmac('sha256', SECRET)
          .update(`${t.slice(2)}.${body}`)
          .digest('hex');
        if (v1 !== `v1=${expected}`) {
          res.writeHead(401).end();
          return;
        }
        const delivery = { consumer: req.url!.slice(1), events: JSON.parse(body) as Delivery['events'] };
        deliveries.push(delivery);
        onDelivery(delivery);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await new Promise((resolve) => server?.close(resolve));
    await db?.close();
    await scratch.drop();
  });

  const startMain = () => {
    const hooks = Object.fromEntries(
      ['notifications', 'kpi_engine', 'ai_advisor'].map((c) => [c, `http://127.0.0.1:${port}/${c}`]),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        DATABASE_URL: scratch.url,
        DATA_SYNC_ENCRYPTION_KEY: generateKey(),
        PORT: '0',
        LOG_LEVEL: 'warn',
        DATA_SYNC_EVENTS: 'webhook',
        DATA_SYNC_EVENTS_WEBHOOKS: JSON.stringify(hooks),
        DATA_SYNC_EVENTS_WEBHOOK_SECRET: SECRET,
        // The killed process's lease must run out within the test.
        DATA_SYNC_EVENTS_LEASE_MS: '500',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    return { child, exited };
  };

  test('events committed before the crash are all delivered after the restart, redeliveries with the same id', async () => {
    // Changes committed with their events, before any publisher runs: 20 contacts in 4 transactions and a failed run.
    for (let t = 0; t < 4; t++)
      await db.query(
        "INSERT INTO contacts (email, first_name) SELECT 'u' || $1 || '-' || i || '@example.com', 'U' FROM generate_series(1, 5) AS i",
        [t],
      );
    await db.query(
      "INSERT INTO sync_runs (id, integration, status, actor, error) VALUES ('run-1', 'salesforce', 'failed', 'test', 'boom')",
    );
    const committed = (await db.query<{ id: string }>('SELECT id::text AS id FROM event_outbox ORDER BY seq')).rows.map(
      (r) => r.id,
    );
    expect(committed).toHaveLength(5);

    // The first delivery kills the publisher: it was sent, but never marked published.
    const first = startMain();
    const killed = new Promise<void>((resolve) => {
      onDelivery = () => {
        first.child.kill('SIGKILL');
        resolve();
      };
    });
    await killed;
    expect(await first.exited).toBe('SIGKILL');
    const unpublished = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM event_outbox WHERE published_at IS NULL',
    );
    expect(unpublished.rows[0].n).toBe(5);
    const beforeRestart = deliveries.length;

    // Back: everything is delivered; each consumer gets every event of its types.
    const everyIdDelivered = new Promise<void>((resolve) => {
      const check = () => {
        const seen = new Set(deliveries.flatMap((d) => d.events.map((e) => e.id)));
        if (committed.every((id) => seen.has(id))) resolve();
      };
      onDelivery = check;
      check();
    });
    const second = startMain();
    await everyIdDelivered;
    const published = async () =>
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM event_outbox WHERE published_at IS NOT NULL'))
        .rows[0].n;
    for (let n = await published(); n < 5; n = await published()) await new Promise((r) => setImmediate(r));
    second.child.kill('SIGTERM');
    await second.exited;

    expect(beforeRestart).toBeGreaterThan(0);
    const byId = new Map<string, string>();
    for (const d of deliveries)
      for (const e of d.events) {
        const content = JSON.stringify(e);
        // A duplicate is the same event: same id, same envelope.
        if (byId.has(e.id)) expect(byId.get(e.id)).toBe(content);
        byId.set(e.id, content);
      }
    expect([...byId.keys()].sort()).toEqual([...committed].sort());
    const types = (consumer: string) =>
      [
        ...new Set(deliveries.filter((d) => d.consumer === consumer).flatMap((d) => d.events.map((e) => e.type))),
      ].sort();
    expect(types('notifications')).toEqual(['com.datasync.sync.run.failed']);
    expect(types('ai_advisor')).toEqual(['com.datasync.sync.records.changed']);
    // Redelivered after the crash: the first process's batch came again, with the same ids.
    const firstIds = deliveries.slice(0, beforeRestart).flatMap((d) => d.events.map((e) => e.id));
    const laterIds = new Set(deliveries.slice(beforeRestart).flatMap((d) => d.events.map((e) => e.id)));
    expect(firstIds.every((id) => laterIds.has(id))).toBe(true);
  }, 120_000);
});
