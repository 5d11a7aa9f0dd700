/**
 * The User Service's user changes into the internal model, through the pipeline (map, validate,
 * quarantine, clean, deduplicate, upsert) in one transaction with the user's version, then a push to
 * every destination right away: a new user reaches the marketing destinations in seconds, not on the
 * next schedule. Idempotent by user id and version: a version at or below the applied one changes nothing.
 */
import type { Db, Queryable } from '@data-sync/pipelines/db';
import { CONTACT_CHANGE_LOCK, commitBatchWithin, prepareBatch, type PipelineOptions } from '@data-sync/pipelines/batch';
import type { QueueBinding } from '../queue/binding';

export const USER_SERVICE = 'user_service';
export const USER_MAPPING = 'user_service_to_internal.users';

export type UserChange =
  | {
      readonly op: 'upsert';
      readonly id: string;
      readonly version: number;
      readonly email: string;
      readonly firstName?: string | null;
      readonly lastName?: string | null;
      readonly phone?: string | null;
      readonly company?: string | null;
      readonly createdAt?: string | null;
      readonly updatedAt?: string | null;
    }
  | { readonly op: 'delete'; readonly id: string; readonly version: number };

export interface UserIngestResult {
  /** Changes newer than the applied version of their user. */
  readonly applied: number;
  /** Changes at or below the applied version (repeats, reordered deliveries): ignored. */
  readonly stale: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly quarantined: number;
  readonly deleted: number;
  /** Destinations a push was queued for. */
  readonly pushes: readonly string[];
}

export interface UserIngestDeps {
  readonly db: Db;
  readonly queue: QueueBinding;
  /** The destinations: integrations with push objects. */
  readonly destinations: () => Promise<readonly string[]>;
  readonly pipeline?: PipelineOptions;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The last change per user in the batch (highest version). */
function latestPerUser(changes: readonly UserChange[]): UserChange[] {
  const byId = new Map<string, UserChange>();
  for (const c of changes) if ((byId.get(c.id)?.version ?? -1) < c.version) byId.set(c.id, c);
  return [...byId.values()];
}

/** Records the versions; returns the changes that are newer than what was applied, with the address each user had. */
async function claimVersions(tx: Queryable, changes: readonly UserChange[], now: Date) {
  const ids = changes.map((c) => c.id);
  const before = await tx.query<{ user_id: string; email: string | null }>(
    'SELECT user_id, email FROM internal_users WHERE user_id = ANY($1::text[]) FOR UPDATE',
    [ids],
  );
  const oldEmail = new Map(before.rows.map((r) => [r.user_id, r.email]));
  const fresh = await tx.query<{ user_id: string }>(
    `INSERT INTO internal_users (user_id, version, email, deleted_at, updated_at)
     SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[], $5::timestamptz[])
     ON CONFLICT (user_id) DO UPDATE SET version = EXCLUDED.version, email = EXCLUDED.email,
       deleted_at = EXCLUDED.deleted_at, updated_at = EXCLUDED.updated_at
     WHERE EXCLUDED.version > internal_users.version
     RETURNING user_id`,
    [
      ids,
      changes.map((c) => c.version),
      changes.map((c) => (c.op === 'upsert' ? c.email.trim().toLowerCase() : null)),
      changes.map((c) => (c.op === 'delete' ? now : null)),
      changes.map(() => now),
    ],
  );
  const applied = new Set(fresh.rows.map((r) => r.user_id));
  return { applied: changes.filter((c) => applied.has(c.id)), oldEmail };
}

export async function ingestUserChanges(
  deps: UserIngestDeps,
  changes: readonly UserChange[],
  runId?: string,
): Promise<UserIngestResult> {
  const now = new Date((deps.now ?? Date.now)());
  const latest = latestPerUser(changes);
  const outcome = await deps.db.transaction(async (tx) => {
    const { applied, oldEmail } = await claimVersions(tx, latest, now);
    const upserts = applied.filter((c): c is Extract<UserChange, { op: 'upsert' }> => c.op === 'upsert');
    // A delete removes the user's contact; an upsert that changed the address removes the contact of the old one.
    const gone = applied
      .map((c) => ({ old: oldEmail.get(c.id) ?? null, next: c.op === 'upsert' ? c.email.trim().toLowerCase() : null }))
      .filter((x): x is { old: string; next: string | null } => x.old !== null && x.old !== x.next)
      .map((x) => x.old);
    let deleted = 0;
    if (gone.length) {
      await tx.query(CONTACT_CHANGE_LOCK);
      deleted = (await tx.query('DELETE FROM contacts WHERE email = ANY($1::text[])', [gone])).rowCount;
    }
    const records = upserts.map((c) => ({
      id: c.id,
      email: c.email,
      firstName: c.firstName ?? null,
      lastName: c.lastName ?? null,
      phone: c.phone ?? null,
      company: c.company ?? null,
      createdAt: c.createdAt ?? null,
      // The pipeline orders versions of a contact by updated_at: a change without one is as of its receipt.
      updatedAt: c.updatedAt ?? now.toISOString(),
    }));
    const prepared = await prepareBatch(
      { integration: USER_SERVICE, mapping: USER_MAPPING, records, externalIds: upserts.map((c) => c.id), runId },
      deps.pipeline,
    );
    const batch = await commitBatchWithin(tx, prepared);
    return { applied: applied.length, batch, deleted };
  });
  const changed = outcome.batch.inserted + outcome.batch.updated + outcome.deleted > 0;
  const pushes = changed ? await deps.destinations() : [];
  for (const destination of pushes)
    await deps.queue.enqueue({
      kind: 'push',
      integration: destination,
      payload: { trigger: 'change' },
      dedupeKey: `push:${destination}`,
    });
  return {
    applied: outcome.applied,
    stale: changes.length - outcome.applied,
    inserted: outcome.batch.inserted,
    updated: outcome.batch.updated,
    unchanged: outcome.batch.unchanged,
    quarantined: outcome.batch.quarantined,
    deleted: outcome.deleted,
    pushes,
  };
}
