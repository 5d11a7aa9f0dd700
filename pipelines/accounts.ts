/**
 * The inbound path of ERP organization pages into `accounts`, inside the transaction that commits the
 * page's cursor: rows upserted by (source, vendor id), an unchanged repeat or an older version changing
 * nothing, deletes kept as tombstones, and refused records quarantined with their reasons.
 */
import { createHash } from 'crypto';
import { stableStringify } from './batch';
import type { Queryable } from './db';
import { accountErasureGuard } from './account-compliance';
import { ACCOUNT_CHANGE_LOCK } from './account-push';
import { ACCOUNT_MAPPINGS, type AccountRow } from './account-mappings';
import { quarantine } from './analytics';
import type { FieldCipher } from './privacy';

type VendorRecord = Record<string, unknown>;

export interface AccountsResult {
  readonly received: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly deleted: number;
  readonly quarantined: number;
}

const jsonForDb = (value: unknown) => JSON.stringify(value).replace(/\\u0000/g, '\\ufffd');

/**
 * Writes one page of `object` from `source` into accounts; undefined when that object holds no
 * accounts (the engine's other sinks handle it).
 */
export async function ingestAccountPage(
  tx: Queryable,
  page: { integration: string; object: string; records: readonly VendorRecord[]; deletedIds: readonly string[] },
  options: { cipher?: FieldCipher } = {},
): Promise<AccountsResult | undefined> {
  // Integrations are named after their system, as the analytics model reads them too.
  const map = ACCOUNT_MAPPINGS[page.integration]?.[page.object];
  if (!map) return undefined;
  const rows = new Map<string, AccountRow & { content_hash: string }>();
  const refused: { record: VendorRecord; errors: readonly unknown[] }[] = [];
  for (const record of page.records) {
    const mapped = map(record);
    if (!mapped.ok) refused.push({ record, errors: mapped.errors });
    else if (mapped.row) {
      const { source_updated_at: _at, ...content } = mapped.row;
      rows.set(mapped.row.external_id, {
        ...mapped.row,
        content_hash: createHash('sha256').update(stableStringify(content)).digest('hex'),
      });
    }
  }
  await quarantine(tx, page.integration, `${page.integration}_to_accounts.${page.object}`, refused, options.cipher);
  let inserted = 0;
  let updated = 0;
  if (rows.size > 0) {
    // Pushes record their position under the same lock, so none reads past a change not yet committed.
    await tx.query(ACCOUNT_CHANGE_LOCK);
    const { rows: written } = await tx.query<{ inserted: boolean }>(
      `INSERT INTO accounts (source, external_id, name, account_number, email, phone, website, source_updated_at, content_hash)
       SELECT $1, r.external_id, r.name, r.account_number, ${accountErasureGuard('r.email', 'r.email')}, ${accountErasureGuard('r.email', 'r.phone')}, r.website, r.source_updated_at, r.content_hash
       FROM jsonb_to_recordset($2::jsonb) AS r(external_id text, name text, account_number text, email text, phone text, website text, source_updated_at timestamptz, content_hash text)
       ON CONFLICT (source, external_id) DO UPDATE SET name = EXCLUDED.name, account_number = EXCLUDED.account_number, email = EXCLUDED.email, phone = EXCLUDED.phone,
         website = EXCLUDED.website, source_updated_at = EXCLUDED.source_updated_at, content_hash = EXCLUDED.content_hash, deleted_at = NULL, updated_at = now(),
         change_seq = nextval('accounts_change_seq')
       WHERE (accounts.content_hash <> EXCLUDED.content_hash OR accounts.deleted_at IS NOT NULL)
         AND (accounts.source_updated_at IS NULL OR EXCLUDED.source_updated_at IS NULL OR EXCLUDED.source_updated_at >= accounts.source_updated_at)
       RETURNING (xmax = 0) AS inserted`,
      [page.integration, jsonForDb([...rows.values()])],
    );
    inserted = written.filter((r) => r.inserted).length;
    updated = written.length - inserted;
  }
  let deleted = 0;
  if (page.deletedIds.length > 0) {
    const result = await tx.query(
      'UPDATE accounts SET deleted_at = now(), updated_at = now() WHERE source = $1 AND external_id = ANY($2::text[]) AND deleted_at IS NULL',
      [page.integration, [...page.deletedIds]],
    );
    deleted = result.rowCount;
  }
  return {
    received: page.records.length,
    inserted,
    updated,
    unchanged: rows.size - inserted - updated,
    deleted,
    quarantined: refused.length,
  };
}

/** The engine's sink contract, structurally (pipelines does not import the runtime). */
interface PageSink {
  upsert(
    tx: Queryable,
    run: { readonly integration: string; readonly object: string; readonly runId: string },
    records: readonly VendorRecord[],
    deletedIds: readonly string[],
  ): Promise<{ received: number; accepted: number; quarantined: number; duplicates: number }>;
}

/** `sink` plus the accounts model: pages of ERP organization objects also land in accounts, in the same transaction. */
export function withAccountsModel<S extends PageSink>(sink: S, options: { cipher?: FieldCipher } = {}): S {
  return {
    ...sink,
    async upsert(tx, run, records, deletedIds) {
      const raw = await sink.upsert(tx, run, records, deletedIds);
      await ingestAccountPage(tx, { integration: run.integration, object: run.object, records, deletedIds }, options);
      return raw;
    },
  };
}
