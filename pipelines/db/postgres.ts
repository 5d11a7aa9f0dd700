import { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'stream/promises';
import { Readable } from 'stream';
import { Db, Queryable, ident } from './db';

/** Escapes one value for COPY's text format. */
function copyText(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const text =
    value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}

async function* copyLines(
  rows: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
  counter: { n: number },
) {
  let chunk = '';
  for await (const row of rows as AsyncIterable<readonly unknown[]>) {
    chunk += row.map(copyText).join('\t') + '\n';
    counter.n++;
    if (chunk.length > 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

const wrap = (client: Pool | PoolClient): Queryable => ({
  async query(sql, params) {
    const result = await client.query(sql, params as unknown[] | undefined);
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  },
});

/** A PostgreSQL database through a `pg` pool. */
export function openPostgres(connectionString: string, options: { max?: number } = {}): Db {
  const pool = new Pool({ connectionString, max: options.max ?? 10 });
  // An idle client's error (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  const base = wrap(pool);
  return {
    kind: 'postgres',
    query: base.query,
    async exec(sql) {
      await pool.query(sql);
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async copyRows(table, columns, rows) {
      const client = await pool.connect();
      const counter = { n: 0 };
      try {
        const sql = `COPY ${ident(table)} (${columns.map(ident).join(', ')}) FROM STDIN`;
        await pipeline(Readable.from(copyLines(rows, counter)), client.query(copyFrom(sql)));
        return counter.n;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}
