/**
 * Accounts pushed outbound, to the ERP objects that hold organizations only (SAP `organizations`,
 * Dataverse `accounts`; NetSuite's `customer` mixes people and companies and takes contacts). A
 * destination gets the accounts changed since its position (`change_seq`), except its own, those it
 * sent back as the echo of an earlier push (same fingerprint: name and email), those already pushed
 * with the same content, and those its upsert key is missing for.
 */
import { createHash } from 'crypto';
import { stableStringify } from './batch';
import type { Queryable } from './db';

type VendorRecord = Record<string, unknown>;

/** Taken by the accounts ingest and by a push recording its position. */
export const ACCOUNT_CHANGE_LOCK = 'SELECT pg_advisory_xact_lock(727002)';

export interface AccountChange {
  readonly source: string;
  readonly external_id: string;
  readonly name: string;
  readonly account_number: string | null;
  readonly email: string | null;
  readonly phone: string | null;
  readonly website: string | null;
  readonly deleted: boolean;
  readonly change_seq: string;
}

/**
 * An account as the destination's record, or undefined when it lacks the destination's upsert key;
 * `key` is that key's value, as the connector names a refused record.
 */
interface AccountOutbound {
  readonly record: (account: AccountChange) => VendorRecord | undefined;
  readonly key: (account: AccountChange) => string;
}

export const ACCOUNT_OUTBOUND: Readonly<Record<string, Readonly<Record<string, AccountOutbound>>>> = {
  sap: {
    // SAP pushes find the partner by its address's email: without one there is nothing to match or create.
    organizations: {
      record: (a) =>
        a.email
          ? {
              OrganizationBPName1: a.name,
              to_BusinessPartnerAddress: {
                results: [
                  {
                    to_EmailAddress: { results: [{ EmailAddress: a.email }] },
                    ...(a.phone ? { to_PhoneNumber: { results: [{ PhoneNumber: a.phone }] } } : {}),
                  },
                ],
              },
            }
          : undefined,
      key: (a) => a.email?.toLowerCase() ?? '',
    },
  },
  dynamics: {
    // Upserted by the accountnumber alternate key.
    accounts: {
      record: (a) =>
        a.account_number
          ? Object.fromEntries(
              Object.entries({
                accountnumber: a.account_number,
                name: a.name,
                emailaddress1: a.email,
                telephone1: a.phone,
                websiteurl: a.website,
              }).filter(([, v]) => v !== null),
            )
          : undefined,
      key: (a) => a.account_number ?? '',
    },
  },
};

export const accountOutbound = (system: string, object: string): AccountOutbound | undefined =>
  ACCOUNT_OUTBOUND[system]?.[object];

/** The same organization's fingerprint in every system: its name and email, which every ERP carries. */
const fingerprint = (a: Pick<AccountChange, 'name' | 'email'>) =>
  `account:${createHash('sha256')
    .update(`${a.name.trim().toLowerCase()}\n${a.email?.trim().toLowerCase() ?? ''}`)
    .digest('hex')}`;
const hashOf = (record: VendorRecord) => createHash('sha256').update(stableStringify(record)).digest('hex');

/** Accounts changed after position `after`, oldest change first, tombstones included (they move the position). */
export async function accountChangesAfter(db: Queryable, after: string, limit: number): Promise<AccountChange[]> {
  const { rows } = await db.query<AccountChange>(
    `SELECT source, external_id, name, account_number, email, phone, website, deleted_at IS NOT NULL AS deleted,
            change_seq::text AS change_seq
     FROM accounts WHERE change_seq > $1::bigint ORDER BY change_seq LIMIT $2`,
    [after, limit],
  );
  return rows;
}

export interface PreparedAccountPush {
  /** Destination records to upsert, with the key and content hash remembered once they are sent. */
  readonly records: {
    readonly key: string;
    readonly hash: string;
    readonly record: VendorRecord;
    /** The destination's upsert key value (how the connector names the record when it refuses it). */
    readonly vendorKey: string;
  }[];
  /** Changes not sent, and why. */
  readonly skipped: number;
}

/** What of `changes` goes to `destination`'s `object` (see the module comment for what is left out). */
export async function prepareAccountPush(
  db: Queryable,
  destination: string,
  map: AccountOutbound,
  changes: readonly AccountChange[],
): Promise<PreparedAccountPush> {
  const candidates = changes
    .filter((a) => !a.deleted && a.source !== destination)
    .map((a) => ({ account: a, key: fingerprint(a), record: map.record(a), vendorKey: map.key(a) }))
    .filter((c): c is typeof c & { record: VendorRecord } => c.record !== undefined);
  const { rows } = await db.query<{ integration: string; record_key: string; content_hash: string }>(
    'SELECT integration, record_key, content_hash FROM sync_pushes WHERE record_key = ANY($1::text[])',
    [[...new Set(candidates.map((c) => c.key))]],
  );
  const pushed = new Map(rows.map((r) => [`${r.integration}\n${r.record_key}`, r.content_hash]));
  const records = candidates
    // An echo: the source received this organization from a push of ours.
    .filter((c) => !pushed.has(`${c.account.source}\n${c.key}`))
    .map((c) => ({ key: c.key, hash: hashOf(c.record), record: c.record, vendorKey: c.vendorKey }))
    .filter((c) => pushed.get(`${destination}\n${c.key}`) !== c.hash);
  return { records, skipped: changes.length - records.length };
}

/** Remembers what was sent to `destination`, so its echo is not pushed on and a repeat is not resent. */
export async function recordAccountPushes(
  tx: Queryable,
  destination: string,
  sent: readonly { readonly key: string; readonly hash: string }[],
): Promise<void> {
  if (sent.length === 0) return;
  await tx.query(
    `INSERT INTO sync_pushes (integration, record_key, content_hash)
     SELECT $1, r.key, r.hash FROM jsonb_to_recordset($2::jsonb) AS r(key text, hash text)
     ON CONFLICT (integration, record_key) DO UPDATE SET content_hash = EXCLUDED.content_hash, pushed_at = now()`,
    [destination, JSON.stringify(sent.map(({ key, hash }) => ({ key, hash })))],
  );
}
