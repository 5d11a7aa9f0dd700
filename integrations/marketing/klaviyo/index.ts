/**
 * Klaviyo connector. Objects: `profiles` (pull by `updated`, push by profile-import or bulk import
 * jobs, delete and erase through data-privacy deletion jobs) and the catalog's metric objects
 * (`email_open`, `email_click`, `purchase`: their events, pulled by `datetime`). Pages follow
 * JSON:API `links.next`; the cursor keeps that link plus an updated/datetime watermark.
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
import { START, advance, isNew, queryFrom, secondsOf } from '../shared/watermark';
import type { VendorRequest } from '../../http/vendor-http';
import { KlaviyoClient } from './client';
import { klaviyoConfigSchema, type KlaviyoConfig } from './config';
import { verifyKlaviyoWebhook } from './webhook';

export { klaviyoConfigSchema, type KlaviyoConfig } from './config';
export { klaviyoSignature } from './webhook';

const cursorSchema = z.object({
  mark: z.object({
    ts: z.number().nullable(),
    seen: z.array(z.string()),
    recent: z.record(z.string(), z.number()).optional(),
  }),
  next: z.string().nullable(),
});

interface Resource {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  [key: string]: unknown;
}

interface ResourcePage {
  data: Resource[];
  links?: { next?: string | null };
}

interface BulkJob {
  id: string;
  attributes: { status: string; total_count?: number; completed_count?: number; failed_count?: number };
}

const PROFILE_KEYS = ['email', 'phone_number', 'external_id'] as const;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

function recordFailure(error: unknown): string | undefined {
  if (error instanceof IntegrationError && (error.kind === 'vendor_error' || error.kind === 'not_found'))
    return error.message;
  return undefined;
}

/** Profile attributes from a plain record or a JSON:API profile resource. */
function attributesOf(record: VendorRecord): { id?: string; attributes: Record<string, unknown> } {
  if (record.type === 'profile' && typeof record.attributes === 'object' && record.attributes !== null) {
    return {
      id: typeof record.id === 'string' ? record.id : undefined,
      attributes: record.attributes as Record<string, unknown>,
    };
  }
  const { id, type: _type, ...attributes } = record;
  return { id: typeof id === 'string' ? id : undefined, attributes };
}

function keyOf(id: string | undefined, attributes: Record<string, unknown>): string | undefined {
  for (const key of PROFILE_KEYS)
    if (typeof attributes[key] === 'string' && attributes[key]) return String(attributes[key]);
  return id;
}

class KlaviyoConnector implements Connector {
  private readonly client: KlaviyoClient;
  private metricIds: Promise<Map<string, string>> | undefined;

  constructor(
    private readonly config: KlaviyoConfig,
    private readonly context: ConnectorContext,
  ) {
    this.client = new KlaviyoClient(config, context);
  }

  test() {
    return checkConnection(async () => {
      await this.client.json({ path: '/api/accounts' });
      return 'connected';
    });
  }

  private async metricId(object: string): Promise<string> {
    const configured = this.config.metrics[object];
    if (configured) return configured;
    const name = this.config.metricNames[object];
    if (!name)
      throw new IntegrationError(
        'klaviyo',
        'invalid_config',
        `unknown object "${object}": use profiles, or name its metric in metricNames.${object} or metrics.${object}`,
      );
    this.metricIds ??= this.allMetrics();
    let id: string | undefined;
    try {
      id = (await this.metricIds).get(name);
    } catch (error) {
      this.metricIds = undefined;
      throw error;
    }
    if (!id)
      throw new IntegrationError(
        'klaviyo',
        'invalid_config',
        `no metric named "${name}" in the account (object "${object}"): set metrics.${object} to its id`,
      );
    return id;
  }

  private async allMetrics(): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    let path: string = '/api/metrics';
    for (;;) {
      const page = await this.client.json<ResourcePage>({ path });
      for (const metric of page.data)
        if (typeof metric.attributes.name === 'string' && !ids.has(metric.attributes.name))
          ids.set(metric.attributes.name, metric.id);
      if (!page.links?.next) return ids;
      path = this.client.nextLink(page.links.next);
    }
  }

  async pull(object: string, cursor: string | null): Promise<PullPage> {
    const state = decodeCursor('klaviyo', cursor, cursorSchema, {
      mark: { ts: START.ts, seen: [...START.seen], recent: {} },
      next: null,
    });
    const profiles = object === 'profiles';
    const field = profiles ? 'updated' : 'datetime';
    let request;
    if (state.next) request = { path: this.client.nextLink(state.next) };
    else {
      const from = queryFrom(state.mark);
      const filters = profiles ? [] : [`equals(metric_id,"${await this.metricId(object)}")`];
      if (from !== null) filters.push(`greater-than(${field},${iso(from)})`);
      request = {
        path: profiles ? '/api/profiles' : '/api/events',
        query: {
          filter: filters.length ? filters.join(',') : undefined,
          sort: field,
          'page[size]': this.config.pageSize,
        },
      };
    }
    const page = await this.client.json<ResourcePage>(request);
    const changedMs = (r: Resource) => secondsOf(r.attributes[field]) ?? 0;
    const fresh = page.data.filter((r) => isNew(state.mark, r.id, changedMs(r)));
    const mark = advance(
      state.mark,
      fresh.map((r) => ({ id: r.id, changedMs: changedMs(r) })),
    );
    const next = page.links?.next ?? null;
    return { records: fresh, deletedIds: [], cursor: encodeCursor({ mark, next }), done: next === null };
  }

  /** Profile ids for a reconciliation sweep: Klaviyo's API lists no deleted profiles. */
  async *listIds(object: string): AsyncIterable<string> {
    if (object !== 'profiles')
      throw new IntegrationError(
        'klaviyo',
        'invalid_config',
        `only profiles can be swept for deletes, not "${object}" (events are never deleted)`,
      );
    let request: VendorRequest = { path: '/api/profiles', query: { 'fields[profile]': 'id', 'page[size]': 100 } };
    for (;;) {
      const page = await this.client.json<ResourcePage>(request);
      for (const profile of page.data) yield profile.id;
      if (!page.links?.next) return;
      request = { path: this.client.nextLink(page.links.next) };
    }
  }

  async push(object: string, records: readonly VendorRecord[]): Promise<PushResult> {
    if (object !== 'profiles')
      throw new IntegrationError(
        'klaviyo',
        'invalid_config',
        `push supports profiles only, not "${object}" (events are created by Klaviyo's tracking APIs)`,
      );
    const failed: { key: string; reason: string }[] = [];
    const valid: { key: string; id?: string; attributes: Record<string, unknown> }[] = [];
    records.forEach((record, index) => {
      const { id, attributes } = attributesOf(record);
      const key = keyOf(id, attributes);
      if (!key) failed.push({ key: `#${index}`, reason: 'one of email, phone_number, external_id or id is required' });
      else valid.push({ key, id, attributes });
    });
    const upserted =
      valid.length >= this.config.bulkThreshold
        ? await this.pushBulk(valid, failed)
        : await this.pushEach(valid, failed);
    return { upserted, failed };
  }

  private async pushEach(
    profiles: { key: string; id?: string; attributes: Record<string, unknown> }[],
    failed: { key: string; reason: string }[],
  ): Promise<number> {
    const ok = await mapPool(profiles, 5, async ({ key, id, attributes }) => {
      try {
        await this.client.request({
          method: 'POST',
          path: '/api/profile-import',
          json: { data: { type: 'profile', ...(id ? { id } : {}), attributes } },
        });
        return true;
      } catch (error) {
        const reason = recordFailure(error);
        if (reason === undefined) throw error;
        failed.push({ key, reason });
        return false;
      }
    });
    return ok.filter(Boolean).length;
  }

  private async pushBulk(
    profiles: { key: string; attributes: Record<string, unknown> }[],
    failed: { key: string; reason: string }[],
  ): Promise<number> {
    const sleep = this.context.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let upserted = 0;
    for (let start = 0; start < profiles.length; start += this.config.bulkSize) {
      const chunk = profiles.slice(start, start + this.config.bulkSize);
      const body = {
        data: {
          type: 'profile-bulk-import-job',
          attributes: { profiles: { data: chunk.map((p) => ({ type: 'profile', attributes: p.attributes })) } },
          ...(this.config.listId
            ? { relationships: { lists: { data: [{ type: 'list', id: this.config.listId }] } } }
            : {}),
        },
      };
      // A repeated job only upserts the same profiles again, so the submission may be retried.
      let job = (
        await this.client.json<{ data: BulkJob }>({ method: 'POST', path: '/api/profile-bulk-import-jobs', json: body })
      ).data;
      const deadline = Date.now() + this.config.bulkTimeoutMs;
      while (!['complete', 'cancelled', 'failed'].includes(job.attributes.status)) {
        if (Date.now() > deadline)
          throw new IntegrationError(
            'klaviyo',
            'unavailable',
            `bulk import job ${job.id} not complete after ${this.config.bulkTimeoutMs} ms (status ${job.attributes.status})`,
          );
        await sleep(this.config.bulkPollMs);
        job = (await this.client.json<{ data: BulkJob }>({ path: `/api/profile-bulk-import-jobs/${job.id}` })).data;
      }
      if (job.attributes.status !== 'complete')
        throw new IntegrationError(
          'klaviyo',
          'vendor_error',
          `bulk import job ${job.id} ended ${job.attributes.status}`,
        );
      const failedHere = new Set<number>();
      let path: string = `/api/profile-bulk-import-jobs/${job.id}/import-errors`;
      for (;;) {
        const page = await this.client.json<ResourcePage>({ path });
        for (const error of page.data) {
          const pointer = (error.attributes.source as { pointer?: string } | undefined)?.pointer ?? '';
          const index = Number(/\/profiles\/data\/(\d+)/.exec(pointer)?.[1] ?? NaN);
          const key =
            chunk[index]?.key ??
            String((error.attributes.original_payload as Record<string, unknown> | undefined)?.email ?? error.id);
          if (Number.isInteger(index)) failedHere.add(index);
          failed.push({ key, reason: String(error.attributes.detail ?? error.attributes.title ?? 'import error') });
        }
        if (!page.links?.next) break;
        path = this.client.nextLink(page.links.next);
      }
      upserted += chunk.length - failedHere.size;
    }
    return upserted;
  }

  async delete(object: string, ids: readonly string[]): Promise<void> {
    if (object !== 'profiles')
      throw new IntegrationError(
        'klaviyo',
        'invalid_config',
        `Klaviyo cannot delete "${object}"; only profiles (through data-privacy deletion jobs)`,
      );
    await mapPool(ids, 3, (id) => this.deletionJob({ type: 'profile', id }));
  }

  async erase(email: string): Promise<void> {
    await this.deletionJob({ type: 'profile', attributes: { email } });
  }

  private async deletionJob(profile: Record<string, unknown>): Promise<void> {
    await this.client.request({
      method: 'POST',
      path: '/api/data-privacy-deletion-jobs',
      json: { data: { type: 'data-privacy-deletion-job', attributes: { profile: { data: profile } } } },
    });
  }
}

export const klaviyo: ConnectorModule<KlaviyoConfig> = {
  system: 'klaviyo',
  family: 'marketing',
  // Input may omit defaulted fields; ZodType<C> alone would demand the parsed shape as input too.
  configSchema: klaviyoConfigSchema as unknown as ZodType<KlaviyoConfig>,
  create: (config, context = {}) => new KlaviyoConnector(parseConfig('klaviyo', klaviyoConfigSchema, config), context),
  verifyWebhook: (config, request) => verifyKlaviyoWebhook(config, request),
  // Klaviyo lists no deleted profiles; events are never deleted.
  sweepObjects: ['profiles'],
};
