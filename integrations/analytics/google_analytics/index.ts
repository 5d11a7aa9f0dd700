/**
 * Google Analytics 4: daily report rows pulled with the Data API (`POST /v1beta/properties/{id}:runReport`,
 * `limit`/`offset` paging against `rowCount`, `returnPropertyQuota`), authorized by a service
 * account's OAuth2 JWT bearer grant (RS256 signed here with node:crypto); events pushed with the
 * Measurement Protocol (`/mp/collect`, validated first at `/debug/mp/collect`, since collect answers
 * 2xx to anything); subjects erased with the User Deletion API (`userDeletionRequests:upsert`).
 *
 * GA4 keeps processing recent days, so every pull re-reads `lookBackDays` days and the rows carry the
 * pull's id: replaceMetricDays then replaces those days whole.
 */
import { createHash, createSign, randomUUID } from 'crypto';
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
import { addDays, maxDay, readCursor } from '../shared/time';
import { googleAnalyticsConfigSchema, type GoogleAnalyticsConfig } from './config';

const SCOPES = [
  'https://www.googleapis.com/auth/analytics.readonly',
  'https://www.googleapis.com/auth/analytics.user.deletion',
];
/** Measurement Protocol: at most 25 events per request. */
const MP_BATCH = 25;

type Cursor = { through: string } | { pull: string; start: string; end: string; offset: number };

interface ReportAnswer {
  dimensionHeaders?: { name: string }[];
  metricHeaders?: { name: string; type?: string }[];
  rows?: { dimensionValues: { value: string }[]; metricValues: { value: string }[] }[];
  rowCount?: number;
  metadata?: { timeZone?: string };
  propertyQuota?: Record<string, { consumed?: number; remaining?: number }>;
}

/** `YYYY-MM-DD` of a time in an IANA time zone. */
export function dayIn(timeZone: string, ms: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(ms),
  );
}

/** A signed service-account JWT for the token endpoint (RFC 7523), valid for an hour. */
export function serviceAccountAssertion(config: GoogleAnalyticsConfig, nowMs: number): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const iat = Math.floor(nowMs / 1000);
  const header = encode({ alg: 'RS256', typ: 'JWT', ...(config.privateKeyId ? { kid: config.privateKeyId } : {}) });
  const claims = encode({
    iss: config.clientEmail,
    scope: SCOPES.join(' '),
    aud: config.tokenUrl,
    iat,
    exp: iat + 3600,
  });
  const signature = createSign('RSA-SHA256')
    .update(`${header}.${claims}`)
    .sign(config.privateKey.replace(/\\n/g, '\n'), 'base64url');
  return `${header}.${claims}.${signature}`;
}

/** How long a GA4 429 (RESOURCE_EXHAUSTED) is worth waiting: concurrency clears in seconds, the hourly bucket at the hour, the daily one not today. */
function quotaWaitMs(body: unknown, now: number): number | undefined {
  const message = String((body as { error?: { message?: string } } | undefined)?.error?.message ?? '').toLowerCase();
  if (message.includes('concurrent')) return 2000;
  if (message.includes('per day') || message.includes('daily')) return Number.POSITIVE_INFINITY;
  if (message.includes('per hour') || message.includes('hourly')) return 3_600_000 - (now % 3_600_000);
  return undefined;
}

class GoogleAnalyticsConnector implements Connector {
  private readonly data: VendorHttp;
  private readonly deletion: VendorHttp;
  private readonly collect: VendorHttp;
  private readonly tokenHttp: VendorHttp;
  private readonly now: () => number;
  private token: { value: string; expiresAt: number } | undefined;

  constructor(
    private readonly config: GoogleAnalyticsConfig,
    context: ConnectorContext,
  ) {
    this.now = context.now ?? Date.now;
    const classifyToken = (status: number, body: unknown) =>
      (status === 400 || status === 401) &&
      /invalid_grant|invalid_client|unauthorized_client/.test(JSON.stringify(body ?? ''))
        ? 'auth'
        : undefined;
    const tooManyRequestsWaitMs = (body: unknown) => quotaWaitMs(body, this.now());
    this.tokenHttp = new VendorHttp({
      integration: 'google_analytics',
      baseUrl: config.tokenUrl,
      context,
      classifyError: classifyToken,
      tooManyRequestsWaitMs,
    });
    const bearer = async () => ({ authorization: `Bearer ${await this.accessToken()}` });
    const onUnauthorized = async () => {
      this.token = undefined;
      return true;
    };
    this.data = new VendorHttp({
      integration: 'google_analytics',
      baseUrl: config.dataApiUrl,
      context,
      auth: bearer,
      onUnauthorized,
      tooManyRequestsWaitMs,
    });
    this.deletion = new VendorHttp({
      integration: 'google_analytics',
      baseUrl: config.userDeletionUrl,
      context,
      auth: bearer,
      onUnauthorized,
    });
    this.collect = new VendorHttp({ integration: 'google_analytics', baseUrl: config.collectUrl, context });
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > this.now() + 60_000) return this.token.value;
    const answer = await this.tokenHttp.json<{ access_token?: string; expires_in?: number }>({
      method: 'POST',
      path: this.config.tokenUrl,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: serviceAccountAssertion(this.config, this.now()),
      }).toString(),
    });
    if (!answer.access_token)
      throw new IntegrationError('google_analytics', 'auth', 'the token endpoint answered without an access_token');
    this.token = { value: answer.access_token, expiresAt: this.now() + (answer.expires_in ?? 3600) * 1000 };
    return this.token.value;
  }

  private runReport(start: string, end: string, offset: number, limit: number): Promise<ReportAnswer> {
    const dimensions = ['date', ...this.config.dimensions.filter((d) => d !== 'date')];
    return this.data.json<ReportAnswer>({
      path: `/v1beta/properties/${this.config.propertyId}:runReport`,
      json: {
        dateRanges: [{ startDate: start, endDate: end }],
        dimensions: dimensions.map((name) => ({ name })),
        metrics: this.config.metrics.map((name) => ({ name })),
        // A total order, so offset paging neither skips nor repeats a row.
        orderBys: dimensions.map((dimensionName) => ({ dimension: { dimensionName }, desc: false })),
        limit: String(limit),
        offset: String(offset),
        returnPropertyQuota: true,
      },
    });
  }

  test() {
    return checkConnection(async () => {
      const today = dayIn(this.config.timeZone, this.now());
      const answer = await this.runReport(today, today, 0, 1);
      const tokens = answer.propertyQuota?.tokensPerDay?.remaining;
      return `property ${this.config.propertyId} readable${tokens === undefined ? '' : ` (${tokens} tokens left today)`}`;
    });
  }

  async pull(object: string, cursor: string | null): Promise<PullPage> {
    if (object !== 'metrics')
      throw new IntegrationError(
        'google_analytics',
        'invalid_config',
        `unknown object "${object}": Google Analytics syncs metrics`,
      );
    const today = dayIn(this.config.timeZone, this.now());
    const first = this.config.startDate ?? addDays(today, -30);
    let state: Cursor =
      cursor === null
        ? { through: '' }
        : readCursor<Cursor>(
            'google_analytics',
            cursor,
            (c) => typeof c.through === 'string' || (typeof c.pull === 'string' && Number.isInteger(c.offset)),
          );
    if ('through' in state) {
      const start = state.through === '' ? first : maxDay(first, addDays(state.through, -this.config.lookBackDays));
      state = { pull: randomUUID(), start, end: today, offset: 0 };
    }
    const pass = state;
    const answer = await this.runReport(pass.start, pass.end, pass.offset, this.config.pageSize);
    const dimensionNames = (answer.dimensionHeaders ?? []).map((h) => h.name);
    const metricNames = (answer.metricHeaders ?? []).map((h) => h.name);
    const records = (answer.rows ?? []).map((row) => {
      const values = Object.fromEntries(dimensionNames.map((name, i) => [name, row.dimensionValues[i]?.value ?? '']));
      const { date, ...dimensions } = values;
      // `id` (day and dimension values) is the key the raw replica (synced_records) keeps the row under.
      return {
        id: [date, ...Object.values(dimensions)].join('|'),
        date,
        dimensions,
        metrics: Object.fromEntries(metricNames.map((name, i) => [name, row.metricValues[i]?.value ?? ''])),
        pullId: pass.pull,
      };
    });
    const offset = pass.offset + records.length;
    const done = records.length === 0 || offset >= (answer.rowCount ?? 0);
    const next: Cursor = done ? { through: pass.end } : { ...pass, offset };
    return { records, deletedIds: [], cursor: JSON.stringify(next), done };
  }

  private userId(email: string): string {
    const normalized = email.trim().toLowerCase();
    return this.config.userIdFromEmail === 'email' ? normalized : createHash('sha256').update(normalized).digest('hex');
  }

  /**
   * Records are `{ client_id, user_id? | email?, name, params?, timestamp_micros? }`, one event each;
   * events of one client go together, 25 per request. The Measurement Protocol has no event key,
   * so pushing the same events again counts them again.
   */
  async push(object: string, records: readonly VendorRecord[]): Promise<PushResult> {
    if (object !== 'events')
      throw new IntegrationError(
        'google_analytics',
        'invalid_config',
        `unknown object "${object}": the Measurement Protocol takes events`,
      );
    if (!this.config.measurementId || !this.config.apiSecret)
      throw new IntegrationError(
        'google_analytics',
        'invalid_config',
        'push needs measurementId and apiSecret (Measurement Protocol)',
      );
    const query = { measurement_id: this.config.measurementId, api_secret: this.config.apiSecret };
    const byClient = new Map<
      string,
      { key: string; body: Record<string, unknown>; event: Record<string, unknown> }[]
    >();
    const failed: { key: string; reason: string }[] = [];
    records.forEach((record, index) => {
      const key = String(
        record.params && typeof record.params === 'object' && 'event_id' in record.params
          ? (record.params as Record<string, unknown>).event_id
          : index,
      );
      if (typeof record.client_id !== 'string' || !record.client_id)
        return void failed.push({ key, reason: 'client_id is required' });
      const userId =
        typeof record.user_id === 'string'
          ? record.user_id
          : typeof record.email === 'string'
            ? this.userId(record.email)
            : undefined;
      const group = `${record.client_id}\u0000${userId ?? ''}`;
      const body = { client_id: record.client_id, ...(userId ? { user_id: userId } : {}) };
      const event = {
        name: record.name,
        params: record.params ?? {},
        ...(record.timestamp_micros !== undefined ? { timestamp_micros: record.timestamp_micros } : {}),
      };
      byClient.set(group, [...(byClient.get(group) ?? []), { key, body, event }]);
    });
    let upserted = 0;
    for (const items of byClient.values()) {
      for (let i = 0; i < items.length; i += MP_BATCH) {
        let batch = items.slice(i, i + MP_BATCH);
        if (this.config.validatePushes) {
          const check = await this.collect.json<{
            validationMessages?: { fieldPath?: string; description?: string; validationCode?: string }[];
          }>({ path: '/debug/mp/collect', query, json: { ...batch[0].body, events: batch.map((b) => b.event) } });
          const bad = new Map<number, string>();
          for (const message of check.validationMessages ?? []) {
            const index = /^events\[(\d+)\]/.exec(message.fieldPath ?? '')?.[1];
            const reason = `${message.validationCode ?? 'INVALID'}: ${message.description ?? message.fieldPath ?? 'invalid'}`;
            if (index === undefined) batch.forEach((_, j) => bad.set(j, reason));
            else bad.set(Number(index), reason);
          }
          bad.forEach((reason, j) => failed.push({ key: batch[j].key, reason }));
          batch = batch.filter((_, j) => !bad.has(j));
          if (batch.length === 0) continue;
        }
        // Not retried on 5xx or network errors: without an event key a resend could count twice.
        await this.collect.request({
          path: '/mp/collect',
          query,
          json: { ...batch[0].body, events: batch.map((b) => b.event) },
          retry: false,
        });
        upserted += batch.length;
      }
    }
    return { upserted, failed };
  }

  async delete(object: string): Promise<void> {
    throw new IntegrationError(
      'google_analytics',
      'invalid_config',
      `Google Analytics does not support deleting single ${object}; erase a data subject with erase(email)`,
    );
  }

  async erase(email: string): Promise<void> {
    await this.deletion.request({
      path: '/analytics/v3/userDeletion/userDeletionRequests:upsert',
      json: {
        kind: 'analytics#userDeletionRequest',
        id: { type: 'USER_ID', userId: this.userId(email) },
        propertyId: this.config.propertyId,
      },
    });
  }
}

export const googleAnalytics: ConnectorModule<GoogleAnalyticsConfig> = {
  system: 'google_analytics',
  family: 'analytics',
  configSchema: googleAnalyticsConfigSchema as unknown as ZodType<GoogleAnalyticsConfig>,
  create: (config, context = {}) =>
    new GoogleAnalyticsConnector(parseConfig('google_analytics', googleAnalyticsConfigSchema, config), context),
  verifyWebhook: () => {
    throw new WebhookRejected('google analytics sends no webhooks', 404);
  },
};
