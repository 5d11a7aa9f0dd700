/**
 * Mixpanel: events pulled with the Raw Export API (JSON lines by UTC day range, service-account
 * Basic auth with project_id), pushed with the Ingestion API's /import (strict=1, $insert_id dedupe,
 * 2000 per batch), profiles set through Engage, subjects erased through the GDPR data deletion API.
 *
 * Events carry `mp_processing_time_ms` (when Mixpanel stored them), which is what the cursor follows:
 * every incremental pull reads the last `lookBackDays` days again and keeps only events processed
 * after the previous pull started, so late events arrive once and nothing repeats.
 */
import type { ZodType } from 'zod';
import {
  IntegrationError,
  WebhookRejected,
  checkConnection,
  type Connector,
  type ConnectorContext,
  type ConnectorModule,
  type PullPage,
  type PushResult,
  type VendorRecord,
} from '../../connector';
import { VendorHttp } from '../../http/vendor-http';
import { parseConfig } from '../../marketing/shared/config';
import { addDays, maxDay, minDay, readCursor, utcDay } from '../shared/time';
import { mixpanelConfigSchema, mixpanelHosts, type MixpanelConfig } from './config';

/** Pass in progress: days `next`..`to` are left; events processed after `w` are new. */
interface MixpanelCursor {
  readonly w: number;
  readonly next?: string;
  readonly to?: string;
  readonly startedAt?: number;
}

const OBJECTS = ['events', 'profiles'] as const;

interface ImportAnswer {
  code?: number;
  num_records_imported?: number;
  error?: string;
  failed_records?: { index: number; insert_id?: string; field?: string; message?: string }[];
}

class MixpanelConnector implements Connector {
  private readonly data: VendorHttp;
  private readonly api: VendorHttp;
  private readonly app: VendorHttp;
  private readonly now: () => number;

  constructor(
    private readonly config: MixpanelConfig,
    context: ConnectorContext,
  ) {
    const hosts = mixpanelHosts(config);
    const basic = `Basic ${Buffer.from(`${config.serviceAccountUsername}:${config.serviceAccountSecret}`).toString('base64')}`;
    const auth = () => ({ authorization: basic });
    this.now = context.now ?? Date.now;
    // The export API documents its 429 but no Retry-After: wait out a share of its hourly budget.
    this.data = new VendorHttp({
      integration: 'mixpanel',
      baseUrl: hosts.data,
      context,
      auth,
      tooManyRequestsWaitMs: () => config.exportRetryAfterMs,
    });
    // /import asks to "retry with exponential backoff" on 429.
    this.api = new VendorHttp({ integration: 'mixpanel', baseUrl: hosts.api, context, auth, baseDelayMs: 2000 });
    this.app = new VendorHttp({ integration: 'mixpanel', baseUrl: hosts.app, context, auth });
  }

  test() {
    return checkConnection(async () => {
      const me = await this.app.json<{ results?: { projects?: Record<string, unknown> } }>({ path: '/api/app/me' });
      if (!me.results?.projects?.[String(this.config.projectId)])
        throw new IntegrationError(
          'mixpanel',
          'auth',
          `the service account has no access to project ${this.config.projectId}`,
        );
      return `service account can read project ${this.config.projectId}`;
    });
  }

  private checkObject(object: string, allowed: readonly string[]): void {
    if (!allowed.includes(object))
      throw new IntegrationError(
        'mixpanel',
        'invalid_config',
        `unknown object "${object}": Mixpanel syncs ${allowed.join(', ')}`,
      );
  }

  async pull(object: string, cursor: string | null): Promise<PullPage> {
    this.checkObject(object, ['events']);
    const today = utcDay(this.now());
    const start = this.config.startDate ?? addDays(today, -30);
    let state: MixpanelCursor =
      cursor === null
        ? { w: 0 }
        : readCursor<MixpanelCursor>(
            'mixpanel',
            cursor,
            (c) =>
              typeof c.w === 'number' &&
              (c.next === undefined || (typeof c.next === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(c.next))),
          );
    if (state.next === undefined || state.to === undefined || state.startedAt === undefined) {
      const from = cursor === null ? start : maxDay(start, addDays(today, -this.config.lookBackDays));
      state = { w: state.w, next: from, to: today, startedAt: this.now() };
    }
    const from = state.next!;
    const to = state.to!;
    const until = minDay(addDays(from, this.config.daysPerPage - 1), to);
    const response = await this.data.request<string>({
      path: '/api/2.0/export',
      query: { project_id: this.config.projectId, from_date: from, to_date: until, time_in_ms: true },
      headers: { accept: 'text/plain', 'accept-encoding': 'gzip' },
    });
    // An event without a processing time (not documented to happen) is taken by the full pass only.
    const records = parseJsonLines(response.body)
      .filter((event) => (processedAt(event) ?? 0) > state.w || (state.w === 0 && processedAt(event) === undefined))
      // The export line, plus its $insert_id as `id`: the key the raw replica (synced_records) keeps it under.
      .map((event) => ({ id: (event.properties as { $insert_id?: unknown } | undefined)?.$insert_id, ...event }));
    const done = until >= to;
    const next: MixpanelCursor = done
      ? { w: state.startedAt! }
      : { w: state.w, next: addDays(until, 1), to, startedAt: state.startedAt };
    return { records, deletedIds: [], cursor: JSON.stringify(next), done };
  }

  async push(object: string, records: readonly VendorRecord[]): Promise<PushResult> {
    this.checkObject(object, OBJECTS);
    return object === 'events' ? this.importEvents(records) : this.setProfiles(records);
  }

  private async importEvents(records: readonly VendorRecord[]): Promise<PushResult> {
    let upserted = 0;
    const failed: { key: string; reason: string }[] = [];
    for (let offset = 0; offset < records.length; offset += this.config.importBatchSize) {
      const batch = records.slice(offset, offset + this.config.importBatchSize);
      // $insert_id makes a retried batch harmless, so 5xx and network failures are retried.
      const answer = await this.api.request<ImportAnswer>({
        path: '/import',
        query: { strict: 1, project_id: this.config.projectId },
        json: batch,
        accept: [400],
      });
      if (answer.status === 400 && !answer.body?.failed_records)
        throw new IntegrationError(
          'mixpanel',
          'vendor_error',
          `/import refused the batch: ${answer.body?.error ?? 'bad request'}`,
          400,
        );
      upserted += answer.body?.num_records_imported ?? 0;
      for (const f of answer.body?.failed_records ?? []) {
        const record = batch[f.index] as { properties?: { $insert_id?: unknown } } | undefined;
        failed.push({
          key: String(f.insert_id ?? record?.properties?.$insert_id ?? offset + f.index),
          reason: `${f.field ?? 'event'}: ${f.message ?? 'invalid'}`,
        });
      }
    }
    return { upserted, failed };
  }

  /** Records are `{ distinct_id, ...properties }`; each becomes a `$set` of those properties. */
  private async setProfiles(records: readonly VendorRecord[]): Promise<PushResult> {
    let upserted = 0;
    const failed: { key: string; reason: string }[] = [];
    for (let offset = 0; offset < records.length; offset += 2000) {
      const batch = records.slice(offset, offset + 2000);
      const updates = batch.map(({ distinct_id, ...set }) => ({
        $token: this.config.projectToken,
        $distinct_id: String(distinct_id),
        $set: set,
      }));
      const answer = await this.api.json<{ status?: number; error?: string | null }>({
        path: '/engage',
        query: { verbose: 1, ip: 0 },
        json: updates,
      });
      if (answer.status === 1) upserted += batch.length;
      else
        batch.forEach((r) =>
          failed.push({ key: String(r.distinct_id), reason: answer.error ?? 'Engage rejected the batch' }),
        );
    }
    return { upserted, failed };
  }

  async delete(object: string): Promise<void> {
    throw new IntegrationError(
      'mixpanel',
      'invalid_config',
      `Mixpanel does not support deleting single ${object}; erase a data subject with erase(email)`,
    );
  }

  async erase(email: string): Promise<void> {
    if (!this.config.gdprToken)
      throw new IntegrationError(
        'mixpanel',
        'invalid_config',
        'erasure needs gdprToken (an OAuth token for the GDPR data deletion API)',
      );
    const normalized = email.trim().toLowerCase();
    const found = await this.app.json<{ results?: { $distinct_id: string }[] }>({
      method: 'POST',
      path: '/api/query/engage',
      query: { project_id: this.config.projectId },
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ where: `properties["$email"] == ${JSON.stringify(normalized)}` }).toString(),
    });
    // Projects that identify people by email use it as distinct_id; others find it on the profile.
    const distinctIds = [...new Set([normalized, ...(found.results ?? []).map((r) => r.$distinct_id)])];
    await this.app.request({
      method: 'POST',
      path: '/api/app/data-deletions/v3.0',
      query: { token: this.config.projectToken },
      headers: { authorization: `Bearer ${this.config.gdprToken}` },
      json: { distinct_ids: distinctIds, compliance_type: 'GDPR' },
    });
  }
}

function processedAt(event: VendorRecord): number | undefined {
  const value = (event.properties as { mp_processing_time_ms?: unknown } | undefined)?.mp_processing_time_ms;
  return typeof value === 'number' ? value : undefined;
}

function parseJsonLines(body: unknown): VendorRecord[] {
  if (body === undefined || body === null || body === '') return [];
  if (typeof body !== 'string')
    throw new IntegrationError('mixpanel', 'vendor_error', 'export answered something other than JSON lines');
  const records: VendorRecord[] = [];
  for (const line of body.split('\n')) {
    if (!line.trim()) continue;
    try {
      records.push(JSON.parse(line) as VendorRecord);
    } catch {
      throw new IntegrationError('mixpanel', 'vendor_error', `export line is not JSON: ${line.slice(0, 80)}`);
    }
  }
  return records;
}

export const mixpanel: ConnectorModule<MixpanelConfig> = {
  system: 'mixpanel',
  family: 'analytics',
  configSchema: mixpanelConfigSchema as unknown as ZodType<MixpanelConfig>,
  create: (config, context = {}) =>
    new MixpanelConnector(parseConfig('mixpanel', mixpanelConfigSchema, config), context),
  verifyWebhook: () => {
    throw new WebhookRejected('mixpanel sends no webhooks', 404);
  },
};
