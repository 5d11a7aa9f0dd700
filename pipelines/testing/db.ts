/**
 * Databases for the pipeline's tests and benchmark: PGlite in memory, or a private schema on
 * PostgreSQL (dropped on close) so parallel test files never share tables.
 */
import { Db, migrate, openPglite, openPostgres } from '../db';
import { ACCOUNT_MIGRATIONS } from '../account-migrations';
import { ANALYTICS_MIGRATIONS } from '../analytics-migrations';
import { PIPELINE_MIGRATIONS } from '../migrations';

/** The runtime's audit table, as its migration creates it (services/sync-runtime owns that migration). */
export const AUDIT_LOG_DDL = `CREATE TABLE IF NOT EXISTS audit_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), actor text NOT NULL, action text NOT NULL, target text NOT NULL, outcome text NOT NULL, details jsonb NOT NULL DEFAULT '{}')`;

export interface TestDb {
  db: Db;
  /** Schema holding the pipeline's tables (`public` on PGlite). */
  schema: string;
  close(): Promise<void>;
}

async function prepare(db: Db): Promise<void> {
  await migrate(db, [...PIPELINE_MIGRATIONS, ...ANALYTICS_MIGRATIONS, ...ACCOUNT_MIGRATIONS]);
  await db.exec(AUDIT_LOG_DDL);
}

export async function pipelinePglite(): Promise<TestDb> {
  const db = await openPglite();
  await prepare(db);
  return { db, schema: 'public', close: () => db.close() };
}

export async function pipelinePostgres(url: string, prefix: string): Promise<TestDb> {
  const schema = `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e9)}`
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
  const admin = openPostgres(url, { max: 1 });
  await admin.exec(`CREATE SCHEMA ${schema}`);
  await admin.close();
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  const db = openPostgres(scoped.toString());
  await prepare(db);
  return {
    db,
    schema,
    async close() {
      await db.exec(`DROP SCHEMA ${schema} CASCADE`);
      await db.close();
    },
  };
}
