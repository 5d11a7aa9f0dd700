/**
 * A local Amplitude for tests and the demo, on one port for all of its hosts: the Export API
 * (`GET /api/2/export?start=YYYYMMDDTHH&end=…`, Basic auth with API key and secret key, selecting by
 * `server_upload_time`, answering a zip of gzipped JSON-lines files per hour or 404 when there is no
 * data), the Batch (`POST /batch`) and HTTP V2 (`POST /2/httpapi`) uploads (api_key in the body,
 * 400 with `missing_field` / `events_with_invalid_fields`, insert_id dedupe per device for 7 days,
 * the first upload wins) and the User Privacy API (`POST /api/2/deletions/users`), which schedules a
 * deletion job. touch() uploads an event again now, as a late or re-sent event arrives.
 */
import archiver from 'archiver';
import { randomUUID } from 'crypto';
import { gzipSync } from 'zlib';
import type { Fake } from '@data-sync/integrations/contract/connector-contract';
import {
  FakeSwitches,
  MARKETING_FRAMING,
  fakePerson,
  jsonBody,
  seededRandom,
  serveFake,
  type FakeRequest,
  type FakeResponse,
} from '@data-sync/integrations/contract/fake-kit';

export interface AmplitudeEvent {
  uuid: string;
  $insert_id: string | null;
  event_type: string;
  user_id: string | null;
  device_id: string | null;
  event_time: string;
  server_upload_time: string;
  event_properties: Record<string, unknown>;
  user_properties: Record<string, unknown>;
  app: number;
  amplitude_id: number;
  uploadedMs: number;
}

export interface AmplitudeFakeOptions {
  readonly seed?: Readonly<Record<string, number>>;
  readonly apiKey?: string;
  readonly secretKey?: string;
  /** Seeded uploads fall between this many days and five hours before now. */
  readonly days?: number;
  readonly now?: () => number;
}

export interface AmplitudeFake extends Fake {
  readonly credentials: { apiKey: string; secretKey: string };
  readonly events: AmplitudeEvent[];
  readonly deletionJobs: { user_ids: string[]; requester: string; day: string }[];
}

const APP = 187_520;
const HOUR = 3_600_000;
const EVENT_TYPES = ['session_start', 'song_played', 'checkout', 'level_up'];
const DEDUPE_MS = 7 * 86_400_000;

/** Amplitude's export timestamp: `2026-01-05 08:00:00.123000`, UTC. */
const amplitudeTime = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.(\d{3})Z$/, '.$1000');
const hourOf = (text: string) =>
  Date.UTC(Number(text.slice(0, 4)), Number(text.slice(4, 6)) - 1, Number(text.slice(6, 8)), Number(text.slice(9, 11)));

function errorBody(status: number): unknown {
  if (status === 429)
    return {
      code: 429,
      error: 'Too many requests for some devices and users',
      eps_threshold: 30,
      throttled_devices: {},
      throttled_users: {},
      throttled_events: [],
    };
  if (status === 401) return 'Invalid API key or secret key';
  return { code: status, error: 'Internal server error' };
}

async function zipOf(files: { name: string; content: Buffer }[]): Promise<Buffer> {
  const zip = archiver('zip');
  const chunks: Buffer[] = [];
  zip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    zip.on('end', () => resolve());
    zip.on('error', reject);
  });
  for (const file of files) zip.append(file.content, { name: file.name, date: new Date(0) });
  await zip.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export async function startFakeAmplitude(options: AmplitudeFakeOptions = {}): Promise<AmplitudeFake> {
  const now = options.now ?? Date.now;
  const credentials = {
    apiKey: options.apiKey ?? '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
    secretKey: options.secretKey ?? 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5',
  };
  const switches = new FakeSwitches();
  const events: AmplitudeEvent[] = [];
  const deletionJobs: AmplitudeFake['deletionJobs'] = [];
  const random = seededRandom(91);
  const days = options.days ?? 3;
  let amplitudeIds = 100_000;

  const count = options.seed?.events ?? 0;
  const first = now() - days * 86_400_000;
  const span = now() - 5 * HOUR - first;
  for (let i = 0; i < count; i++) {
    const person = fakePerson(i, random);
    const uploadedMs = Math.floor(first + ((i + 1) * span) / (count + 1));
    const identified = i % 3 !== 2;
    events.push({
      uuid: randomUUID(),
      $insert_id: `seed-${String(i).padStart(4, '0')}`,
      event_type: EVENT_TYPES[i % EVENT_TYPES.length],
      user_id: identified ? person.email : null,
      device_id: `device-${String(i % 7).padStart(5, '0')}`,
      event_time: amplitudeTime(uploadedMs - 90_000),
      server_upload_time: amplitudeTime(uploadedMs),
      event_properties: { plan: random() < 0.5 ? 'free' : 'pro' },
      user_properties: identified ? { email: person.email, first_name: person.firstName } : {},
      app: APP,
      amplitude_id: amplitudeIds++,
      uploadedMs,
    });
  }

  const basic = `Basic ${Buffer.from(`${credentials.apiKey}:${credentials.secretKey}`).toString('base64')}`;
  const exportView = ({ uploadedMs, ...event }: AmplitudeEvent) => event;

  async function exportRange(request: FakeRequest): Promise<FakeResponse> {
    const start = request.url.searchParams.get('start') ?? '';
    const end = request.url.searchParams.get('end') ?? '';
    if (!/^\d{8}T\d{2}$/.test(start) || !/^\d{8}T\d{2}$/.test(end))
      return { status: 400, body: 'start and end are required, formatted YYYYMMDDTHH' };
    const from = hourOf(start);
    const to = hourOf(end) + HOUR;
    if (to <= from || to - from > 365 * 86_400_000)
      return { status: 400, body: 'the range must be positive and at most 365 days' };
    const selected = events
      .filter((e) => e.uploadedMs >= from && e.uploadedMs < to)
      .sort((a, b) => a.uploadedMs - b.uploadedMs);
    if (selected.length === 0) return { status: 404, body: 'No data available for the time range requested.' };
    const byHour = new Map<number, AmplitudeEvent[]>();
    for (const e of selected)
      byHour.set(Math.floor(e.uploadedMs / HOUR), [...(byHour.get(Math.floor(e.uploadedMs / HOUR)) ?? []), e]);
    const files = [...byHour.entries()].map(([hour, list]) => {
      const at = new Date(hour * HOUR);
      return {
        name: `${APP}/${APP}_${at.toISOString().slice(0, 10)}_${at.getUTCHours()}#0.json.gz`,
        content: gzipSync(list.map((e) => `${JSON.stringify(exportView(e))}\n`).join('')),
      };
    });
    return {
      status: 200,
      headers: { 'content-type': 'application/zip', 'content-disposition': `attachment; filename="${APP}.zip"` },
      body: await zipOf(files),
    };
  }

  function upload(request: FakeRequest): FakeResponse {
    let body: { api_key?: unknown; events?: unknown };
    try {
      body = jsonBody(request) as typeof body;
    } catch {
      return { status: 400, body: { code: 400, error: 'Invalid JSON request body' } };
    }
    if (!body || typeof body.api_key !== 'string' || !body.api_key)
      return { status: 400, body: { code: 400, error: 'Request missing required field', missing_field: 'api_key' } };
    if (switches.authRevoked || body.api_key !== credentials.apiKey)
      return { status: 400, body: { code: 400, error: 'Invalid API key: ' + String(body.api_key).slice(0, 6) + '…' } };
    if (!Array.isArray(body.events) || body.events.length === 0)
      return { status: 400, body: { code: 400, error: 'Request missing required field', missing_field: 'events' } };
    if (request.body.length > 20 * 1024 * 1024) return { status: 413, body: { code: 413, error: 'Payload too large' } };
    const invalid: Record<string, number[]> = {};
    const missing: Record<string, number[]> = {};
    (body.events as Record<string, unknown>[]).forEach((e, i) => {
      if (typeof e?.event_type !== 'string' || !e.event_type) (missing.event_type ??= []).push(i);
      const id = (e?.user_id ?? e?.device_id) as unknown;
      if (typeof id !== 'string' || id.length < 5) (invalid.user_id ??= []).push(i);
      if (e?.time !== undefined && !Number.isInteger(e.time)) (invalid.time ??= []).push(i);
    });
    if (Object.keys(invalid).length || Object.keys(missing).length) {
      return {
        status: 400,
        body: {
          code: 400,
          error: 'Invalid field values on some events',
          ...(Object.keys(invalid).length ? { events_with_invalid_fields: invalid } : {}),
          ...(Object.keys(missing).length ? { events_with_missing_fields: missing } : {}),
        },
      };
    }
    const at = now();
    for (const e of body.events as Record<string, any>[]) {
      const insertId = typeof e.insert_id === 'string' ? e.insert_id : null;
      // Ignored: the same insert_id on the same device_id (if any) within the past 7 days.
      if (
        insertId &&
        events.some(
          (x) =>
            x.$insert_id === insertId && (x.device_id ?? '') === (e.device_id ?? '') && at - x.uploadedMs < DEDUPE_MS,
        )
      )
        continue;
      events.push({
        uuid: randomUUID(),
        $insert_id: insertId,
        event_type: e.event_type,
        user_id: e.user_id ?? null,
        device_id: e.device_id ?? null,
        event_time: amplitudeTime(typeof e.time === 'number' ? e.time : at),
        server_upload_time: amplitudeTime(at),
        event_properties: e.event_properties ?? {},
        user_properties: e.user_properties ?? {},
        app: APP,
        amplitude_id: amplitudeIds++,
        uploadedMs: at,
      });
    }
    return {
      status: 200,
      body: {
        code: 200,
        events_ingested: (body.events as unknown[]).length,
        payload_size_bytes: request.body.length,
        server_upload_time: at,
      },
    };
  }

  const handler = async (request: FakeRequest): Promise<FakeResponse> => {
    const path = request.url.pathname;
    if (request.method === 'POST' && (path === '/batch' || path === '/2/httpapi')) return upload(request);
    if (switches.authRevoked || request.headers.authorization !== basic) return { status: 401, body: errorBody(401) };
    if (request.method === 'GET' && path === '/api/2/export') return exportRange(request);
    if (request.method === 'POST' && path === '/api/2/deletions/users') {
      const body = jsonBody(request) as { user_ids?: unknown; amplitude_ids?: unknown; requester?: unknown };
      const userIds = Array.isArray(body?.user_ids) ? body.user_ids.map(String) : [];
      if (
        userIds.length + (Array.isArray(body?.amplitude_ids) ? body.amplitude_ids.length : 0) === 0 ||
        typeof body?.requester !== 'string'
      )
        return { status: 400, body: { error: 'user_ids or amplitude_ids, and requester, are required' } };
      if (userIds.length > 100) return { status: 400, body: { error: 'at most 100 ids per request' } };
      const day = new Date(now() + 30 * 86_400_000).toISOString().slice(0, 10);
      deletionJobs.push({ user_ids: userIds, requester: body.requester, day });
      const found = events.filter((e) => e.user_id !== null && userIds.includes(e.user_id));
      return {
        status: 200,
        body: [
          {
            day,
            status: 'staging',
            amplitude_ids: [...new Set(found.map((e) => e.amplitude_id))].map((id) => ({
              amplitude_id: id,
              requester: body.requester,
              requested_on_day: new Date(now()).toISOString().slice(0, 10),
            })),
            app: APP,
          },
        ],
      };
    }
    return { status: 404, body: { error: `no route ${request.method} ${path}` } };
  };

  const server = await serveFake(handler, { framing: MARKETING_FRAMING, faults: { switches, body: errorBody } });
  return {
    url: server.url,
    credentials,
    events,
    deletionJobs,
    close: () => server.close(),
    failNext: (status, times, headers) => switches.failNext(status, times, headers),
    revokeAuth: () => switches.revokeAuth(),
    restoreAuth: () => switches.restoreAuth(),
    requestCount: () => switches.requestCount(),
    ids: () => events.map((e) => e.uuid),
    touch(_object, id) {
      const event = events.find((e) => e.uuid === id);
      if (!event) throw new Error(`no event ${id}`);
      event.uploadedMs = now();
      event.server_upload_time = amplitudeTime(event.uploadedMs);
    },
    snapshot: () =>
      events
        .map(({ uuid, uploadedMs, server_upload_time, amplitude_id, ...rest }) => rest)
        .sort((a, b) => String(a.$insert_id).localeCompare(String(b.$insert_id))),
  };
}
