/**
 * Mailchimp connector. Objects are audiences (lists) by name ("newsletter"); records are list members.
 * Pull: GET /lists/{id}/members sorted by last_changed with since_last_changed, then the same with
 * status=archived, whose members are reported as deletes (whether an unfiltered list includes archived
 * members is not documented, so the first pass ignores them and the second is the only source of deletes). Push: PUT /lists/{id}/members/{md5(lower(email))} with status_if_new, or
 * POST /batches for large pushes. Delete archives; erase permanently deletes from every audience.
 */
import { z, type ZodType } from 'zod';
import {
  IntegrationError,
  checkConnection,
  type Connector,
  type ConnectorContext,
  type ConnectorModule,
  type PullPage,
  type PushResult,
  type VendorRecord,
} from '../../connector';
import { parseConfig } from '../shared/config';
import { decodeCursor, encodeCursor } from '../shared/cursor';
import { mapPool } from '../shared/pool';
import { START, advance, isNew, queryFrom, secondsOf, type Watermark } from '../shared/watermark';
import { readBatchResults } from './batch-results';
import { MailchimpClient, mailchimpErrorMessage, subscriberHash } from './client';
import { mailchimpConfigSchema, type MailchimpConfig } from './config';
import { verifyMailchimpWebhook } from './webhook';

export { mailchimpConfigSchema, type MailchimpConfig } from './config';
export { subscriberHash } from './client';

const mark = z.object({ ts: z.number().nullable(), seen: z.array(z.string()) });
/** The members watermark, and the archived members' (absent in cursors written before deletes had their own pass). */
const cursorSchema = mark.extend({
  phase: z.enum(['members', 'archived']).default('members'),
  archived: mark.optional(),
});

interface Member {
  id: string;
  email_address: string;
  status: string;
  last_changed: string;
  [field: string]: unknown;
}

interface Batch {
  id: string;
  status: string;
  response_body_url: string;
}

/** A vendor 4xx about one record is that record's failure; anything else fails the whole call. */
function recordFailure(error: unknown): string | undefined {
  if (error instanceof IntegrationError && (error.kind === 'vendor_error' || error.kind === 'not_found'))
    return error.message;
  return undefined;
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', '+00:00');
}

class MailchimpConnector implements Connector {
  private readonly client: MailchimpClient;

  constructor(
    private readonly config: MailchimpConfig,
    private readonly context: ConnectorContext,
  ) {
    this.client = new MailchimpClient(config, context);
  }

  test() {
    return checkConnection(
      async () => (await this.client.json<{ health_status?: string }>({ path: '/ping' })).health_status ?? 'connected',
    );
  }

  async pull(object: string, cursor: string | null): Promise<PullPage> {
    const listId = await this.client.listId(object);
    const state = decodeCursor('mailchimp', cursor, cursorSchema, { ...START, seen: [], phase: 'members' as const });
    const members: Watermark = { ts: state.ts, seen: state.seen };
    // A full sync reports deletes from its start on: older ones concern members it never read.
    const archivedMark: Watermark =
      state.archived ?? (cursor === null ? { ts: Math.floor(Date.now() / 1000) * 1000, seen: [] } : START);
    if (state.phase === 'archived') return this.archivedPass(listId, members, archivedMark, []);
    const page = await this.changedSince(listId, members, undefined);
    const records = page.fresh.filter((m) => m.status !== 'archived');
    if (!page.last)
      return {
        records,
        deletedIds: [],
        cursor: encodeCursor({ ...page.mark, phase: 'members', archived: archivedMark }),
        done: false,
      };
    return this.archivedPass(listId, page.mark, archivedMark, records);
  }

  /** Members changed after `mark` (with `status` when given), skipping those already emitted. */
  private async changedSince(
    listId: string,
    mark: Watermark,
    status: 'archived' | undefined,
  ): Promise<{ fresh: Member[]; mark: Watermark; last: boolean }> {
    const from = queryFrom(mark);
    const count = this.config.pageSize;
    let raw: Member[] = [];
    let fresh: Member[] = [];
    // Ask again further along only when a whole page was already emitted (many records in one second).
    for (let offset = 0; ; offset += count) {
      const page = await this.client.json<{ members: Member[] }>({
        path: `/lists/${listId}/members`,
        query: {
          count,
          offset,
          status,
          sort_field: 'last_changed',
          sort_dir: 'ASC',
          since_last_changed: from === null ? undefined : iso(from),
        },
      });
      raw = page.members;
      fresh = raw.filter((m) => isNew(mark, m.id, secondsOf(m.last_changed) ?? 0));
      if (fresh.length > 0 || raw.length < count) break;
    }
    return {
      fresh,
      mark: advance(
        mark,
        fresh.map((m) => ({ id: m.id, changedMs: secondsOf(m.last_changed) ?? 0 })),
      ),
      last: raw.length < count,
    };
  }

  private async archivedPass(
    listId: string,
    members: Watermark,
    archived: Watermark,
    records: Member[],
  ): Promise<PullPage> {
    const page = await this.changedSince(listId, archived, 'archived');
    return {
      records,
      deletedIds: page.fresh.map((m) => m.id),
      cursor: encodeCursor({ ...members, phase: page.last ? 'members' : 'archived', archived: page.mark }),
      done: page.last,
    };
  }

  async push(object: string, records: readonly VendorRecord[]): Promise<PushResult> {
    const listId = await this.client.listId(object);
    const failed: { key: string; reason: string }[] = [];
    const valid: { email: string; body: Record<string, unknown> }[] = [];
    records.forEach((record, index) => {
      const email = typeof record.email_address === 'string' ? record.email_address.trim() : '';
      if (!email) failed.push({ key: `#${index}`, reason: 'email_address is required' });
      else
        valid.push({
          email,
          body: { ...record, email_address: email, status_if_new: record.status_if_new ?? this.config.statusIfNew },
        });
    });
    const upserted =
      valid.length >= this.config.batchThreshold
        ? await this.pushBatches(listId, valid, failed)
        : await this.pushEach(listId, valid, failed);
    return { upserted, failed };
  }

  private async pushEach(
    listId: string,
    members: { email: string; body: Record<string, unknown> }[],
    failed: { key: string; reason: string }[],
  ): Promise<number> {
    const ok = await mapPool(members, this.config.maxConnections, async ({ email, body }) => {
      try {
        await this.client.request({
          method: 'PUT',
          path: `/lists/${listId}/members/${subscriberHash(email)}`,
          json: body,
        });
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

  private async pushBatches(
    listId: string,
    members: { email: string; body: Record<string, unknown> }[],
    failed: { key: string; reason: string }[],
  ): Promise<number> {
    let upserted = 0;
    for (let start = 0; start < members.length; start += this.config.batchSize) {
      const chunk = members.slice(start, start + this.config.batchSize);
      const operations = chunk.map(({ email, body }, i) => ({
        method: 'PUT',
        path: `/lists/${listId}/members/${subscriberHash(email)}`,
        operation_id: String(i),
        body: JSON.stringify(body),
      }));
      // The operations are idempotent PUTs, so a retried submission cannot double-apply anything.
      let batch = await this.client.json<Batch>({ method: 'POST', path: '/batches', json: { operations } });
      const deadline = Date.now() + this.config.batchTimeoutMs;
      const sleep = this.context.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
      while (batch.status !== 'finished') {
        if (Date.now() > deadline)
          throw new IntegrationError(
            'mailchimp',
            'unavailable',
            `batch ${batch.id} not finished after ${this.config.batchTimeoutMs} ms (status ${batch.status})`,
          );
        await sleep(this.config.batchPollMs);
        batch = await this.client.json<Batch>({ path: `/batches/${batch.id}` });
      }
      for (const result of await this.batchResults(batch)) {
        const member = chunk[Number(result.operation_id)];
        if (!member) continue;
        if (result.status_code >= 200 && result.status_code < 300) upserted += 1;
        else {
          let body: unknown = result.response;
          try {
            body = JSON.parse(result.response);
          } catch {
            // Not JSON: the raw text is the reason.
          }
          failed.push({
            key: member.email,
            reason: `${result.status_code}: ${mailchimpErrorMessage(body) ?? 'failed'}`,
          });
        }
      }
    }
    return upserted;
  }

  /** The results archive is a pre-signed download, fetched without the API's credentials. */
  private async batchResults(batch: Batch) {
    const fetchImpl = this.context.fetch ?? fetch;
    const response = await fetchImpl(batch.response_body_url).catch((error: Error) => {
      throw new IntegrationError(
        'mailchimp',
        'unavailable',
        `batch ${batch.id} results download failed: ${error.message}`,
      );
    });
    if (!response.ok)
      throw new IntegrationError(
        'mailchimp',
        'unavailable',
        `batch ${batch.id} results download answered ${response.status}`,
        response.status,
      );
    try {
      return readBatchResults(Buffer.from(await response.arrayBuffer()));
    } catch (error) {
      throw new IntegrationError(
        'mailchimp',
        'vendor_error',
        `batch ${batch.id} results archive unreadable: ${(error as Error).message}`,
      );
    }
  }

  async delete(object: string, ids: readonly string[]): Promise<void> {
    const listId = await this.client.listId(object);
    // 404: already archived or never there, which is the state delete asks for.
    await mapPool(ids, this.config.maxConnections, (id) =>
      this.client.request({
        method: 'DELETE',
        path: `/lists/${listId}/members/${encodeURIComponent(id)}`,
        accept: [404],
      }),
    );
  }

  async erase(email: string): Promise<void> {
    const hash = subscriberHash(email);
    const lists = await this.client.allLists();
    await mapPool(lists, this.config.maxConnections, (list) =>
      this.client.request({
        method: 'POST',
        path: `/lists/${list.id}/members/${hash}/actions/delete-permanent`,
        accept: [404],
      }),
    );
  }
}

export const mailchimp: ConnectorModule<MailchimpConfig> = {
  system: 'mailchimp',
  family: 'marketing',
  // Input may omit defaulted fields; ZodType<C> alone would demand the parsed shape as input too.
  configSchema: mailchimpConfigSchema as unknown as ZodType<MailchimpConfig>,
  create: (config, context = {}) =>
    new MailchimpConnector(parseConfig('mailchimp', mailchimpConfigSchema, config), context),
  verifyWebhook: (config, request) => verifyMailchimpWebhook(config, request),
};
