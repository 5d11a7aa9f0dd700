/** The audit log (table audit_log, created by ENGINE_MIGRATIONS): who did what to which target, and how it ended. */
import type { Queryable } from '@data-sync/pipelines/db';

export interface AuditEntry {
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  /** ok, denied, rejected, failed. */
  readonly outcome: string;
  readonly details?: Record<string, unknown>;
}

export interface AuditRecord extends Required<AuditEntry> {
  readonly id: string;
  readonly at: string;
}

export async function writeAudit(q: Queryable, entry: AuditEntry): Promise<void> {
  await q.query('INSERT INTO audit_log (actor, action, target, outcome, details) VALUES ($1, $2, $3, $4, $5::jsonb)', [
    entry.actor,
    entry.action,
    entry.target,
    entry.outcome,
    JSON.stringify(entry.details ?? {}),
  ]);
}

/** Writes `entries` in one statement (a batch of jobs audits each job at once). */
export async function writeAudits(q: Queryable, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await q.query(
    `INSERT INTO audit_log (actor, action, target, outcome, details)
     SELECT actor, action, target, outcome, details
     FROM jsonb_to_recordset($1::jsonb) AS e(ord int, actor text, action text, target text, outcome text, details jsonb)
     ORDER BY ord`,
    [JSON.stringify(entries.map((entry, ord) => ({ ord, ...entry, details: entry.details ?? {} })))],
  );
}

export interface AuditFilter {
  readonly actor?: string;
  readonly action?: string;
  readonly target?: string;
  readonly outcome?: string;
  readonly limit: number;
  readonly offset: number;
}

export async function listAudit(q: Queryable, filter: AuditFilter): Promise<{ entries: AuditRecord[]; total: number }> {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const column of ['actor', 'action', 'target', 'outcome'] as const) {
    const value = filter[column];
    if (value !== undefined) {
      params.push(value);
      where.push(`${column} = $${params.length}`);
    }
  }
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const total = await q.query<{ n: string }>(`SELECT count(*) AS n FROM audit_log ${clause}`, params);
  const { rows } = await q.query<{
    id: string;
    at: Date | string;
    actor: string;
    action: string;
    target: string;
    outcome: string;
    details: unknown;
  }>(
    `SELECT id, at, actor, action, target, outcome, details FROM audit_log ${clause} ORDER BY id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
    [...params, filter.limit, filter.offset],
  );
  return {
    total: Number(total.rows[0].n),
    entries: rows.map((r) => ({
      id: String(r.id),
      at: new Date(r.at).toISOString(),
      actor: r.actor,
      action: r.action,
      target: r.target,
      outcome: r.outcome,
      details: (typeof r.details === 'string' ? JSON.parse(r.details) : r.details) as Record<string, unknown>,
    })),
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;

export function createAuditRepository(q: Queryable) {
  return {
    write: (entry: AuditEntry) => writeAudit(q, entry),
    /** Entries newest first, filtered by actor, action, target and outcome. */
    list: (filter: AuditFilter) => listAudit(q, filter),
  };
}
