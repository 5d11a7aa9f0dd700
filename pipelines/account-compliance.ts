/**
 * The personal data in accounts: an organization's email and phone can be a person's (a sole trader, a
 * named contact address). GDPR erasure blanks both where the email is the subject's; retention treats
 * accounts as it treats contacts (not updated for data_retention_days: anonymized or deleted) and drops
 * delete tombstones that old. While a vendor has not confirmed an erasure, a re-pulled account does not
 * bring the address back (accountErasureGuard, used by the accounts ingest).
 */
import type { Queryable } from './db';

/** SQL for an incoming account field (`value`): NULL while the erasure of the subject of its `email` is unconfirmed somewhere. */
export const accountErasureGuard = (email: string, value: string) => `CASE WHEN EXISTS (
    SELECT 1 FROM erasure_requests e
    WHERE e.status <> 'done' AND e.subject_hash = encode(sha256(convert_to(lower(trim(${email})), 'UTF8')), 'hex')
  ) THEN NULL ELSE ${value} END`;

/** Blanks the email and phone of the accounts whose email is `email` (trimmed, lower case); how many. */
export async function eraseFromAccounts(tx: Queryable, email: string): Promise<number> {
  // A new content hash: the next pull of the account is a change, so the vendor's erasure shows through.
  const result = await tx.query(
    "UPDATE accounts SET email = NULL, phone = NULL, content_hash = 'erased', updated_at = now() WHERE lower(trim(email)) = $1",
    [email],
  );
  return result.rowCount;
}

/** Accounts older than `cutoff` (ISO): deleted, or their personal fields (email, phone) blanked; old tombstones deleted. */
export async function retainAccounts(
  tx: Queryable,
  cutoff: string,
  action: 'delete' | 'anonymize',
  fields: readonly string[],
): Promise<{ deleted: number; anonymized: number }> {
  const expired = 'COALESCE(updated_at, created_at) < $1::timestamptz';
  let deleted = (await tx.query('DELETE FROM accounts WHERE deleted_at < $1::timestamptz', [cutoff])).rowCount;
  if (action === 'delete') {
    deleted += (await tx.query(`DELETE FROM accounts WHERE ${expired}`, [cutoff])).rowCount;
    return { deleted, anonymized: 0 };
  }
  const blanked = ['email', 'phone'].filter((f) => fields.includes(f));
  if (blanked.length === 0) return { deleted, anonymized: 0 };
  const anonymized = (
    await tx.query(
      `UPDATE accounts SET ${blanked.map((f) => `${f} = NULL`).join(', ')}, content_hash = 'anonymized'
       WHERE ${expired} AND (${blanked.map((f) => `${f} IS NOT NULL`).join(' OR ')})`,
      [cutoff],
    )
  ).rowCount;
  return { deleted, anonymized };
}
