/**
 * Constant Contact connector (v3). Object: `contacts`. Pull follows `_links.next.href` with
 * `updated_after` from the last completed run (status=all, so deleted contacts come back as
 * deletes); push upserts through POST /contacts/sign_up_form or a bulk JSON import activity; delete
 * and erase use DELETE /contacts/{id} (Constant Contact keeps deleted contacts as "deleted").
 */
import { z, type ZodType } from 'zod';
import {
  IntegrationError,
  checkConnection,
  type Connector,
  type ErasureOutcome,
  type ConnectorContext,
  type ConnectorModule,
  type PullPage,
  type PushResult,
  type VendorRecord,
} from '../../connector';
import { parseConfig } from '../shared/config';
import { decodeCursor, encodeCursor } from '../shared/cursor';
import { mapPool } from '../shared/pool';
import { START, advance, isNew, queryFrom, secondsOf } from '../shared/watermark';
import { ConstantContactClient } from './client';
import { constantContactConfigSchema, type ConstantContactConfig } from './config';
import { verifyConstantContactWebhook } from './webhook';

export { constantContactConfigSchema, type ConstantContactConfig } from './config';

const mark = z.object({ ts: z.number().nullable(), seen: z.array(z.string()) });
/**
 * `since`: watermark of the last completed run, which the query filters on; `run`: newest seen so far
 * in this run. The order of a run's pages is not documented, so nothing is filtered by `run` itself.
 */
const cursorSchema = z.object({ since: mark, run: mark, next: z.string().nullable() });

interface Contact {
  contact_id: string;
  email_address?: { address?: string };
  updated_at?: string;
  deleted_at?: string;
  [field: string]: unknown;
}

interface Activity {
  activity_id: string;
  state: string;
  activity_errors?: { message?: string }[];
}

/** Constant Contact imports the first 4 MB of a JSON import body and silently drops the rest. */
const IMPORT_BYTES = 4 * 1024 * 1024;
/** Flat fields a JSON import row takes as they are; the rest is mapped by importRow. */
const IMPORT_FLAT = [
  'first_name',
  'last_name',
  'job_title',
  'company_name',
  'anniversary',
  'birthday_month',
  'birthday_day',
];

const SIGN_UP_FIELDS = [
  'first_name',
  'last_name',
  'job_title',
  'company_name',
  'phone_number',
  'anniversary',
  'birthday_month',
  'birthday_day',
  'custom_fields',
  'street_address',
];

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function emailOf(record: VendorRecord): string {
  const value = record.email_address;
  if (typeof value === 'string') return value.trim();
  if (value && typeof value === 'object' && typeof (value as { address?: unknown }).address === 'string')
    return String((value as { address: string }).address).trim();
  return typeof record.email === 'string' ? record.email.trim() : '';
}

/**
 * A record (sign_up_form / contact shape) as a JSON import row, which has its own shape: `phone`
 * instead of `phone_number`, an address as flat `street`/`city`/`state`/`zip`/`country` fields
 * (`home_`/`work_` prefixed by kind), custom fields as `cf:<name>`. Anything else would be dropped.
 */
export function importRow(
  email: string,
  record: VendorRecord,
  customFieldNames: ReadonlyMap<string, string>,
): { row: Record<string, unknown>; unknownCustomFields: string[] } {
  const row: Record<string, unknown> = { email };
  for (const field of IMPORT_FLAT)
    if (record[field] !== undefined && record[field] !== null) row[field] = record[field];
  const phone =
    typeof record.phone_number === 'string'
      ? record.phone_number
      : Array.isArray(record.phone_numbers)
        ? (record.phone_numbers[0] as { phone_number?: string } | undefined)?.phone_number
        : undefined;
  if (phone) row.phone = phone;
  const address = (record.street_address ??
    (Array.isArray(record.street_addresses) ? record.street_addresses[0] : undefined)) as
    Record<string, unknown> | undefined;
  if (address && typeof address === 'object') {
    const prefix = address.kind === 'work' ? 'work_' : address.kind === 'home' ? 'home_' : '';
    for (const [from, to] of [
      ['street', 'street'],
      ['city', 'city'],
      ['state', 'state'],
      ['postal_code', 'zip'],
      ['country', 'country'],
    ]) {
      if (typeof address[from] === 'string' && address[from]) row[`${prefix}${to}`] = address[from];
    }
  }
  const unknownCustomFields: string[] = [];
  for (const field of Array.isArray(record.custom_fields)
    ? (record.custom_fields as { custom_field_id?: string; name?: string; value?: unknown }[])
    : []) {
    const name = field.name ?? (field.custom_field_id ? customFieldNames.get(field.custom_field_id) : undefined);
    if (name) row[`cf:${name}`] = field.value;
    else unknownCustomFields.push(String(field.custom_field_id));
  }
  return { row, unknownCustomFields };
}

/** Rows in chunks whose import body stays within 4 MB (with `list_ids`), so nothing is dropped. */
export function withinImportLimit<T extends { row: Record<string, unknown> }>(
  rows: readonly T[],
  listIds: readonly string[],
  limit = IMPORT_BYTES,
): T[][] {
  const overhead = Buffer.byteLength(JSON.stringify({ import_data: [], list_ids: listIds }));
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = overhead;
  for (const item of rows) {
    const bytes = Buffer.byteLength(JSON.stringify(item.row)) + 1;
    if (current.length && size + bytes > limit) {
      chunks.push(current);
      current = [];
      size = overhead;
    }
    current.push(item);
    size += bytes;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

function recordFailure(error: unknown): string | undefined {
  if (error instanceof IntegrationError && (error.kind === 'vendor_error' || error.kind === 'not_found'))
    return error.message;
  return undefined;
}

class ConstantContactConnector implements Connector {
  private readonly client: ConstantContactClient;

  constructor(
    private readonly config: ConstantContactConfig,
    private readonly context: ConnectorContext,
  ) {
    this.client = new ConstantContactClient(config, context);
  }

  test() {
    return checkConnection(
      async () =>
        `connected to ${(await this.client.json<{ organization_name?: string }>({ path: '/account/summary' })).organization_name ?? 'account'}`,
    );
  }

  private contactsOnly(object: string, operation: string): void {
    if (object !== 'contacts')
      throw new IntegrationError(
        'constant_contact',
        'invalid_config',
        `${operation} supports the contacts object only, not "${object}"`,
      );
  }

  async pull(object: string, cursor: string | null): Promise<PullPage> {
    this.contactsOnly(object, 'pull');
    const initial = { ts: START.ts, seen: [...START.seen] };
    const state = decodeCursor('constant_contact', cursor, cursorSchema, { since: initial, run: initial, next: null });
    const from = queryFrom(state.since);
    const page = await this.client.json<{ contacts: Contact[]; _links?: { next?: { href?: string } } }>(
      state.next
        ? { path: this.client.nextLink(state.next) }
        : {
            path: '/contacts',
            query: {
              limit: this.config.pageSize,
              status: 'all',
              include: 'list_memberships',
              updated_after: from === null ? undefined : iso(from),
            },
          },
    );
    const changed = (c: Contact) => secondsOf(c.deleted_at ?? c.updated_at) ?? 0;
    const fresh = page.contacts.filter((c) => isNew(state.since, c.contact_id, changed(c)));
    const run = advance(
      state.run,
      fresh.map((c) => ({ id: c.contact_id, changedMs: changed(c) })),
    );
    const next = page._links?.next?.href ?? null;
    const nextState = next ? { since: state.since, run, next } : { since: run, run, next: null };
    return {
      records: fresh.filter((c) => !c.deleted_at),
      deletedIds: fresh.filter((c) => c.deleted_at).map((c) => c.contact_id),
      cursor: encodeCursor(nextState),
      done: next === null,
    };
  }

  async push(object: string, records: readonly VendorRecord[]): Promise<PushResult> {
    this.contactsOnly(object, 'push');
    const failed: { key: string; reason: string }[] = [];
    const valid: { email: string; record: VendorRecord; lists: string[] }[] = [];
    records.forEach((record, index) => {
      const email = emailOf(record);
      const lists = Array.isArray(record.list_memberships) ? record.list_memberships.map(String) : this.config.listIds;
      if (!email) failed.push({ key: `#${index}`, reason: 'email_address is required' });
      else if (lists.length === 0)
        failed.push({
          key: email,
          reason: 'no list to join: set listIds in the config or list_memberships on the record',
        });
      else valid.push({ email, record, lists });
    });
    const upserted =
      valid.length >= this.config.bulkThreshold
        ? await this.pushBulk(valid, failed)
        : await this.pushEach(valid, failed);
    return { upserted, failed };
  }

  private async pushEach(
    contacts: { email: string; record: VendorRecord; lists: string[] }[],
    failed: { key: string; reason: string }[],
  ): Promise<number> {
    const ok = await mapPool(contacts, 2, async ({ email, record, lists }) => {
      const body: Record<string, unknown> = { email_address: email, list_memberships: lists };
      for (const field of SIGN_UP_FIELDS) if (record[field] !== undefined) body[field] = record[field];
      try {
        await this.client.request({ method: 'POST', path: '/contacts/sign_up_form', json: body });
        return true;
      } catch (error) {
        const reason = recordFailure(error);
        if (reason === undefined) throw error;
        failed.push({ key: email, reason });
        return false;
      }
    });
    return ok.filter(Boolean).length;
  }

  private async pushBulk(
    contacts: { email: string; record: VendorRecord; lists: string[] }[],
    failed: { key: string; reason: string }[],
  ): Promise<number> {
    const sleep = this.context.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let upserted = 0;
    // One activity per distinct set of lists, in chunks the import accepts.
    const groups = new Map<string, typeof contacts>();
    for (const contact of contacts) {
      const key = [...contact.lists].sort().join(',');
      groups.set(key, [...(groups.get(key) ?? []), contact]);
    }
    const names = contacts.some((c) => Array.isArray(c.record.custom_fields))
      ? await this.customFieldNames()
      : new Map<string, string>();
    for (const group of groups.values()) {
      const rows: { email: string; row: Record<string, unknown> }[] = [];
      for (const { email, record } of group) {
        const { row, unknownCustomFields } = importRow(email, record, names);
        if (unknownCustomFields.length)
          failed.push({
            key: email,
            reason: `custom field(s) ${unknownCustomFields.join(', ')} do not exist in the account`,
          });
        else rows.push({ email, row });
      }
      const lists = group[0].lists;
      for (let start = 0; start < rows.length; start += this.config.bulkSize) {
        for (const chunk of withinImportLimit(rows.slice(start, start + this.config.bulkSize), lists)) {
          // Imports upsert by email, so a retried submission changes nothing twice.
          let activity = await this.client.json<Activity>({
            method: 'POST',
            path: '/activities/contacts_json_import',
            json: { import_data: chunk.map((c) => c.row), list_ids: lists },
          });
          const deadline = Date.now() + this.config.bulkTimeoutMs;
          while (!['completed', 'cancelled', 'failed', 'timed_out'].includes(activity.state)) {
            if (Date.now() > deadline)
              throw new IntegrationError(
                'constant_contact',
                'unavailable',
                `import activity ${activity.activity_id} not finished after ${this.config.bulkTimeoutMs} ms (state ${activity.state})`,
              );
            await sleep(this.config.bulkPollMs);
            activity = await this.client.json<Activity>({ path: `/activities/${activity.activity_id}` });
          }
          if (activity.state !== 'completed')
            throw new IntegrationError(
              'constant_contact',
              'vendor_error',
              `import activity ${activity.activity_id} ended ${activity.state}`,
            );
          const failedLines = new Set<number>();
          for (const error of activity.activity_errors ?? []) {
            const message = error.message ?? 'import error';
            const line = Number(/Line (\d+)/i.exec(message)?.[1] ?? NaN);
            const contact = chunk[line - 1];
            if (contact) failedLines.add(line);
            failed.push({ key: contact?.email ?? `activity ${activity.activity_id}`, reason: message });
          }
          upserted += chunk.length - failedLines.size;
        }
      }
    }
    return upserted;
  }

  /** Custom field names by id, which imports need (`cf:<name>`) where contacts carry ids. */
  private async customFieldNames(): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    let path: string = '/contact_custom_fields';
    for (;;) {
      const page = await this.client.json<{
        custom_fields: { custom_field_id: string; name: string }[];
        _links?: { next?: { href?: string } };
      }>({ path, query: path.startsWith('/') ? { limit: 100 } : undefined });
      for (const field of page.custom_fields) names.set(field.custom_field_id, field.name);
      if (!page._links?.next?.href) return names;
      path = this.client.nextLink(page._links.next.href);
    }
  }

  async delete(object: string, ids: readonly string[]): Promise<void> {
    this.contactsOnly(object, 'delete');
    // 404: already deleted or unknown, which is the state delete asks for.
    await mapPool(ids, 2, (id) =>
      this.client.request({ method: 'DELETE', path: `/contacts/${encodeURIComponent(id)}`, accept: [404] }),
    );
  }

  async erase(email: string): Promise<ErasureOutcome> {
    const found = await this.client.json<{ contacts: Contact[] }>({
      path: '/contacts',
      query: { email, status: 'all', limit: 50 },
    });
    const live = found.contacts.filter((c) => !c.deleted_at).map((c) => c.contact_id);
    await this.delete('contacts', live);
    return {
      permanent: false,
      ids: found.contacts.map((c) => c.contact_id),
      reason:
        'Constant Contact keeps deleted contacts (status deleted, with their email); its v3 API has no permanent delete',
    };
  }
}

export const constantContact: ConnectorModule<ConstantContactConfig> = {
  system: 'constant_contact',
  family: 'marketing',
  // Input may omit defaulted fields; ZodType<C> alone would demand the parsed shape as input too.
  configSchema: constantContactConfigSchema as unknown as ZodType<ConstantContactConfig>,
  create: (config, context = {}) =>
    new ConstantContactConnector(parseConfig('constant_contact', constantContactConfigSchema, config), context),
  verifyWebhook: (config, request) => verifyConstantContactWebhook(config, request),
};
