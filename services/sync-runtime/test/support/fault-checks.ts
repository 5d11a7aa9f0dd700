/**
 * What the fault suite's cases share: the invariants they assert (every record once, no run left open), waiting
 * for a run to settle, and talking to a runtime child over HTTP (the HubSpot integration, signed webhooks).
 */
import { randomUUID } from 'crypto';
import type { Db } from '@data-sync/pipelines/db';
import { hubspotSignatureV3 } from '@data-sync/vendor-fakes/hubspot';
import { FAULT_ADMIN_TOKEN } from './runtime-child';

/** The client secret signing the suite's HubSpot webhooks. */
export const HUBSPOT_CLIENT_SECRET = 'app-secret-1';

/** Polls `probe` every `everyMs` until it returns a value other than undefined; throws `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Resolves once the run is closed and its job is off the queue (acknowledged, or dead-lettered): a failed
 * delivery marks the run failed until the queue delivers it again, so the status alone is not the end. On a
 * queue outside the store (Redis) only the run's status is known here.
 */
export function settled(db: Db, runId: string, timeoutMs = 120_000): Promise<{ status: string; error: string | null }> {
  return until(
    `run ${runId} did not settle`,
    async () => {
      const { rows } = await db.query<{ status: string; error: string | null; pending: boolean }>(
        `SELECT status, error, EXISTS (SELECT 1 FROM jobs WHERE payload->>'runId' = $1 AND status <> 'dead') AS pending
           FROM sync_runs WHERE id = $1`,
        [runId],
      );
      const run = rows[0];
      if (run && !run.pending && run.status !== 'queued' && run.status !== 'running')
        return { status: run.status, error: run.error };
      return undefined;
    },
    timeoutMs,
  );
}

/**
 * Resolves with every sync run once none is queued or running; throws naming the open ones after `timeoutMs`.
 * A case's own run is not the only one: the scheduler's first tick may queue one for the new integration
 * beside it, which settles the same way.
 */
export async function runsClosed(
  db: Db,
  timeoutMs = 120_000,
): Promise<{ id: string; status: string; actor: string; error: string | null }[]> {
  let open: unknown[] = [];
  try {
    return await until(
      'every sync run closed',
      async () => {
        const { rows } = await db.query<{ id: string; status: string; actor: string; error: string | null }>(
          'SELECT id, status, actor, error FROM sync_runs ORDER BY queued_at',
        );
        open = rows.filter((r) => r.status === 'queued' || r.status === 'running');
        return open.length === 0 ? rows : undefined;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; still open: ${JSON.stringify(open)}`, { cause: error });
  }
}

/** Every one of `contacts` HubSpot contacts once, in the replica and in the internal model, and no run left open. */
export async function expectComplete(db: Db, contacts: number): Promise<void> {
  await runsClosed(db);
  const model = await db.query<{ total: string; distinct: string }>(
    `SELECT count(*) AS total, count(DISTINCT email) AS distinct FROM contacts WHERE source = 'hubspot'`,
  );
  expect({ total: Number(model.rows[0].total), distinct: Number(model.rows[0].distinct) }).toEqual({
    total: contacts,
    distinct: contacts,
  });
  const replica = await db.query<{ total: string; distinct: string }>(
    `SELECT count(*) AS total, count(DISTINCT external_id) AS distinct FROM synced_records WHERE integration = 'hubspot' AND object = 'contacts'`,
  );
  expect({ total: Number(replica.rows[0].total), distinct: Number(replica.rows[0].distinct) }).toEqual({
    total: contacts,
    distinct: contacts,
  });
}

const admin = { authorization: `Bearer ${FAULT_ADMIN_TOKEN}`, 'content-type': 'application/json' };

/** Creates the `hubspot` integration (contacts, pages of `pageSize`) through the runtime's API. */
export async function createHubSpotIntegration(
  runtimeUrl: string,
  vendor: { url: string; accessToken: string },
  pageSize = 10,
): Promise<void> {
  const response = await fetch(`${runtimeUrl}/api/integrations`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({
      name: 'hubspot',
      system: 'hubspot',
      objects: ['contacts'],
      syncInterval: '1h',
      config: {
        baseUrl: vendor.url,
        accessToken: vendor.accessToken,
        clientSecret: HUBSPOT_CLIENT_SECRET,
        pageSize,
        searchPageSize: pageSize,
      },
    }),
  });
  if (response.status !== 201) throw new Error(`creating the integration: ${response.status} ${await response.text()}`);
}

/** POST /api/sync/trigger/hubspot as the admin: the HTTP status, Retry-After, and the run id when queued. */
export async function triggerSync(
  runtimeUrl: string,
  full = true,
): Promise<{ status: number; retryAfter: string | null; runId?: string }> {
  const response = await fetch(`${runtimeUrl}/api/sync/trigger/hubspot`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ full }),
  });
  const body = (await response.json()) as { runId?: string };
  return { status: response.status, retryAfter: response.headers.get('retry-after'), runId: body.runId };
}

/** One signed HubSpot webhook carrying one new contact event; resolves with the HTTP status and the event's id. */
export async function sendHubSpotWebhook(runtimeUrl: string): Promise<{ status: number; eventId: string }> {
  const eventNumber = randomUUID();
  const body = JSON.stringify([
    { eventId: eventNumber, portalId: 1, subscriptionType: 'contact.propertyChange', objectId: 1 },
  ]);
  const url = `${runtimeUrl}/webhooks/hubspot`;
  const timestamp = Date.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hubspot-request-timestamp': String(timestamp),
      'x-hubspot-signature-v3': hubspotSignatureV3(HUBSPOT_CLIENT_SECRET, 'POST', url, body, timestamp),
    },
    body,
  });
  await response.arrayBuffer();
  return { status: response.status, eventId: `hubspot:1:${eventNumber}` };
}

/** The webhook events the runtime has processed (recorded once each), and how many the audit log says it processed. */
export async function processedWebhookEvents(db: Db): Promise<{ ids: Set<string>; audited: number }> {
  const events = await db.query<{ event_id: string }>(
    `SELECT event_id FROM webhook_events WHERE integration = 'hubspot'`,
  );
  const audit = await db.query<{ n: string | null }>(
    `SELECT sum((details->>'events')::int) AS n FROM audit_log WHERE action = 'webhook.processed' AND target = 'hubspot'`,
  );
  return { ids: new Set(events.rows.map((r) => r.event_id)), audited: Number(audit.rows[0].n ?? 0) };
}

/** What a webhook flood sent: the event ids answered 202, every answer by status (0: no answer), latencies in ms. */
export interface FloodFigures {
  readonly accepted: string[];
  readonly statuses: Record<number, number>;
  readonly latencies: number[];
}

/**
 * Sends signed webhooks over `connections` loops until `stop()` is called; `onAnswer` sees each answer as it
 * arrives (a test kills or pauses something after so many). Resolves with what was sent once every loop ended.
 */
export function startFlood(
  runtimeUrl: () => string,
  connections: number,
  onAnswer: (status: number, figures: FloodFigures) => void = () => undefined,
): { figures: FloodFigures; stop(): Promise<FloodFigures> } {
  const figures: FloodFigures = { accepted: [], statuses: {}, latencies: [] };
  let stopped = false;
  const loops = Array.from({ length: connections }, async () => {
    while (!stopped) {
      const started = performance.now();
      const { status, eventId } = await sendHubSpotWebhook(runtimeUrl()).catch(() => ({ status: 0, eventId: '' }));
      figures.latencies.push(performance.now() - started);
      figures.statuses[status] = (figures.statuses[status] ?? 0) + 1;
      if (status === 202) figures.accepted.push(eventId);
      onAnswer(status, figures);
      // A refused connection answers at once: without a pause the loop would spin while the runtime is down.
      if (status === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
  return {
    figures,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return figures;
    },
  };
}

/** The `p`-th percentile (0-100) of `values`, rounded to ms. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
}

/** Resolves once every id of `accepted` is among the processed webhook events. */
export function allProcessed(db: Db, accepted: readonly string[], timeoutMs = 120_000) {
  return until(
    `${accepted.length} accepted webhook events were not all processed`,
    async () => {
      const processed = await processedWebhookEvents(db);
      return accepted.every((id) => processed.ids.has(id)) ? processed : undefined;
    },
    timeoutMs,
    100,
  );
}
