/**
 * The design document's "Mailchimp Subscriber Sync": every 15 minutes, users created in the last 15
 * minutes are added to the Mailchimp `newsletter` list. Users who opted out under CCPA are skipped;
 * the rest go through the `internal_to_mailchimp.User` mapping and the Mailchimp connector's upsert
 * (PUT by subscriber hash with status_if_new), so an overlapping or repeated run changes nothing twice.
 */
import type { Connector, PushResult, VendorRecord } from '../connector';
import { ident, type Queryable } from '../../pipelines/db';
import { filterOptedOut, recordPushes, transformRecords } from '../../pipelines';

export interface NewUsersToMailchimpOptions {
  readonly db: Queryable;
  /** A Mailchimp connector (integrations/marketing/mailchimp). */
  readonly mailchimp: Connector;
  /** Audience name (sync object). */
  readonly list?: string;
  /** Users created within this many minutes before `now` are selected (the design document: 15). */
  readonly windowMinutes?: number;
  readonly usersTable?: string;
  readonly now?: Date;
}

export interface NewUsersToMailchimpResult {
  readonly selected: number;
  readonly optedOut: number;
  readonly push: PushResult;
}

/** A mapped user (`FNAME`, `LNAME`, `email_address`, `signup_date`) as a Mailchimp list member. */
export function toMember(mapped: Record<string, unknown>): VendorRecord {
  const mergeFields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(mapped)) if (/^[A-Z][A-Z0-9_]*$/.test(key) && value !== null && value !== undefined) mergeFields[key] = value;
  const signup = mapped.signup_date;
  const signupMs = signup instanceof Date ? signup.getTime() : typeof signup === 'string' ? Date.parse(signup) : NaN;
  return {
    email_address: mapped.email_address,
    merge_fields: mergeFields,
    ...(Number.isNaN(signupMs) ? {} : { timestamp_signup: new Date(signupMs).toISOString() }),
  };
}

export async function syncNewUsersToMailchimp(options: NewUsersToMailchimpOptions): Promise<NewUsersToMailchimpResult> {
  const windowMinutes = options.windowMinutes ?? 15;
  if (!(windowMinutes > 0)) throw new Error(`windowMinutes must be > 0, got ${windowMinutes}`);
  const now = options.now ?? new Date();
  // The design document's query, with the clock as a parameter so a run can be replayed for a given time.
  const { rows } = await options.db.query<Record<string, unknown>>(
    `SELECT * FROM ${ident(options.usersTable ?? 'users')} WHERE created_at > $1::timestamptz - make_interval(mins => $2::int) AND created_at <= $1::timestamptz ORDER BY created_at, email`,
    [now.toISOString(), windowMinutes],
  );
  const allowed = await filterOptedOut(options.db, 'marketing', rows, 'email');
  const members = transformRecords('internal_to_mailchimp.User', allowed).map(toMember);
  const push = members.length > 0 ? await options.mailchimp.push(options.list ?? 'newsletter', members) : { upserted: 0, failed: [] };
  const failedKeys = new Set(push.failed.map((f) => String(f.key).toLowerCase()));
  const pushed = allowed.filter((u) => typeof u.email === 'string' && u.email.trim() !== '' && !failedKeys.has(u.email.trim().toLowerCase()));
  // Remembered so the members pulled back from Mailchimp are not taken for new changes.
  await recordPushes(options.db, 'mailchimp', pushed);
  return { selected: rows.length, optedOut: rows.length - allowed.length, push };
}
