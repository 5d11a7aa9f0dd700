import { z } from 'zod';
import type { Connector, ConnectorModule } from '@data-sync/integrations/connector';
import { eraseSubject, MAX_ERASURE_ATTEMPTS } from '@data-sync/pipelines/compliance';
import { subjectHash } from '@data-sync/pipelines';
import { Db, migrate, openPglite } from '@data-sync/pipelines/db';
import { createLogger } from '../logger';
import type { Job } from '../queue/binding';
import { MIGRATIONS } from '../store/migrations';
import { createErasureJobHandler, runRetentionIfDue } from './erasure';
import type { IntegrationInfo, IntegrationSource } from './types';

let db: Db;
beforeAll(async () => {
  db = await openPglite();
  await migrate(db, MIGRATIONS);
});
afterAll(async () => db?.close());
beforeEach(async () => {
  await db.exec('TRUNCATE erasure_requests, contacts, audit_log');
});

/** A connector module whose `erase` records each call and fails for the addresses in `failFor`. */
function fakeModule(
  calls: { token: string; email: string }[],
  failFor: Set<string>,
): ConnectorModule<{ token: string }> {
  return {
    system: 'fake',
    family: 'crm',
    configSchema: z.object({ token: z.string().min(1) }),
    create: (config) =>
      ({
        erase: async (email: string) => {
          calls.push({ token: config.token, email });
          if (failFor.has(email)) throw new Error(`vendor said 503 for ${email}`);
        },
      }) as unknown as Connector,
    verifyWebhook: () => ({ events: [] }),
  };
}

const source = (integrations: IntegrationInfo[]): IntegrationSource => ({
  get: async (name) => integrations.find((i) => i.name === name) ?? null,
  list: async () => integrations,
});

const job = (attempts = 1): Job => ({
  id: `job-${attempts}`,
  kind: 'erasure',
  integration: 'crm_a',
  payload: {},
  attempts,
  enqueuedAt: new Date(),
});
const logger = createLogger({ level: 'silent' });
const requests = async () =>
  (
    await db.query<{ integration: string; status: string; email: string | null; attempts: number }>(
      'SELECT integration, status, email, attempts FROM erasure_requests ORDER BY integration, id',
    )
  ).rows;

test("each pending erasure goes to its integration's connector, built from its validated config, and is marked done", async () => {
  const calls: { token: string; email: string }[] = [];
  const handler = createErasureJobHandler({
    db,
    integrations: source([
      { name: 'crm_a', system: 'fake', config: { token: 'a' }, objects: [] },
      { name: 'crm_b', system: 'fake', config: { token: 'b' }, objects: [] },
    ]),
    connectors: (system) => (system === 'fake' ? fakeModule(calls, new Set()) : undefined),
    logger,
    batch: 1,
  });
  await eraseSubject(db, 'one@x.io', { actor: 'test', vendors: ['crm_a', 'crm_b'] });
  await eraseSubject(db, 'two@x.io', { actor: 'test', vendors: ['crm_a'] });
  await handler(job());
  // batch 1: the job keeps claiming until nothing is left.
  expect(calls.sort((a, b) => (a.token + a.email).localeCompare(b.token + b.email))).toEqual([
    { token: 'a', email: 'one@x.io' },
    { token: 'a', email: 'two@x.io' },
    { token: 'b', email: 'one@x.io' },
  ]);
  expect((await requests()).map((r) => [r.integration, r.status, r.email])).toEqual([
    ['crm_a', 'done', null],
    ['crm_a', 'done', null],
    ['crm_b', 'done', null],
  ]);
  const audit = await db.query<{ target: string; outcome: string }>(
    `SELECT target, outcome FROM audit_log WHERE action = 'gdpr.vendor_erase' ORDER BY id`,
  );
  expect(audit.rows).toHaveLength(3);
  expect(audit.rows.every((r) => r.outcome === 'done')).toBe(true);
  expect(audit.rows.map((r) => r.target)).toContain(`subject:${subjectHash('two@x.io')}`);
  // Nothing pending: another job is a no-op.
  await handler(job());
  expect(calls).toHaveLength(3);
});

test('a vendor failure puts the request back to pending and fails the job so the queue retries it; the retry that succeeds completes it', async () => {
  const calls: { token: string; email: string }[] = [];
  const failFor = new Set(['flaky@x.io']);
  const handler = createErasureJobHandler({
    db,
    integrations: source([{ name: 'crm_a', system: 'fake', config: { token: 'a' }, objects: [] }]),
    connectors: () => fakeModule(calls, failFor),
    logger,
  });
  await eraseSubject(db, 'flaky@x.io', { actor: 'test', vendors: ['crm_a'] });
  await eraseSubject(db, 'fine@x.io', { actor: 'test', vendors: ['crm_a'] });
  await expect(handler(job(1))).rejects.toThrow('vendor said 503 for flaky@x.io');
  expect((await requests()).map((r) => [r.email, r.status, r.attempts])).toEqual([
    ['flaky@x.io', 'pending', 1],
    [null, 'done', 1],
  ]);
  failFor.clear();
  await handler(job(2));
  expect((await requests()).map((r) => [r.status, r.attempts])).toEqual([
    ['done', 2],
    ['done', 1],
  ]);
});

test('an integration that is gone, has no connector or an invalid config fails with the reason, and is marked failed after the last attempt', async () => {
  const calls: { token: string; email: string }[] = [];
  const handler = createErasureJobHandler({
    db,
    integrations: source([
      { name: 'nocon', system: 'other', config: {}, objects: [] },
      { name: 'badcfg', system: 'fake', config: { token: '' }, objects: [] },
    ]),
    connectors: (system) => (system === 'fake' ? fakeModule(calls, new Set()) : undefined),
    logger,
  });
  await eraseSubject(db, 'x@x.io', { actor: 'test', vendors: ['gone', 'nocon', 'badcfg'] });
  const error = await handler(job()).then(
    () => null,
    (e: Error) => e.message,
  );
  expect(error).toContain('integration "gone" does not exist or is disabled');
  expect(error).toContain('no connector for system "other"');
  expect(error).toContain('invalid config for badcfg: token:');
  expect(calls).toEqual([]);
  for (let attempt = 2; attempt <= MAX_ERASURE_ATTEMPTS; attempt++) await handler(job(attempt)).catch(() => undefined);
  expect((await requests()).map((r) => [r.integration, r.status, r.email])).toEqual([
    ['badcfg', 'failed', null],
    ['gone', 'failed', null],
    ['nocon', 'failed', null],
  ]);
});

test('retention runs once per hour: the first call applies it and audits, a second within the hour does nothing', async () => {
  await db.query(
    `INSERT INTO contacts (email, created_at, updated_at) VALUES ('old@x.io', now() - interval '10 years', now() - interval '10 years'), ('new@x.io', now(), now())`,
  );
  const first = await runRetentionIfDue(db);
  expect(first).not.toBeNull();
  expect(first!.deleted + first!.anonymized).toBeGreaterThanOrEqual(1);
  const emails = (await db.query<{ email: string }>('SELECT email FROM contacts ORDER BY email')).rows.map(
    (r) => r.email,
  );
  expect(emails).toContain('new@x.io');
  expect(emails).not.toContain('old@x.io');
  expect(await runRetentionIfDue(db)).toBeNull();
  expect((await db.query(`SELECT 1 FROM audit_log WHERE action = 'gdpr.retention'`)).rows).toHaveLength(1);
  // An hour later it is due again.
  expect(await runRetentionIfDue(db, new Date(Date.now() + 3_600_000 + 60_000))).not.toBeNull();
});
