import * as fs from 'fs';
import * as path from 'path';
import type { PGlite } from '@electric-sql/pglite';
import { Db, Queryable, ident } from './db';

/** Rows per INSERT when bulk-loading into PGlite (parameters stay under PostgreSQL's 65535 limit). */
const MAX_PARAMS = 30000;

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `PGlite data directory ${dataDir} is in use by process ${pid}; PGlite allows one process per directory (stop it, or set DATA_SYNC_DATA_DIR to another directory, or DATABASE_URL for PostgreSQL)`,
    );
    this.name = 'DataDirLockedError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the directory's lock file: PGlite has no locking of its own, and a second process on the same
 * directory silently loses its writes. A lock left by a dead process is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, 'data-sync.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(fs.readFileSync(lockFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) throw new DataDirLockedError(dataDir, pid);
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`could not lock PGlite data directory ${dataDir}`);
}

function wrap(pg: Pick<PGlite, 'query'>): Queryable {
  return {
    async query(sql, params) {
      const result = await pg.query(sql, params as any[] | undefined);
      return { rows: result.rows as any[], rowCount: result.affectedRows ?? result.rows.length };
    },
  };
}

/** PGlite (PostgreSQL in WASM) in memory, or in `dataDir` with a lock file that keeps other processes out. */
export async function openPglite(dataDir?: string): Promise<Db> {
  const unlock = dataDir ? lockDataDir(dataDir) : () => undefined;
  let pg: PGlite;
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    pg = await PGlite.create(dataDir ? { dataDir } : {});
  } catch (error) {
    unlock();
    throw error;
  }
  const base = wrap(pg);
  // PGlite is one connection: transactions are serialized so concurrent callers never interleave.
  let chain: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn, fn);
    chain = run.catch(() => undefined);
    return run;
  };
  return {
    kind: 'pglite',
    query: (sql, params) => serialized(() => base.query(sql, params)),
    exec: (sql) => serialized(async () => void (await pg.exec(sql))),
    transaction: (fn) => serialized(() => pg.transaction((tx) => fn(wrap(tx)))),
    async copyRows(table, columns, rows) {
      const perRow = columns.length;
      const batchRows = Math.max(1, Math.floor(MAX_PARAMS / perRow));
      let batch: unknown[] = [];
      let count = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        const n = batch.length / perRow;
        const values = Array.from(
          { length: n },
          (_, r) => `(${columns.map((_, c) => `$${r * perRow + c + 1}`).join(', ')})`,
        ).join(', ');
        const params = batch;
        batch = [];
        await serialized(() =>
          pg.query(`INSERT INTO ${ident(table)} (${columns.map(ident).join(', ')}) VALUES ${values}`, params as any[]),
        );
      };
      for await (const row of rows as AsyncIterable<readonly unknown[]>) {
        batch.push(...row.map((v) => (v === undefined ? null : v instanceof Date ? v.toISOString() : v)));
        count++;
        if (batch.length >= batchRows * perRow) await flush();
      }
      await flush();
      return count;
    },
    async close() {
      await serialized(() => pg.close());
      unlock();
    },
  };
}
