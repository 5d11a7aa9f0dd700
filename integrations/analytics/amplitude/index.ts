/**
 * Amplitude: events pulled with the Export API (by upload hour `start`/`end` as YYYYMMDDTHH, Basic
 * auth with API key and secret key; a zip of gzipped JSON-lines files, 404 when the range holds no
 * data), pushed with the Batch Event Upload or HTTP V2 API (insert_id dedupe; a 429 for throttled
 * devices or users rejects the upload, which is sent again after the pause Amplitude asks for), and
 * subjects erased with the User Privacy API.
 *
 * The export selects by `server_upload_time`, so a cursor on the upload hour sees late events when
 * they are uploaded; only hours whose export is complete (`lagHours` after their end) are read.
 */
import { gunzipSync } from 'zlib';
import * as yauzl from 'yauzl';
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
import { readCursor } from '../shared/time';
import { amplitudeConfigSchema, amplitudeHosts, type AmplitudeConfig } from './config';

const HOUR = 3_600_000;

/** `YYYYMMDDTHH` of an hour index (hours since the epoch). */
export const exportHour = (hour: number): string =>
  new Date(hour * HOUR).toISOString().replace(/^(\d{4})-(\d\d)-(\d\d)T(\d\d).*$/, '$1$2$3T$4');

/**
 * VendorHttp reads bodies as text, which would corrupt the archive: this fetch hands a successful
 * zip answer on as JSON holding its bytes in base64, keeping the status and rate-limit headers.
 */
function archiveFetch(base: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await base(input, init);
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok || !/zip|octet-stream/.test(type)) return response;
    const headers = new Headers(response.headers);
    headers.set('content-type', 'application/json');
    headers.delete('content-length');
    headers.delete('content-encoding');
    const archive = Buffer.from(await response.arrayBuffer()).toString('base64');
    return new Response(JSON.stringify({ archive }), { status: response.status, headers });
  };
}

/** Every JSON line of every gzipped file in an export archive, files in name (hour) order. */
export function readExportArchive(archive: Buffer): Promise<VendorRecord[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(archive, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error('not a zip archive'));
      const files: { name: string; lines: VendorRecord[] }[] = [];
      zip.on('error', reject);
      zip.on('end', () =>
        resolve(files.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true })).flatMap((f) => f.lines)),
      );
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError ?? new Error(`cannot read ${entry.fileName}`));
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            try {
              const raw = Buffer.concat(chunks);
              const text = (entry.fileName.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
              files.push({
                name: entry.fileName,
                lines: text
                  .split('\n')
                  .filter((l) => l.trim())
                  .map((l) => JSON.parse(l) as VendorRecord),
              });
              zip.readEntry();
            } catch (parseError) {
              reject(new Error(`${entry.fileName}: ${(parseError as Error).message}`));
            }
          });
        });
      });
      zip.readEntry();
    });
  });
}

interface UploadAnswer {
  code?: number;
  error?: string;
  events_ingested?: number;
  missing_field?: string;
  events_with_invalid_fields?: Record<string, number[]>;
  events_with_missing_fields?: Record<string, number[]>;
  silenced_events?: number[];
}

class AmplitudeConnector implements Connector {
  private readonly app: VendorHttp;
  private readonly ingest: VendorHttp;
  private readonly now: () => number;

  constructor(
    private readonly config: AmplitudeConfig,
    context: ConnectorContext,
  ) {
    const hosts = amplitudeHosts(config);
    const basic = `Basic ${Buffer.from(`${config.apiKey}:${config.secretKey}`).toString('base64')}`;
    this.now = context.now ?? Date.now;
    const base = context.fetch ?? ((input, init) => fetch(input, init));
    this.app = new VendorHttp({
      integration: 'amplitude',
      baseUrl: hosts.app,
      context: { ...context, fetch: archiveFetch(base) },
      auth: () => ({ authorization: basic }),
    });
    // Uploads carry the API key in the body (a wrong one is a 400 "Invalid API key"); a 429 means "pause 30 s for these devices", and insert_id makes the resend safe.
    this.ingest = new VendorHttp({
      integration: 'amplitude',
      baseUrl: hosts.ingest,
      context,
      tooManyRequestsWaitMs: () => config.throttleWaitMs,
    });
  }

  /** The newest upload hour whose export is complete now. */
  private lastCompleteHour(): number {
    return Math.floor(this.now() / HOUR) - 1 - this.config.lagHours;
  }

  test() {
    return checkConnection(async () => {
      // An hour long enough ago to be complete: cheap, and 200 or 404 both prove the keys.
      const hour = exportHour(this.lastCompleteHour());
      const response = await this.app.request({
        path: '/api/2/export',
        query: { start: hour, end: hour },
        accept: [404],
      });
      return response.status === 404 ? 'export reachable (no data in the probed hour)' : 'export reachable';
    });
  }

  async pull(object: string, cursor: string | null): Promise<PullPage> {
    if (object !== 'events')
      throw new IntegrationError('amplitude', 'invalid_config', `unknown object "${object}": Amplitude syncs events`);
    const startDay = this.config.startDate ?? new Date(this.now() - 30 * 86_400_000).toISOString().slice(0, 10);
    const next =
      cursor === null
        ? Date.parse(`${startDay}T00:00:00Z`) / HOUR
        : readCursor<{ next: number }>('amplitude', cursor, (c) => Number.isInteger(c.next)).next;
    const last = this.lastCompleteHour();
    if (next > last) return { records: [], deletedIds: [], cursor: JSON.stringify({ next }), done: true };
    const end = Math.min(next + this.config.hoursPerPage - 1, last);
    const response = await this.app.request<{ archive?: string }>({
      path: '/api/2/export',
      query: { start: exportHour(next), end: exportHour(end) },
      accept: [404],
    });
    let records: VendorRecord[] = [];
    if (response.status !== 404) {
      if (typeof response.body?.archive !== 'string')
        throw new IntegrationError('amplitude', 'vendor_error', 'export answered without a zip archive');
      try {
        records = await readExportArchive(Buffer.from(response.body.archive, 'base64'));
      } catch (error) {
        throw new IntegrationError(
          'amplitude',
          'vendor_error',
          `export archive unreadable: ${(error as Error).message}`,
        );
      }
    }
    return { records, deletedIds: [], cursor: JSON.stringify({ next: end + 1 }), done: end >= last };
  }

  async push(object: string, records: readonly VendorRecord[]): Promise<PushResult> {
    if (object !== 'events')
      throw new IntegrationError('amplitude', 'invalid_config', `unknown object "${object}": Amplitude takes events`);
    let upserted = 0;
    const failed: { key: string; reason: string }[] = [];
    const path = this.config.uploadApi === 'batch' ? '/batch' : '/2/httpapi';
    for (let offset = 0; offset < records.length; offset += this.config.uploadBatchSize) {
      let batch = records.slice(offset, offset + this.config.uploadBatchSize);
      // A 400 names the events it refused; the upload as a whole was rejected, so the rest go again.
      for (let attempt = 0; batch.length > 0 && attempt < 2; attempt++) {
        const answer = await this.ingest.request<UploadAnswer>({
          path,
          json: { api_key: this.config.apiKey, events: batch },
          accept: [400],
        });
        if (answer.status !== 400) {
          upserted += batch.length;
          break;
        }
        const body = answer.body ?? {};
        if (/invalid api.?key/i.test(body.error ?? ''))
          throw new IntegrationError('amplitude', 'auth', `${path} -> 400: ${body.error}`, 400);
        if (body.missing_field)
          throw new IntegrationError(
            'amplitude',
            'vendor_error',
            `${path} refused the request: ${body.error ?? 'bad request'} (${body.missing_field})`,
            400,
          );
        const refused = new Map<number, string>();
        for (const [field, indexes] of Object.entries({
          ...body.events_with_invalid_fields,
          ...body.events_with_missing_fields,
        }))
          for (const i of indexes) refused.set(i, `${field}: ${body.error ?? 'invalid'}`);
        for (const i of body.silenced_events ?? []) refused.set(i, 'device silenced by Amplitude');
        if (refused.size === 0)
          throw new IntegrationError(
            'amplitude',
            'vendor_error',
            `${path} refused the upload: ${body.error ?? 'bad request'}`,
            400,
          );
        refused.forEach((reason, i) => failed.push({ key: String(batch[i]?.insert_id ?? offset + i), reason }));
        batch = batch.filter((_, i) => !refused.has(i));
      }
    }
    return { upserted, failed };
  }

  async delete(object: string): Promise<void> {
    throw new IntegrationError(
      'amplitude',
      'invalid_config',
      `Amplitude does not support deleting single ${object}; erase a data subject with erase(email)`,
    );
  }

  /** Schedules deletion of the user whose Amplitude user_id is the email (projects that identify by email). */
  async erase(email: string): Promise<void> {
    await this.app.request({
      method: 'POST',
      path: '/api/2/deletions/users',
      json: {
        user_ids: [...new Set([email.trim(), email.trim().toLowerCase()])],
        requester: this.config.requester,
        ignore_invalid_id: 'true',
      },
    });
  }
}

export const amplitude: ConnectorModule<AmplitudeConfig> = {
  system: 'amplitude',
  family: 'analytics',
  configSchema: amplitudeConfigSchema as unknown as ZodType<AmplitudeConfig>,
  create: (config, context = {}) =>
    new AmplitudeConnector(parseConfig('amplitude', amplitudeConfigSchema, config), context),
  verifyWebhook: () => {
    throw new WebhookRejected('amplitude sends no webhooks to this service', 404);
  },
};
