/** A query target: the database itself or a transaction on it. */
export interface Queryable {
  query<R = Record<string, any>>(sql: string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }>;
}

/**
 * One SQL interface over PostgreSQL (`pg`) and PGlite, so the same SQL and the same code run on
 * the production database and on the embedded default.
 */
export interface Db extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs several statements separated by semicolons, with no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Bulk-loads rows into `table` (COPY FROM STDIN on PostgreSQL, batched multi-row INSERTs on PGlite,
   * which cannot COPY from a stream). Values are written as text; null stays NULL.
   */
  copyRows(
    table: string,
    columns: readonly string[],
    rows: Iterable<readonly unknown[]> | AsyncIterable<readonly unknown[]>,
  ): Promise<number>;
  close(): Promise<void>;
}

/** Quotes an SQL identifier (table or column), including a schema-qualified one. */
export function ident(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join('.');
}
