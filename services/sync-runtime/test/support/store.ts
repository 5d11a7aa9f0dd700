import { Db, migrate, openPglite, openPostgres } from '@data-sync/pipelines/db';
import { TEST_DATABASE_URL } from '@data-sync/test-services';
import { ENGINE_MIGRATIONS } from '../../src/store/engine-schema';

/**
 * A migrated engine store for one test file. On PostgreSQL each call gets its own schema (through
 * the connection's search_path), so parallel jest workers sharing the test database never collide.
 */
export interface TestStore {
  readonly db: Db;
  /** Connection string that reaches the same schema (for child processes). */
  readonly url?: string;
  drop(): Promise<void>;
}

export async function openTestPostgres(label: string): Promise<TestStore> {
  const schema = `t_${label.replace(/\W/g, '_')}_${process.pid}_${Math.floor(Math.random() * 1e9)}`.toLowerCase();
  const admin = openPostgres(TEST_DATABASE_URL, { max: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const db = openPostgres(url.toString());
  await migrate(db, ENGINE_MIGRATIONS);
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.close();
      await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

export async function openTestPglite(): Promise<TestStore> {
  const db = await openPglite();
  await migrate(db, ENGINE_MIGRATIONS);
  return { db, drop: () => db.close() };
}
