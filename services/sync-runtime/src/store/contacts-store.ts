/** The internal model's contacts as the API shows them: paged, filtered, with where each was seen. */
import type { Queryable } from '@data-sync/pipelines/db';

export interface ContactView {
  readonly email: string;
  readonly first_name: string | null;
  readonly last_name: string | null;
  readonly phone: string | null;
  readonly company_name: string | null;
  readonly created_at: string | null;
  readonly updated_at: string | null;
  /** The integration that wrote the row last. */
  readonly source: string | null;
}

export interface ContactSource {
  readonly integration: string;
  readonly object: string;
  readonly externalId: string | null;
  /** When a pull last saw the contact at that integration. */
  readonly lastSyncedAt: string;
  /** When this service last pushed the contact there, if it did. */
  readonly lastPushedAt: string | null;
}

export interface ContactQuery {
  readonly email?: string;
  /** Seen at this integration (any source), not only written last by it. */
  readonly source?: string;
  /** ISO time: contacts whose updated_at is at or after it. */
  readonly updatedSince?: string;
  readonly limit: number;
  readonly offset: number;
}

const iso = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string).toISOString());

function view(row: Record<string, unknown>): ContactView {
  return {
    email: String(row.email),
    first_name: (row.first_name as string | null) ?? null,
    last_name: (row.last_name as string | null) ?? null,
    phone: (row.phone as string | null) ?? null,
    company_name: (row.company_name as string | null) ?? null,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    source: (row.source as string | null) ?? null,
  };
}

const COLUMNS = 'c.email, c.first_name, c.last_name, c.phone, c.company_name, c.created_at, c.updated_at, c.source';

export function createContactsStore(db: Queryable) {
  return {
    async list(q: ContactQuery): Promise<{ items: ContactView[]; total: number }> {
      const conditions: string[] = [];
      const params: unknown[] = [];
      if (q.email !== undefined) conditions.push(`c.email = $${params.push(q.email.trim().toLowerCase())}`);
      if (q.source !== undefined)
        conditions.push(
          `EXISTS (SELECT 1 FROM contact_sources s WHERE s.email = c.email AND s.integration = $${params.push(q.source)})`,
        );
      if (q.updatedSince !== undefined) conditions.push(`c.updated_at >= $${params.push(q.updatedSince)}::timestamptz`);
      const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
      const total = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM contacts c ${where}`, params);
      const { rows } = await db.query(
        `SELECT ${COLUMNS} FROM contacts c ${where} ORDER BY c.updated_at DESC NULLS LAST, c.email LIMIT ${q.limit} OFFSET ${q.offset}`,
        params,
      );
      return { items: rows.map(view), total: total.rows[0].n };
    },

    /** One contact with its sources, or null. */
    async get(email: string): Promise<(ContactView & { sources: ContactSource[] }) | null> {
      const key = email.trim().toLowerCase();
      const { rows } = await db.query(`SELECT ${COLUMNS} FROM contacts c WHERE c.email = $1`, [key]);
      if (rows.length === 0) return null;
      const sources = await db.query<{
        integration: string;
        object: string | null;
        external_id: string | null;
        synced_at: unknown;
        pushed_at: unknown;
      }>(
        `SELECT COALESCE(s.integration, p.integration) AS integration, s.object, s.external_id, s.synced_at, p.pushed_at
         FROM (SELECT * FROM contact_sources WHERE email = $1) s FULL JOIN (SELECT * FROM sync_pushes WHERE record_key = $1) p ON p.integration = s.integration
         ORDER BY 1`,
        [key],
      );
      return {
        ...view(rows[0]),
        sources: sources.rows.map((s) => ({
          integration: s.integration,
          object: s.object ?? '',
          externalId: s.external_id,
          lastSyncedAt: iso(s.synced_at) ?? '',
          lastPushedAt: iso(s.pushed_at),
        })),
      };
    },
  };
}
