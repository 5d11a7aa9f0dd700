/**
 * Meta's data deletion request callback, after the webhook route verified its `signed_request` and
 * answered with the status URL and confirmation code (integrations/social/meta/webhook.ts): the person
 * is named by an app-scoped user id, so every subject linked to that id (meta-app-users.ts: ids seen on
 * ingested records, and synced Meta records carrying it as `user_id` or `from.id`) is erased through the
 * GDPR erasure (this store, then every vendor), the links are forgotten, and the outcome is recorded under
 * the confirmation code for the status URL to show.
 */
import type { Db } from '@data-sync/pipelines/db';
import type { PipelinesApi } from '../api/deps';
import { writeAudit } from '../store/audit-repository';
import { META_SYSTEMS, appUserEmails } from './meta-app-users';

export interface MetaDeletion {
  readonly userId: string;
  readonly confirmationCode: string;
}

export interface MetaDeletionStatus {
  readonly confirmationCode: string;
  /** `pending` until the request has been processed (also for a code this service never issued). */
  readonly status: 'pending' | 'completed';
  readonly subjectsErased?: number;
  readonly completedAt?: string;
}

const statusTarget = (code: string) => `meta-deletion:${code}`;

/** Emails of the subjects linked to `userId`, and of those whose Meta records (raw replica) name it. */
async function linkedEmails(db: Db, userId: string): Promise<string[]> {
  const { rows } = await db.query<{ data: Record<string, unknown> }>(
    `SELECT r.data FROM synced_records r JOIN integrations i ON i.name = r.integration
     WHERE i.system = ANY($1::text[]) AND (r.data->>'user_id' = $2 OR r.data->'from'->>'id' = $2)`,
    [META_SYSTEMS, userId],
  );
  const emails = new Set<string>(await appUserEmails(db, userId));
  for (const { data } of rows) {
    const answers = data.answers as Record<string, unknown> | undefined;
    const email = answers?.email ?? data.email;
    if (typeof email === 'string' && email.includes('@')) emails.add(email.trim().toLowerCase());
  }
  return [...emails];
}

/**
 * Erases the subjects linked to the request (each erasure queues its vendor erasures) and records the
 * outcome once: a redelivered request finds its record and does nothing again.
 */
export async function processMetaDeletion(
  deps: {
    db: Db;
    pipelines: Pick<PipelinesApi, 'eraseSubject'>;
    /** Integrations asked to erase each subject. */
    vendors: () => Promise<string[]>;
    /** Queues the 'erasure' jobs that send the vendor erasures. */
    queueErasures: (integrations: readonly string[]) => Promise<void>;
  },
  integration: string,
  request: MetaDeletion,
): Promise<number> {
  if ((await metaDeletionStatus(deps.db, request.confirmationCode)).status === 'completed') return 0;
  const emails = await linkedEmails(deps.db, request.userId);
  const vendors = await deps.vendors();
  const queued = new Set<string>();
  for (const email of emails) {
    const result = await deps.pipelines.eraseSubject(deps.db, email, {
      actor: `meta:data_deletion:${integration}`,
      vendors,
    });
    for (const name of result.vendorErasures) queued.add(name);
  }
  // Queued before the outcome is recorded: a crash in between erases again (harmless) rather than never.
  await deps.queueErasures([...queued]);
  await deps.db.query('DELETE FROM meta_app_users WHERE app_user_id = $1', [request.userId]);
  // The proof names neither the user id nor the emails: the code is what the person holds.
  await writeAudit(deps.db, {
    actor: `webhook:${integration}`,
    action: 'meta.data_deletion',
    target: statusTarget(request.confirmationCode),
    outcome: 'completed',
    details: { subjectsErased: emails.length },
  });
  return emails.length;
}

export async function metaDeletionStatus(db: Db, code: string): Promise<MetaDeletionStatus> {
  const { rows } = await db.query<{ details: { subjectsErased?: number }; at: Date | string }>(
    `SELECT details, at FROM audit_log WHERE action = 'meta.data_deletion' AND target = $1 ORDER BY at LIMIT 1`,
    [statusTarget(code)],
  );
  if (rows.length === 0) return { confirmationCode: code, status: 'pending' };
  return {
    confirmationCode: code,
    status: 'completed',
    subjectsErased: rows[0].details.subjectsErased ?? 0,
    completedAt: new Date(rows[0].at).toISOString(),
  };
}
