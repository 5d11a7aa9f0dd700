/**
 * The runtime as two roles, as the stacks provision them: migrations as the owner, the API and worker as a
 * role with DML only. What the runtime does works; a statement that changes the schema or wipes a table is
 * refused to the serving role.
 */
import { randomBytes } from 'crypto';
import { Client } from 'pg';
import pino from 'pino';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { loadConfig } from '../config';
import { createRuntime, type SyncRuntime } from '../runtime/runtime';
import { demoConnector } from '../api/testing/demo-connector';
import { currentRole } from './database-roles';

describeWithService('least-privilege database roles', TEST_DATABASE_URL, () => {
  const suffix = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const owner = `ds_owner_${suffix}`;
  const serving = `ds_runtime_${suffix}`;
  const database = `ds_roles_${suffix}`;
  const admin = async (sql: string) => {
    const client = new Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const urlFor = (role: string) => {
    const url = new URL(TEST_DATABASE_URL);
    url.username = role;
    url.pathname = `/${database}`;
    return url.toString();
  };
  let runtime: SyncRuntime;
  let asRuntime: Client;

  beforeAll(async () => {
    // The provisioning step: two login roles, the owner owning the database (so its public schema).
    await admin(`CREATE ROLE ${owner} LOGIN`);
    await admin(`CREATE ROLE ${serving} LOGIN`);
    await admin(`CREATE DATABASE ${database} OWNER ${owner}`);
    const config = loadConfig({
      DATABASE_URL: urlFor(serving),
      DATABASE_MIGRATION_URL: urlFor(owner),
      DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64'),
    });
    runtime = await createRuntime(config, { logger: pino({ level: 'silent' }), connectors: { demo: demoConnector } });
    asRuntime = new Client({ connectionString: urlFor(serving) });
    await asRuntime.connect();
  });
  afterAll(async () => {
    await asRuntime?.end();
    await runtime?.close();
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin(`DROP ROLE IF EXISTS ${serving}`);
    await admin(`DROP ROLE IF EXISTS ${owner}`);
  });

  test('the serving role reads and writes what the runtime needs', async () => {
    const { token } = await runtime.tokens.create('roles-admin', 'admin');
    expect(await runtime.tokens.verify(token)).toMatchObject({ name: 'roles-admin', role: 'admin' });
    const created = await runtime.integrations.create({
      name: 'roles_demo',
      system: 'demo',
      enabled: true,
      syncInterval: '1h',
      objects: ['contacts'],
      webhookAllowlist: [],
      config: { baseUrl: 'http://127.0.0.1:1', apiKey: 'key-live-0123456789', webhookSecret: 'whsec-abcdefghijkl' },
    });
    expect(await runtime.integrations.getById(created.id)).toMatchObject({ name: 'roles_demo' });
    // A whole sync run: the engine's runs, cursors, records and audit, all as the serving role.
    const { runId } = await runtime.engine.trigger('roles_demo', { actor: 'test' });
    const [job] = await runtime.queue.claim(1, 30_000);
    await runtime.engine.handle(job);
    await runtime.queue.ack(job);
    const run = await asRuntime.query<{ status: string }>('SELECT status FROM sync_runs WHERE id = $1', [runId]);
    expect(run.rows).toEqual([{ status: 'succeeded' }]);
    const { rows } = await asRuntime.query<{ owner: string }>(
      `SELECT tableowner AS owner FROM pg_tables WHERE tablename = 'integrations'`,
    );
    expect(rows).toEqual([{ owner }]);
  });

  test('a process given only the serving role (DATA_SYNC_MIGRATIONS=check, the AWS Lambda) starts on the migrated schema', async () => {
    const config = loadConfig({
      DATABASE_URL: urlFor(serving),
      DATA_SYNC_MIGRATIONS: 'check',
      DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64'),
    });
    const checking = await createRuntime(config, { logger: pino({ level: 'silent' }) });
    try {
      expect(checking.applied).toEqual([]);
      expect(await currentRole(checking.db)).toBe(serving);
    } finally {
      await checking.close();
    }
  });

  test.each([
    ['DROP TABLE integrations', /must be owner/],
    ['TRUNCATE audit_log', /permission denied/],
    ['ALTER TABLE api_tokens ADD COLUMN x int', /must be owner/],
    ['CREATE TABLE exfiltrate (x text)', /permission denied for schema public/],
  ])('the serving role is refused %s', async (statement, message) => {
    await expect(asRuntime.query(statement)).rejects.toThrow(message);
  });
});
