/**
 * The Meta Lead Ads and Custom Audiences connector, shared by Facebook and Instagram (whose Lead Ads
 * land in the linked Page's forms, told apart by the lead's `platform`). Objects:
 * - `leads` in: every form's `/{form-id}/leads`, filtered by `time_created` from the look-back window
 *   behind the watermark of the previous complete run (a lead listed late is still pulled, once), paged
 *   by `paging.cursors.after`; the form answers are flattened into
 *   `answers` for the inbound mapping. Meta reports no deletes: `listIds` serves the sweep.
 * - `custom_audience` out: contacts as hashed members of the configured customer-list audience
 *   (`POST /{audience-id}/users`); erasure removes the member (`DELETE`) and deletes the subject's leads.
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
import { parseConfig } from '../../marketing/shared/config';
import { decodeCursor, encodeCursor } from '../../marketing/shared/cursor';
import { mapPool } from '../../marketing/shared/pool';
import { START, advance, isNew, queryFrom, secondsOf } from '../../marketing/shared/watermark';
import { hashMembers, normalizeEmail, sha256, type HashedMember } from './audience';
import { metaConfigSchema, type MetaConfig } from './config';
import { GraphClient, type GraphPage } from './graph';
import { readMetaInsights } from './insights';
import { pullInsights } from '../insights';
import { metaHandshake, verifyMetaWebhook } from './webhook';

export const LEAD_FIELDS = 'id,created_time,field_data,form_id,ad_id,adset_id,campaign_id,is_organic,platform';

// `recent` (the look-back window's versions) is optional: cursors written before the window lack it.
const markSchema = z.object({
  ts: z.number().nullable(),
  seen: z.array(z.string()),
  recent: z.record(z.string(), z.number()).optional(),
});
const cursorSchema = z.object({
  mark: markSchema,
  run: z.object({ mark: markSchema, forms: z.array(z.string()), after: z.string().nullable() }).nullable(),
});

export interface MetaLead {
  id: string;
  created_time: string;
  field_data?: { name: string; values: string[] }[];
  platform?: string;
  [key: string]: unknown;
}

/** The standard questions' answers by name (`email`, `first_name`, ...), first value each. */
export function leadAnswers(lead: MetaLead): Record<string, string> {
  const answers: Record<string, string> = {};
  for (const field of lead.field_data ?? []) {
    const value = field?.values?.[0];
    if (typeof field?.name === 'string' && typeof value === 'string' && !(field.name in answers))
      answers[field.name] = value;
  }
  if (answers.full_name && !answers.first_name && !answers.last_name) {
    const [first, ...rest] = answers.full_name.trim().split(/\s+/);
    answers.first_name = first;
    if (rest.length) answers.last_name = rest.join(' ');
  }
  return answers;
}

export interface MetaVariant {
  readonly system: 'facebook' | 'instagram';
  /** Webhook `object` values accepted. */
  readonly objects: readonly string[];
  /** Whether a lead belongs to this integration, by its `platform` (`fb`, `ig`, `messenger`). */
  readonly ownsLead: (platform: string | undefined) => boolean;
}

class MetaConnector implements Connector {
  private readonly graph: GraphClient;

  constructor(
    private readonly variant: MetaVariant,
    private readonly config: MetaConfig,
    private readonly context: ConnectorContext,
  ) {
    this.graph = new GraphClient(variant.system, config, context);
  }

  test() {
    return checkConnection(async () => {
      const page = await this.graph.call<{ id: string; name?: string }>({
        path: `/${this.config.pageId}`,
        query: { fields: 'id,name' },
      });
      return `connected to page ${page.name ?? page.id}`;
    });
  }

  private requireObject(object: string, allowed: string): void {
    if (object !== allowed)
      throw new IntegrationError(
        this.variant.system,
        'invalid_config',
        `unknown object "${object}": ${this.variant.system} pulls leads and metrics and pushes custom_audience`,
      );
  }

  private async forms(): Promise<string[]> {
    if (this.config.formIds.length) return [...this.config.formIds];
    const ids: string[] = [];
    for await (const form of this.graph.all<{ id: string }>(`/${this.config.pageId}/leadgen_forms`, {
      fields: 'id',
      limit: 100,
    }))
      ids.push(form.id);
    return ids;
  }

  async pull(object: string, cursor: string | null): Promise<PullPage> {
    if (object === 'metrics')
      return pullInsights(
        this.variant.system,
        cursor,
        this.context.now?.() ?? Date.now(),
        { lookBackDays: this.config.insightsLookBackDays, firstDays: this.config.insightsFirstDays },
        (window) => readMetaInsights(this.variant.system, this.graph, this.config, window),
      );
    this.requireObject(object, 'leads');
    const state = decodeCursor(this.variant.system, cursor, cursorSchema, { mark: { ...START, seen: [] }, run: null });
    const run = state.run ?? { mark: state.mark, forms: await this.forms(), after: null };
    if (run.forms.length === 0)
      return { records: [], deletedIds: [], cursor: encodeCursor({ mark: run.mark, run: null }), done: true };
    const from = queryFrom(state.mark);
    const filtering =
      from === null
        ? undefined
        : JSON.stringify([{ field: 'time_created', operator: 'GREATER_THAN', value: Math.floor(from / 1000) }]);
    const page = await this.graph.call<GraphPage<MetaLead>>({
      path: `/${run.forms[0]}/leads`,
      query: { fields: LEAD_FIELDS, limit: this.config.pageSize, filtering, after: run.after ?? undefined },
    });
    const createdMs = (lead: MetaLead) => secondsOf(lead.created_time) ?? 0;
    const fresh = (page.data ?? []).filter(
      (lead) => this.variant.ownsLead(lead.platform) && isNew(state.mark, lead.id, createdMs(lead)),
    );
    const mark = advance(
      run.mark,
      fresh.map((lead) => ({ id: lead.id, changedMs: createdMs(lead) })),
    );
    const after = page.paging?.next ? (page.paging.cursors?.after ?? null) : null;
    const forms = after === null ? run.forms.slice(1) : run.forms;
    const done = forms.length === 0;
    // The watermark moves only once every form is read: Meta lists each form's leads newest first.
    const next = done ? { mark, run: null } : { mark: state.mark, run: { mark, forms, after } };
    return {
      records: fresh.map((lead) => ({ ...lead, answers: leadAnswers(lead) })),
      deletedIds: [],
      cursor: encodeCursor(next),
      done,
    };
  }

  async *listIds(object: string): AsyncIterable<string> {
    this.requireObject(object, 'leads');
    for (const form of await this.forms()) {
      for await (const lead of this.graph.all<MetaLead>(`/${form}/leads`, { fields: 'id,platform', limit: 500 }))
        if (this.variant.ownsLead(lead.platform)) yield lead.id;
    }
  }

  private audience(): string {
    if (!this.config.audienceId)
      throw new IntegrationError(
        this.variant.system,
        'invalid_config',
        'audienceId is not configured, so there is no custom audience to push to',
      );
    return this.config.audienceId;
  }

  /** Adds (POST) or removes (DELETE) members, at most audienceBatchSize per call. */
  private async members(
    method: 'POST' | 'DELETE',
    members: readonly HashedMember[],
  ): Promise<{ received: number; invalid: number }> {
    const audience = this.audience();
    let received = 0;
    let invalid = 0;
    for (let start = 0; start < members.length; start += this.config.audienceBatchSize) {
      const chunk = members.slice(start, start + this.config.audienceBatchSize);
      const payload = {
        schema: ['EMAIL', 'FN', 'LN', 'PHONE'],
        data: chunk.map((m) => [m.email, m.firstName ?? '', m.lastName ?? '', m.phone ?? '']),
      };
      // Adding or removing the same members again changes nothing, so the call may be retried.
      const answer = await this.graph.call<{ num_received?: number; num_invalid_entries?: number }>({
        method,
        path: `/${audience}/users`,
        form: { payload: JSON.stringify(payload) },
      });
      received += answer.num_received ?? chunk.length;
      invalid += answer.num_invalid_entries ?? 0;
    }
    return { received, invalid };
  }

  async push(object: string, records: readonly VendorRecord[]): Promise<PushResult> {
    this.requireObject(object, 'custom_audience');
    const { members, failed } = hashMembers(records);
    if (members.length === 0) return { upserted: 0, failed };
    const { received, invalid } = await this.members('POST', members);
    // Meta counts invalid entries without naming them; they are reported as one failure.
    if (invalid > 0)
      failed.push({
        key: `${invalid} of ${received}`,
        reason: 'Meta rejected these entries as invalid (num_invalid_entries)',
      });
    return { upserted: received - invalid, failed };
  }

  async delete(object: string, ids: readonly string[]): Promise<void> {
    this.requireObject(object, 'leads');
    await mapPool(ids, 4, (id) => this.graph.call({ method: 'DELETE', path: `/${id}`, accept: [404] }));
  }

  /** Removes the subject from the audience and deletes every lead of theirs from the forms. */
  async erase(email: string): Promise<void> {
    const normalized = normalizeEmail(email);
    if (!normalized) throw new IntegrationError(this.variant.system, 'invalid_config', 'erase needs an email address');
    const leads: string[] = [];
    for (const form of await this.forms()) {
      for await (const lead of this.graph.all<MetaLead>(`/${form}/leads`, {
        fields: 'id,field_data,platform',
        limit: 500,
      })) {
        if (this.variant.ownsLead(lead.platform) && normalizeEmail(leadAnswers(lead).email) === normalized)
          leads.push(lead.id);
      }
    }
    if (this.config.audienceId) await this.members('DELETE', [{ key: normalized, email: sha256(normalized) }]);
    await this.delete('leads', leads);
  }
}

/** The ConnectorModule of one Meta surface. */
export function metaModule(variant: MetaVariant): ConnectorModule<MetaConfig> {
  return {
    system: variant.system,
    family: 'social',
    configSchema: metaConfigSchema as unknown as ZodType<MetaConfig>,
    create: (config, context = {}) =>
      new MetaConnector(variant, parseConfig(variant.system, metaConfigSchema, config), context),
    verifyWebhook: (config, request) => verifyMetaWebhook(variant.system, variant.objects, config, request),
    webhookHandshake: (config, request) => metaHandshake(variant.system, config, request),
    // Graph lists no deleted leads.
    sweepObjects: ['leads'],
  };
}
