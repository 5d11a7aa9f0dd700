/**
 * The event outbox: events are written in the transaction of what they describe (the triggers of
 * changes-schema.ts, or `addEvent` inside a caller's transaction) and drained by the publisher
 * (events/publisher.ts) at least once: a claimed event is leased, and an event whose publisher died
 * before marking it published is claimed again, with the same id, once its lease runs out.
 */
import type { Db, Queryable } from '@data-sync/pipelines/db';
import type { EventType } from '@data-sync/config/events';

export interface OutboxEvent {
  readonly id: string;
  readonly type: EventType;
  readonly subject: string | null;
  readonly data: Record<string, unknown>;
  readonly createdAt: Date;
  /** Deliveries tried before this one. */
  readonly attempts: number;
}

export interface OutboxRepository {
  /** Leases up to `limit` unpublished events, oldest first, for `leaseMs`. */
  claim(limit: number, leaseMs: number): Promise<OutboxEvent[]>;
  markPublished(ids: readonly string[]): Promise<void>;
  /** Gives events back after a failed delivery: claimable again at once, with the error kept. */
  release(ids: readonly string[], error: string): Promise<void>;
  /** Unpublished events (a gauge for the backlog). */
  pending(): Promise<number>;
}

/** Writes one event inside the caller's transaction. */
export async function addEvent(
  tx: Queryable,
  event: { type: EventType; subject?: string | null; data: Record<string, unknown> },
): Promise<void> {
  await tx.query('INSERT INTO event_outbox (type, subject, data) VALUES ($1, $2, $3::jsonb)', [
    event.type,
    event.subject ?? null,
    JSON.stringify(event.data),
  ]);
}

interface OutboxRow {
  id: string;
  type: EventType;
  subject: string | null;
  data: Record<string, unknown>;
  created_at: Date | string;
  attempts: number;
}

export function createOutboxRepository(db: Db): OutboxRepository {
  return {
    async claim(limit, leaseMs) {
      const { rows } = await db.query<OutboxRow & { seq: string }>(
        `UPDATE event_outbox SET lease_until = now() + $2::int * interval '1 millisecond', attempts = attempts + 1
         WHERE seq IN (SELECT seq FROM event_outbox
                       WHERE published_at IS NULL AND (lease_until IS NULL OR lease_until < now())
                       ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING seq::text AS seq, id::text AS id, type, subject, data, created_at, attempts - 1 AS attempts`,
        [limit, Math.max(0, Math.round(leaseMs))],
      );
      return rows
        .sort((a, b) => Number(a.seq) - Number(b.seq))
        .map((r) => ({
          id: r.id,
          type: r.type,
          subject: r.subject,
          data: r.data,
          createdAt: new Date(r.created_at),
          attempts: Number(r.attempts),
        }));
    },
    async markPublished(ids) {
      if (ids.length)
        await db.query('UPDATE event_outbox SET published_at = now(), lease_until = NULL WHERE id = ANY($1::uuid[])', [
          ids,
        ]);
    },
    async release(ids, error) {
      if (ids.length)
        await db.query('UPDATE event_outbox SET lease_until = NULL, last_error = $2 WHERE id = ANY($1::uuid[])', [
          ids,
          error.slice(0, 1000),
        ]);
    },
    async pending() {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM event_outbox WHERE published_at IS NULL',
      );
      return rows[0].n;
    },
  };
}

/** Removes published events older than the retention cutoff. */
export async function retainPublishedEvents(tx: Queryable, cutoff: string): Promise<number> {
  const { rowCount } = await tx.query(
    'DELETE FROM event_outbox WHERE published_at IS NOT NULL AND published_at < $1::timestamptz',
    [cutoff],
  );
  return rowCount;
}
