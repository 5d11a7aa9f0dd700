/**
 * Least privilege in the database: migrations run as the owner role (DATABASE_MIGRATION_URL), which owns
 * every table, and the runtime serves as its own role (DATABASE_URL) with DML only on those tables. It cannot
 * create, alter, drop or truncate anything, so a SQL injection or a stolen runtime credential cannot change
 * the schema or wipe a table at once. The grants are re-applied after each migration run, and default
 * privileges cover tables a later migration creates.
 */
import { ident, type Db } from '@data-sync/pipelines/db';

/** The role a connection logs in as. */
export async function currentRole(db: Db): Promise<string> {
  const { rows } = await db.query<{ role: string }>('SELECT current_user AS role');
  return rows[0].role;
}

/** Grants `role` DML on every table (and the use of every sequence) of the owner's schema, now and later. */
export async function grantRuntimeRole(owner: Db, role: string): Promise<void> {
  const grantee = ident(role);
  await owner.exec(`GRANT USAGE ON SCHEMA public TO ${grantee}`);
  await owner.exec(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${grantee}`);
  await owner.exec(`GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO ${grantee}`);
  await owner.exec(
    `ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${grantee}`,
  );
  await owner.exec(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO ${grantee}`);
}
