export * from './db';
export * from './migrate';
export { openPostgres } from './postgres';
export { openPglite, DataDirLockedError } from './pglite';

import type { Db } from './db';
import { openPostgres } from './postgres';
import { openPglite } from './pglite';

/** PostgreSQL when `databaseUrl` is set, otherwise PGlite in `dataDir` (in memory when absent). */
export async function openDb(options: { databaseUrl?: string; dataDir?: string }): Promise<Db> {
  return options.databaseUrl ? openPostgres(options.databaseUrl) : openPglite(options.dataDir);
}
