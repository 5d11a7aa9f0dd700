/**
 * Which subjects an app-scoped Meta user id (the `user_id` a data deletion request's `signed_request`
 * names) belongs to. Lead Ads leads carry no user id, so the link is learnt where one arrives with a
 * person's email: records ingested for a Facebook or Instagram integration (a site's Facebook Login
 * posting its users through `/api/pipelines/ingest`) carrying `user_id`, `app_scoped_user_id` or
 * `from.id`. Only the subject hash is kept, never the email: the deletion resolves it to the contacts
 * of that hash, so a subject already erased leaves nothing behind to find.
 */
import { subjectHash } from '@data-sync/pipelines/privacy';
import type { Db, Migration, Queryable } from '@data-sync/pipelines/db';
import type { PipelinesApi } from '../api/deps';

export const META_SYSTEMS = ['facebook', 'instagram'];

export const META_APP_USER_MIGRATIONS: readonly Migration[] = [
  {
    id: '450_meta_app_users',
    sql: `
      -- App-scoped Meta user ids seen with a subject (its sha256 subject hash), for data deletion requests.
      CREATE TABLE meta_app_users (
        app_user_id text NOT NULL,
        integration text NOT NULL,
        subject_hash text NOT NULL,
        seen_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (app_user_id, integration, subject_hash)
      );`,
  },
];

const ASID = /^\d{1,32}$/;
type Json = Record<string, unknown>;
const asObject = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/** The app-scoped id and the email a record names, when it names both. */
export function appUserOf(record: Json): { appUserId: string; email: string } | undefined {
  const candidates = [record.user_id, record.app_scoped_user_id, asObject(record.from).id];
  const appUserId = candidates.map((c) => (typeof c === 'number' ? String(c) : c)).find((c) => typeof c === 'string');
  const answers = asObject(record.answers);
  const fieldEmail = Array.isArray(record.field_data)
    ? (record.field_data as { name?: unknown; values?: unknown[] }[]).find((f) => f?.name === 'email')?.values?.[0]
    : undefined;
  const email = [answers.email, record.email, fieldEmail].find((e) => typeof e === 'string' && e.includes('@'));
  if (typeof appUserId !== 'string' || !ASID.test(appUserId) || typeof email !== 'string') return undefined;
  return { appUserId, email: email.trim().toLowerCase() };
}

/** Stores the links the records of a Meta integration carry; returns how many records had one. */
export async function recordMetaAppUsers(
  db: Queryable,
  integration: string,
  records: readonly Json[],
): Promise<number> {
  const links = records.map(appUserOf).filter((l): l is NonNullable<typeof l> => l !== undefined);
  if (links.length === 0) return 0;
  const { rows } = await db.query<{ system: string }>('SELECT system FROM integrations WHERE name = $1', [integration]);
  if (!META_SYSTEMS.includes(rows[0]?.system ?? '')) return 0;
  await db.query(
    `INSERT INTO meta_app_users (app_user_id, integration, subject_hash)
     SELECT u.a, $1, u.s FROM unnest($2::text[], $3::text[]) AS u(a, s)
     ON CONFLICT (app_user_id, integration, subject_hash) DO UPDATE SET seen_at = now()`,
    [integration, links.map((l) => l.appUserId), links.map((l) => subjectHash(l.email))],
  );
  return links.length;
}

/** `pipelines` whose batches (ingested records) also record the Meta app-scoped ids they carry. */
export function withMetaAppUsers<P extends Pick<PipelinesApi, 'runBatch'>>(pipelines: P): P {
  return {
    ...pipelines,
    async runBatch(db, input) {
      await recordMetaAppUsers(db, input.integration, input.records);
      return pipelines.runBatch(db, input);
    },
  };
}

/** Emails of the contacts whose subject hash is linked to `appUserId`. */
export async function appUserEmails(db: Db, appUserId: string): Promise<string[]> {
  const { rows } = await db.query<{ email: string }>(
    `SELECT DISTINCT c.email FROM meta_app_users m
     JOIN contacts c ON encode(sha256(convert_to(lower(trim(c.email)), 'UTF8')), 'hex') = m.subject_hash
     WHERE m.app_user_id = $1`,
    [appUserId],
  );
  return rows.map((r) => r.email);
}
