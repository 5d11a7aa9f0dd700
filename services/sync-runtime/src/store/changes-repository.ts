/**
 * The change feed of the internal model (contacts, accounts, events, metrics_daily): the triggers of
 * changes-schema.ts record every changed row; this numbers committed rows (sequence) and pages through
 * them by position. Erasure and retention remove rows here too (personal-data.ts).
 */
import type { Db, Queryable } from '@data-sync/pipelines/db';

export interface Change {
  /** Monotonically increasing, gap-free within what one reader sees; never reused. */
  readonly position: number;
  readonly entity: 'contacts' | 'accounts' | 'events' | 'metrics_daily';
  readonly op: 'insert' | 'update' | 'delete';
  /** The row's primary key columns (`{ email }` for a contact). */
  readonly key: Record<string, unknown>;
  /** The row after the change; null for a delete. */
  readonly data: Record<string, unknown> | null;
  readonly changedAt: string;
}

export interface ChangesRepository {
  /** Up to `limit` changes after `after`, oldest first (numbers newly committed changes first). */
  list(after: number, limit: number): Promise<Change[]>;
  /** Gives the committed, unnumbered changes their positions; how many it numbered. */
  sequence(): Promise<number>;
  /** The last position handed out. */
  head(): Promise<number>;
}

/** Changes numbered per sequencer transaction: a large backfill is numbered over several reads. */
const SEQUENCE_BATCH = 10_000;

interface ChangeRow {
  position: string;
  entity: Change['entity'];
  op: Change['op'];
  key: Record<string, unknown>;
  data: Record<string, unknown> | null;
  changed_at: Date | string;
}

export function createChangesRepository(db: Db): ChangesRepository {
  async function sequence(): Promise<number> {
    const pending = await db.query('SELECT 1 FROM data_changes WHERE position IS NULL LIMIT 1');
    if (!pending.rows.length) return 0;
    return db.transaction(async (tx) => {
      // The row lock serializes sequencers; the next statement's snapshot is taken after it, so it sees
      // every row an earlier sequencer numbered and never numbers one twice.
      const state = await tx.query<{ last: string }>(
        'SELECT last_position::text AS last FROM change_feed_state FOR UPDATE',
      );
      const numbered = await tx.query(
        `WITH pending AS (
           SELECT id, row_number() OVER (ORDER BY id) AS n FROM data_changes WHERE position IS NULL ORDER BY id LIMIT $2
         )
         UPDATE data_changes c SET position = $1::bigint + p.n FROM pending p WHERE c.id = p.id`,
        [state.rows[0].last, SEQUENCE_BATCH],
      );
      if (numbered.rowCount)
        await tx.query('UPDATE change_feed_state SET last_position = last_position + $1', [numbered.rowCount]);
      return numbered.rowCount;
    });
  }
  return {
    sequence,
    async list(after, limit) {
      await sequence();
      // Qualified: the text alias `position` would otherwise order '10' before '8'.
      const { rows } = await db.query<ChangeRow>(
        `SELECT position::text AS position, entity, op, key, data, changed_at FROM data_changes
         WHERE data_changes.position > $1 ORDER BY data_changes.position LIMIT $2`,
        [after, limit],
      );
      return rows.map((r) => ({
        position: Number(r.position),
        entity: r.entity,
        op: r.op,
        key: r.key,
        data: r.data,
        changedAt: new Date(r.changed_at).toISOString(),
      }));
    },
    async head() {
      await sequence();
      const { rows } = await db.query<{ last: string }>('SELECT last_position::text AS last FROM change_feed_state');
      return Number(rows[0].last);
    },
  };
}

/** Removes a subject's changes (GDPR erasure), inside the erasure's transaction: by subject hash and by the address anywhere in the row. */
export async function eraseSubjectChanges(tx: Queryable, email: string, subjectHash: string): Promise<number> {
  const { rowCount } = await tx.query(
    'DELETE FROM data_changes WHERE subject_hash = $1 OR strpos(lower(key::text), $2) > 0 OR strpos(lower(data::text), $2) > 0',
    [subjectHash, email],
  );
  return rowCount;
}

/** Removes changes older than the retention cutoff. */
export async function retainChanges(tx: Queryable, cutoff: string): Promise<number> {
  const { rowCount } = await tx.query('DELETE FROM data_changes WHERE changed_at < $1::timestamptz', [cutoff]);
  return rowCount;
}
