import type { Db } from './db';

/** One schema change; `id` orders migrations and is recorded once applied. */
export interface Migration {
  readonly id: string;
  readonly sql: string;
}

/**
 * Applies the migrations not yet recorded in `schema_migrations`, in id order, each in its own
 * transaction. An advisory lock keeps two instances starting together from applying one twice.
 */
export async function migrate(db: Db, migrations: readonly Migration[]): Promise<string[]> {
  await db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
  );
  const ids = new Set<string>();
  for (const m of migrations) {
    if (ids.has(m.id)) throw new Error(`duplicate migration id ${m.id}`);
    ids.add(m.id);
  }
  const applied: string[] = [];
  for (const migration of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(7265431)');
      const { rows } = await tx.query('SELECT 1 FROM schema_migrations WHERE id = $1', [migration.id]);
      if (rows.length > 0) return false;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (id) VALUES ($1)', [migration.id]);
      return true;
    });
    if (done) applied.push(migration.id);
  }
  return applied;
}

/**
 * The migrations (ids, in id order) not recorded in `schema_migrations`: all of them when the table does not
 * exist yet. Reads only, so a role without DDL rights can tell whether the schema is current.
 */
export async function pendingMigrations(db: Db, migrations: readonly Migration[]): Promise<string[]> {
  const { rows: table } = await db.query<{ exists: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS exists",
  );
  const recorded = table[0].exists
    ? new Set((await db.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id))
    : new Set<string>();
  return migrations
    .map((m) => m.id)
    .filter((id) => !recorded.has(id))
    .sort((a, b) => a.localeCompare(b));
}

/** Splits SQL on semicolons outside quotes and dollar-quoted bodies. */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i];
    if (quote) {
      current += ch;
      if (quote === "'" && ch === "'") quote = null;
      else if (quote.startsWith('$') && sql.startsWith(quote, i)) {
        current += sql.slice(i + 1, i + quote.length);
        i += quote.length - 1;
        quote = null;
      }
      continue;
    }
    if (ch === "'") quote = "'";
    else if (ch === '$') {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i));
      if (tag) {
        quote = tag[0];
        current += tag[0];
        i += tag[0].length - 1;
        continue;
      }
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end;
      continue;
    }
    if (ch === ';') {
      if (current.trim()) out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out;
}
