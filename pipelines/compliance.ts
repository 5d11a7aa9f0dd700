/**
 * GDPR (retention, erasure with audit proof and vendor erasure queue) and CCPA (opt-out honoured on
 * the push path), with the settings of config/compliance.ts.
 */
import { COMPLIANCE, type ComplianceConfig } from '@data-sync/config/compliance';
import { INTEGRATIONS, type IntegrationFamily } from '@data-sync/config/integrations';
import type { Db, Queryable } from './db';
import { eraseFromAccounts, retainAccounts } from './account-compliance';
import { subjectHash } from './privacy';

function checkEmail(email: unknown): string {
  if (typeof email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(email.trim()))
    throw new Error(`email must be an email address, got ${JSON.stringify(email)}`);
  return email.trim().toLowerCase();
}

function checkActor(opts: { actor: string } | undefined): string {
  if (!opts || typeof opts.actor !== 'string' || !opts.actor.trim())
    throw new Error('actor is required (who asked, for the audit log)');
  return opts.actor;
}

async function audit(
  tx: Queryable,
  actor: string,
  action: string,
  target: string,
  outcome: string,
  details: Record<string, unknown>,
): Promise<void> {
  await tx.query('INSERT INTO audit_log (actor, action, target, outcome, details) VALUES ($1, $2, $3, $4, $5::jsonb)', [
    actor,
    action,
    target,
    outcome,
    JSON.stringify(details),
  ]);
}

/** Records a CCPA opt-out (by subject hash only) with an audit entry; repeating it is harmless. */
export async function optOut(db: Db, email: string, opts: { actor: string }): Promise<void> {
  const subject = subjectHash(checkEmail(email));
  const actor = checkActor(opts);
  await db.transaction(async (tx) => {
    const { rowCount } = await tx.query(
      'INSERT INTO privacy_opt_outs (subject_hash, actor) VALUES ($1, $2) ON CONFLICT (subject_hash) DO NOTHING',
      [subject, actor],
    );
    await audit(tx, actor, 'ccpa.opt_out', `subject:${subject}`, rowCount > 0 ? 'recorded' : 'already_recorded', {
      families: COMPLIANCE.ccpa.optOutFamilies,
    });
  });
}

export async function isOptedOut(db: Queryable, email: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM privacy_opt_outs WHERE subject_hash = $1', [
    subjectHash(checkEmail(email)),
  ]);
  return rows.length > 0;
}

/**
 * The records that may be sent to a destination of `family`: for the opt-out families (marketing),
 * those whose subject has not opted out. Records are matched by `emailField`.
 */
export async function filterOptedOut<T extends Record<string, unknown>>(
  db: Queryable,
  family: IntegrationFamily,
  records: readonly T[],
  emailField = 'email',
  config: ComplianceConfig = COMPLIANCE,
): Promise<T[]> {
  if (!config.ccpa.enabled || !config.ccpa.optOutFamilies.includes(family) || records.length === 0) return [...records];
  const hashes = records.map((r) =>
    typeof r[emailField] === 'string' && (r[emailField] as string).trim() ? subjectHash(r[emailField] as string) : null,
  );
  const wanted = [...new Set(hashes.filter((h): h is string => h !== null))];
  if (wanted.length === 0) return [...records];
  const { rows } = await db.query<{ subject_hash: string }>(
    'SELECT subject_hash FROM privacy_opt_outs WHERE subject_hash = ANY($1::text[])',
    [wanted],
  );
  const out = new Set(rows.map((r) => r.subject_hash));
  return records.filter((_, i) => hashes[i] === null || !out.has(hashes[i] as string));
}

/**
 * Personal data the runtime keeps outside the pipeline's tables (the raw replica, queued job payloads):
 * erasure and retention reach them through these, in the same transaction.
 */
export interface OtherPersonalData {
  /** Deletes the subject (`email` trimmed and lower-cased) and returns rows erased per table. */
  erase(tx: Queryable, email: string): Promise<Record<string, number>>;
  /** Deletes what is older than `cutoff` (ISO time) and returns how many rows. */
  retain(tx: Queryable, cutoff: string): Promise<number>;
}

/** Integrations whose vendor is asked to erase a subject: the enabled ones of the catalog, unless given. */
const defaultVendors = () => INTEGRATIONS.filter((i) => i.enabled).map((i) => i.name);

/**
 * GDPR erasure: deletes the subject from every pipeline table, queues one erasure per connected
 * vendor, and writes the proof (what was erased, where) to the audit log, all in one transaction.
 */
export async function eraseSubject(
  db: Db,
  email: string,
  opts: { actor: string; vendors?: readonly string[]; other?: OtherPersonalData },
): Promise<{ erased: Record<string, number>; vendorErasures: string[] }> {
  const normalized = checkEmail(email);
  const actor = checkActor(opts);
  const subject = subjectHash(normalized);
  const vendors = [...new Set(opts.vendors ?? defaultVendors())];
  const bad = vendors.find((v) => typeof v !== 'string' || !/^[a-z0-9_]{1,64}$/.test(v));
  if (bad !== undefined) throw new Error(`vendor must be an integration name, got ${JSON.stringify(bad)}`);
  return db.transaction(async (tx) => {
    const erased: Record<string, number> = {};
    erased.contacts = (await tx.query('DELETE FROM contacts WHERE email = $1', [normalized])).rowCount;
    erased.contact_staging = (
      await tx.query('DELETE FROM contact_staging WHERE TRIM(LOWER(email)) = $1', [normalized])
    ).rowCount;
    // Quarantined raw records: by the subject hash taken when quarantined, and by the email anywhere in the record.
    erased.pipeline_quarantine = (
      await tx.query('DELETE FROM pipeline_quarantine WHERE subject_hash = $1 OR strpos(lower(record::text), $2) > 0', [
        subject,
        normalized,
      ])
    ).rowCount;
    erased.sync_pushes = (await tx.query('DELETE FROM sync_pushes WHERE record_key = $1', [normalized])).rowCount;
    // Analytics events linked to the subject by email, or naming it as the vendor's user id.
    erased.events = (
      await tx.query('DELETE FROM events WHERE email = $1 OR lower(user_id) = $1', [normalized])
    ).rowCount;
    erased.contact_sources = (await tx.query('DELETE FROM contact_sources WHERE email = $1', [normalized])).rowCount;
    erased.accounts = await eraseFromAccounts(tx, normalized);
    if (opts.other) Object.assign(erased, await opts.other.erase(tx, normalized));
    if (vendors.length) {
      await tx.query(
        `INSERT INTO erasure_requests (integration, subject_hash, email)
         SELECT v, $2, $3 FROM unnest($1::text[]) AS v
         ON CONFLICT (integration, subject_hash) DO UPDATE SET email = EXCLUDED.email, status = 'pending', attempts = 0, last_error = NULL, requested_at = now(), completed_at = NULL`,
        [vendors, subject, normalized],
      );
    }
    await audit(tx, actor, 'gdpr.erase', `subject:${subject}`, 'erased', { erased, vendorErasures: vendors });
    return { erased, vendorErasures: vendors };
  });
}

export interface ErasureRequest {
  id: string;
  integration: string;
  email: string;
  attempts: number;
}

/** Erasure attempts at one vendor before the request is marked failed (and alerted on). */
export const MAX_ERASURE_ATTEMPTS = 5;

/** How long a claimed vendor erasure stays with its worker before another may take it (default 15 min). */
export const ERASURE_LEASE_MS = 15 * 60_000;

/**
 * Takes up to `limit` vendor erasures for the worker (each instance gets different ones on PostgreSQL):
 * pending ones, and ones whose worker's lease expired (it crashed). A request whose lease expired on its
 * last allowed attempt is marked failed, with its audit entry, instead of being sent again.
 */
export async function claimErasureRequests(db: Db, limit = 10, leaseMs = ERASURE_LEASE_MS): Promise<ErasureRequest[]> {
  return db.transaction(async (tx) => {
    const { rows: abandoned } = await tx.query(
      `UPDATE erasure_requests SET status = 'failed', email = NULL, lease_until = NULL,
         last_error = 'lease expired after ' || attempts || ' attempts (worker crashed or stalled)'
       WHERE id IN (SELECT id FROM erasure_requests WHERE status = 'in_progress' AND lease_until < now() AND attempts >= $1 FOR UPDATE SKIP LOCKED)
       RETURNING integration, subject_hash, attempts, last_error`,
      [MAX_ERASURE_ATTEMPTS],
    );
    for (const r of abandoned)
      await audit(tx, 'erasure-worker', 'gdpr.vendor_erase', `subject:${r.subject_hash}`, 'failed', {
        integration: r.integration,
        attempts: r.attempts,
        error: r.last_error,
      });
    const { rows } = await tx.query(
      `UPDATE erasure_requests SET status = 'in_progress', attempts = attempts + 1, lease_until = now() + $2::int * interval '1 millisecond'
       WHERE id IN (SELECT id FROM erasure_requests WHERE status = 'pending' OR (status = 'in_progress' AND lease_until < now())
                    ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING id::text AS id, integration, email, attempts`,
      [limit, Math.max(0, Math.round(leaseMs))],
    );
    return (rows as ErasureRequest[]).sort((a, b) => Number(a.id) - Number(b.id));
  });
}

/**
 * Records a vendor's answer: done forgets the email and writes an audit entry; an error puts the
 * request back to pending, or marks it failed after MAX_ERASURE_ATTEMPTS.
 */
export async function completeErasureRequest(
  db: Db,
  id: string,
  outcome: { ok: true; notPermanent?: string } | { ok: false; error: string },
): Promise<void> {
  await db.transaction(async (tx) => {
    const { rows } = await tx.query(
      `UPDATE erasure_requests SET
         status = CASE WHEN $2 THEN 'done' WHEN attempts >= $4 THEN 'failed' ELSE 'pending' END,
         email = CASE WHEN $2 OR attempts >= $4 THEN NULL ELSE email END,
         last_error = $3, completed_at = CASE WHEN $2 THEN now() END, lease_until = NULL
       WHERE id = $1::bigint AND status = 'in_progress'
       RETURNING integration, subject_hash, status, attempts`,
      [id, outcome.ok, outcome.ok ? null : outcome.error, MAX_ERASURE_ATTEMPTS],
    );
    if (rows.length === 0) throw new Error(`erasure request ${id} is not in progress`);
    const r = rows[0];
    if (r.status !== 'pending') {
      const details = outcome.ok
        ? outcome.notPermanent
          ? { permanent: false, reason: outcome.notPermanent }
          : {}
        : { error: outcome.error };
      await audit(tx, 'erasure-worker', 'gdpr.vendor_erase', `subject:${r.subject_hash}`, r.status, {
        integration: r.integration,
        attempts: r.attempts,
        ...details,
      });
    }
  });
}

/** Contact columns the anonymization fields map to, with the value each gets. */
const ANONYMIZE: Record<string, string> = {
  // Unique (it is the key) and unlinkable: random, not a hash of the address.
  email: `'anonymized-' || gen_random_uuid() || '@anonymized.invalid'`,
  phone: 'NULL',
};

/**
 * GDPR retention: contacts not updated for `data_retention_days` are anonymized (the configured
 * `anonymization_fields`) or deleted; quarantined raw records, push hashes and analytics events that old are deleted,
 * and so are staging rows older than a day. `deleted` counts rows of every table.
 */
export async function applyRetention(
  db: Db,
  now: Date = new Date(),
  config: ComplianceConfig = COMPLIANCE,
  other?: OtherPersonalData,
): Promise<{ deleted: number; anonymized: number }> {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new Error('now must be a valid Date');
  if (!config.gdpr.enabled) return { deleted: 0, anonymized: 0 };
  const cutoff = new Date(now.getTime() - config.gdpr.dataRetentionDays * 86_400_000).toISOString();
  return db.transaction(async (tx) => {
    let deleted = 0;
    let anonymized = 0;
    const expired = 'COALESCE(updated_at, created_at) < $1::timestamptz';
    if (config.gdpr.retentionAction === 'delete') {
      deleted += (await tx.query(`DELETE FROM contacts WHERE ${expired}`, [cutoff])).rowCount;
    } else {
      const sets = config.gdpr.anonymizationFields.filter((f) => ANONYMIZE[f]).map((f) => `${f} = ${ANONYMIZE[f]}`);
      if (sets.length)
        anonymized = (
          await tx.query(
            `UPDATE contacts SET ${sets.join(', ')}, anonymized_at = $2 WHERE anonymized_at IS NULL AND ${expired}`,
            [cutoff, now.toISOString()],
          )
        ).rowCount;
    }
    deleted += (await tx.query('DELETE FROM pipeline_quarantine WHERE last_seen_at < $1::timestamptz', [cutoff]))
      .rowCount;
    deleted += (await tx.query('DELETE FROM sync_pushes WHERE pushed_at < $1::timestamptz', [cutoff])).rowCount;
    // Where a contact was seen: a deleted contact's rows go with it; an anonymized one keeps none.
    deleted += (
      await tx.query(
        'DELETE FROM contact_sources s WHERE s.synced_at < $1::timestamptz OR NOT EXISTS (SELECT 1 FROM contacts c WHERE c.email = s.email)',
        [cutoff],
      )
    ).rowCount;
    if (other) deleted += await other.retain(tx, cutoff);
    const accounts = await retainAccounts(tx, cutoff, config.gdpr.retentionAction, config.gdpr.anonymizationFields);
    deleted += accounts.deleted;
    anonymized += accounts.anonymized;
    // Events are behaviour tied to a person: kept no longer than the contacts they describe.
    deleted += (await tx.query('DELETE FROM events WHERE occurred_at < $1::timestamptz', [cutoff])).rowCount;
    // Staging rows of batches a crash interrupted (a live batch holds its rows for seconds).
    deleted += (
      await tx.query("DELETE FROM contact_staging WHERE loaded_at < $1::timestamptz - interval '1 day'", [
        now.toISOString(),
      ])
    ).rowCount;
    await audit(tx, 'retention', 'gdpr.retention', 'contacts', 'applied', {
      cutoff,
      action: config.gdpr.retentionAction,
      deleted,
      anonymized,
    });
    return { deleted, anonymized };
  });
}
