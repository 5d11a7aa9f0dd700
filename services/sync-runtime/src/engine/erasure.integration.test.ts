import { z } from 'zod';
import type { Connector, ConnectorModule } from '@data-sync/integrations/connector';
import { eraseSubject } from '@data-sync/pipelines';
import { Db, migrate, openPostgres } from '@data-sync/pipelines/db';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { createLogger } from '../logger';
import { MIGRATIONS } from '../store/migrations';
import { createErasureJobHandler, runRetentionIfDue } from './erasure';

const scratch = scratchDatabase('erasure_it');
const dbUrl = scratch.url;

describeWithService('erasure and retention on PostgreSQL, several instances', TEST_DATABASE_URL, () => {
  /** One pool per simulated instance. */
  let instances: Db[] = [];
  beforeAll(async () => {
    await scratch.create();
    instances = [openPostgres(dbUrl, { max: 2 }), openPostgres(dbUrl, { max: 2 }), openPostgres(dbUrl, { max: 2 })];
    await migrate(instances[0], MIGRATIONS);
  });
  afterAll(async () => {
    for (const db of instances) await db.close();
    await scratch.drop();
  });

  test('instances ticking together apply the retention once', async () => {
    await instances[0].query(
      `INSERT INTO contacts (email, created_at, updated_at) VALUES ('old@x.io', now() - interval '10 years', now() - interval '10 years')`,
    );
    const results = await Promise.all(instances.flatMap((db) => [runRetentionIfDue(db), runRetentionIfDue(db)]));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect((await instances[0].query(`SELECT 1 FROM audit_log WHERE action = 'gdpr.retention'`)).rows).toHaveLength(1);
    expect((await instances[0].query(`SELECT 1 FROM contacts WHERE email = 'old@x.io'`)).rows).toHaveLength(0);
  });

  test('erasure jobs running at once on several instances send each request to its vendor exactly once', async () => {
    const calls: string[] = [];
    const module: ConnectorModule<Record<string, never>> = {
      system: 'fake',
      family: 'crm',
      configSchema: z.object({}).strict(),
      create: () => ({ erase: async (email: string) => void calls.push(email) }) as unknown as Connector,
      verifyWebhook: () => ({ events: [] }),
    };
    const integrations = {
      get: async (name: string) => ({ name, system: 'fake', config: {}, objects: [] }),
      list: async () => [],
    };
    const emails = Array.from({ length: 30 }, (_, i) => `s${i}@x.io`);
    for (const email of emails) await eraseSubject(instances[0], email, { actor: 'test', vendors: ['crm_a'] });
    const logger = createLogger({ level: 'silent' });
    await Promise.all(
      instances.map((db, i) =>
        createErasureJobHandler({ db, integrations, connectors: () => module, logger, batch: 4 })({
          id: `job-${i}`,
          kind: 'erasure',
          integration: 'crm_a',
          payload: {},
          attempts: 1,
          enqueuedAt: new Date(),
        }),
      ),
    );
    expect(calls.sort()).toEqual([...emails].sort());
    const { rows } = await instances[0].query<{ status: string; n: string }>(
      'SELECT status, count(*) AS n FROM erasure_requests GROUP BY status',
    );
    expect(rows).toEqual([{ status: 'done', n: '30' }]);
  });
});
