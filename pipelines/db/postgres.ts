import { Pool, PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'stream/promises';
import { Readable } from 'stream';
import { Db, Queryable, ident } from './db';

const COPY_SPECIAL = /[\\\n\r\t]/;

/** Escapes one value for COPY's text format. */
function copyText(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const text =
    value instanceof Date ? value.toISOString() : typeof value === 'object' ? JSON.stringify(value) : String(value);
  // Most values need no escape; testing once is cheaper than four replacements.
  return COPY_SPECIAL.test(text)
    ? text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')
    : text;
}

const COPY_CHUNK = 64 * 1024;

function copyLine(row: readonly unknown[]): string {
  let line = copyText(row[0]);
  for (let i = 1; i < row.length; i++) line += '\t' + copyText(row[i]);
  return line + '\n';
}

/** COPY text in chunks of about 64 KiB, read synchronously: awaiting every row of an array would cost more than its formatting. */
function* copyChunks(rows: Iterable<readonly unknown[]>, counter: { n: number }) {
  let chunk = '';
  for (const row of rows) {
    chunk += copyLine(row);
    counter.n++;
    if (chunk.length > COPY_CHUNK) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

async function* copyLines(rows: AsyncIterable<readonly unknown[]>, counter: { n: number }) {
  let chunk = '';
  for await (const row of rows) {
    chunk += copyLine(row);
    counter.n++;
    if (chunk.length > COPY_CHUNK) {
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

/**
 * `use` with a client of `pool`. pg-pool handles a client's errors only while it is idle, so a held client
 * whose server ends the connection (a restart, a failover, an administrator) would emit an unhandled
 * 'error' and crash the process: here the error fails this use instead, and the broken client is
 * destroyed on release rather than returned to the pool.
 */
async function checkedOut<T>(pool: Pool, use: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    return await use(client);
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

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
    transaction: (fn) =>
      checkedOut(pool, async (client) => {
        try {
          await client.query('BEGIN');
          const result = await fn(wrap(client));
          await client.query('COMMIT');
          return result;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
      }),
    copyRows: (table, columns, rows) =>
      checkedOut(pool, async (client) => {
        const counter = { n: 0 };
        const sql = `COPY ${ident(table)} (${columns.map(ident).join(', ')}) FROM STDIN`;
        const text =
          Symbol.asyncIterator in rows
            ? copyLines(rows as AsyncIterable<readonly unknown[]>, counter)
            : copyChunks(rows as Iterable<readonly unknown[]>, counter);
        await pipeline(Readable.from(text), client.query(copyFrom(sql)));
        return counter.n;
      }),
    close: () => pool.end(),
  };
}
