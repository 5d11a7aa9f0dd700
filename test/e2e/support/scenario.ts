/**
 * The data path as a user meets it, the same for every cloud: a Salesforce org (the fake, with the
 * dirty rows real orgs have) is pulled into the internal model, the changes are pushed to a Mailchimp
 * audience, and Mailchimp's echo of them comes back without changing anything. Each cloud's test only
 * says how its stack's messages reach the runtime (its real entry point); this module sets the world
 * up and checks what a user relies on.
 */
import { randomBytes } from 'crypto';
import pino from 'pino';
import { openPostgres, type Db } from '@data-sync/pipelines/db';
import { loadConfig } from '@data-sync/sync-runtime/src/config';
import { createRuntime, type SyncRuntime } from '@data-sync/sync-runtime/src/runtime/runtime';
import { LOCAL_QUEUES } from '@data-sync/sync-runtime/src/main';
import { startProcess } from '@data-sync/sync-runtime/src/process';
import type { QueueOpeners } from '@data-sync/sync-runtime/src/queue/open-queue';
import type { QueueBinding } from '@data-sync/sync-runtime/src/queue/binding';
import { buildOutboundMessage } from '@data-sync/integrations/crm/salesforce';
import { startFakeMailchimp, type MailchimpFake } from '@data-sync/vendor-fakes/mailchimp';
import { startFakeSalesforce, type FakeSalesforce } from '@data-sync/vendor-fakes/salesforce';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';

export const ORG = '00D5e000000E2EOEAA';
export const WEBHOOK_TOKEN = 'e2e-outbound-message-token';
export const ENCRYPTION_KEY = randomBytes(32).toString('base64');

/** The dirty rows: how the design's cleaning and the rule actions must treat each. */
export const DIRTY = {
  /** Mixed case and padded names: stored lower-cased, names trimmed and capitalised. */
  mixedCase: { FirstName: '  ada  ', LastName: 'LOVELACE', Email: 'Ada.Lovelace@Example.COM', Phone: '(415) 555-2671' },
  /** No valid email: quarantined with its reason. */
  badEmail: { FirstName: 'No', LastName: 'Mail', Email: 'not-an-email', Phone: null },
  /** A phone in the fictional 555-01xx range: the value is dropped, the contact kept. */
  fictionalPhone: { FirstName: 'Grace', LastName: 'Hopper', Email: 'grace.hopper@example.com', Phone: '555-0100' },
} as const;

export interface World {
  readonly name: string;
  readonly databaseUrl: string;
  readonly salesforce: FakeSalesforce;
  readonly mailchimp: MailchimpFake;
  /** A runtime on the world's database (for registering integrations and reading results). */
  readonly runtime: SyncRuntime;
  readonly db: Db;
  close(): Promise<void>;
}

const silent = pino({ level: 'silent' });

/**
 * A fresh database, the two vendor fakes, and the integrations an operator registers: Salesforce
 * (Contact, Lead) as a source, Mailchimp's `newsletter` as a source and a destination (pushObjects).
 * `queue` is the binding the world's runtime enqueues onto (the cloud's, when its test has one).
 */
export async function startWorld(name: string, options: { queue?: (db: Db) => QueueBinding } = {}): Promise<World> {
  const scratch = scratchDatabase(`e2e_${name}`);
  await scratch.create();
  const salesforce = await startFakeSalesforce({
    seed: { Contact: 30, Lead: 10 },
    organizationId: ORG,
    clientId: 'e2e-client',
    clientSecret: 'e2e-secret',
  });
  for (const row of Object.values(DIRTY)) salesforce.state.upsertRecord('Contact', { ...row });
  const mailchimp = await startFakeMailchimp({ seed: { newsletter: 5 } });
  const db = openPostgres(scratch.url, { max: 4 });
  const config = loadConfig({
    DATABASE_URL: scratch.url,
    DATA_SYNC_ENCRYPTION_KEY: ENCRYPTION_KEY,
    // The vendors are fakes on loopback.
    DATA_SYNC_ALLOW_LOCAL_VENDORS: 'true',
  });
  const runtime = await createRuntime(config, {
    db,
    logger: silent,
    ...(options.queue ? { queue: options.queue } : {}),
  });
  await runtime.integrations.create({
    name: 'salesforce',
    system: 'salesforce',
    enabled: true,
    syncInterval: '1h',
    objects: ['Contact', 'Lead'],
    webhookAllowlist: [],
    config: {
      baseUrl: salesforce.url,
      auth: { type: 'client_credentials', clientId: 'e2e-client', clientSecret: 'e2e-secret' },
      organizationId: ORG,
      webhookToken: WEBHOOK_TOKEN,
    },
  });
  await runtime.integrations.create({
    name: 'mailchimp',
    system: 'mailchimp',
    enabled: true,
    syncInterval: '15m',
    objects: ['newsletter'],
    pushObjects: ['newsletter'],
    webhookAllowlist: [],
    config: { apiKey: mailchimp.apiKey, baseUrl: mailchimp.url },
  });
  return {
    name,
    databaseUrl: scratch.url,
    salesforce,
    mailchimp,
    runtime,
    db,
    async close() {
      await runtime.close();
      await db.close();
      await Promise.all([salesforce.close(), mailchimp.close()]);
      await scratch.drop();
    },
  };
}

interface RunRow {
  integration: string;
  direction: string;
  status: string;
  received: number;
  accepted: number;
  quarantined: number;
  inserted: number;
  updated: number;
  unchanged: number;
  dropped: number;
  failed: number;
  error: string | null;
}

export async function runs(world: World): Promise<RunRow[]> {
  const { rows } = await world.db.query<RunRow>(
    'SELECT integration, direction, status, received, accepted, quarantined, inserted, updated, unchanged, dropped, failed, error FROM sync_runs ORDER BY queued_at, id',
  );
  return rows;
}

/** Members of the Mailchimp fake's `newsletter` audience, by email. */
export function newsletterEmails(world: World): Set<string> {
  const list = [...world.mailchimp.state.lists.values()].find((l) => l.name === 'newsletter');
  return new Set(
    [...(list?.members.values() ?? [])].map((m) =>
      String((m as { email_address: string }).email_address).toLowerCase(),
    ),
  );
}

export interface Figures {
  readonly cloud: string;
  readonly pulled: number;
  readonly quarantined: number;
  readonly dropped: number;
  readonly pushed: number;
  readonly echoesChanged: number;
}

/**
 * After the stack's schedule message for Salesforce went through the cloud's entry point and the
 * queued push ran: what every cloud must show.
 */
export async function expectPulledAndPushed(world: World, cloud: string): Promise<Figures> {
  const all = await runs(world);
  const pull = all.find((r) => r.integration === 'salesforce' && r.direction === 'pull');
  const push = all.find((r) => r.integration === 'mailchimp' && r.direction === 'push');
  expect(pull).toMatchObject({ status: 'succeeded', error: null });
  expect(push).toMatchObject({ status: 'succeeded', error: null });
  // 30 seeded contacts, 10 leads and the three dirty rows: one has no valid email.
  expect(pull!.quarantined).toBe(1);
  expect(pull!.dropped).toBeGreaterThanOrEqual(1);
  expect(pull!.inserted).toBe(30 + 10 + 2);

  const contact = async (email: string) =>
    (await world.db.query('SELECT email, first_name, last_name, phone, source FROM contacts WHERE email = $1', [email]))
      .rows[0];
  // The design document's cleaning: TRIM(LOWER(email)), INITCAP(TRIM(name)), digits and + of the phone (E.164).
  expect(await contact('ada.lovelace@example.com')).toEqual({
    email: 'ada.lovelace@example.com',
    first_name: 'Ada',
    last_name: 'Lovelace',
    phone: '+14155552671',
    source: 'salesforce',
  });
  expect(await contact('grace.hopper@example.com')).toMatchObject({
    first_name: 'Grace',
    phone: null,
    source: 'salesforce',
  });
  const quarantine = await world.db.query<{ errors: { field: string; rule: string }[] }>(
    'SELECT errors FROM pipeline_quarantine',
  );
  expect(quarantine.rows.map((r) => r.errors.map((e) => `${e.field}:${e.rule}`))).toEqual([['email:format']]);

  // Every Salesforce contact is now a newsletter member; Mailchimp's own members were not sent back.
  const members = newsletterEmails(world);
  const fromSalesforce = (
    await world.db.query<{ email: string }>("SELECT email FROM contacts WHERE source = 'salesforce'")
  ).rows.map((r) => r.email);
  expect(fromSalesforce).toHaveLength(42);
  for (const email of fromSalesforce) expect(members.has(email)).toBe(true);
  expect(push!.accepted).toBe(42);
  return {
    cloud,
    pulled: pull!.received,
    quarantined: pull!.quarantined,
    dropped: pull!.dropped,
    pushed: push!.accepted,
    echoesChanged: 0,
  };
}

/** Mailchimp's next pull brings the pushed members back: none may change a contact (echo suppression). */
export async function expectNoEcho(world: World, pullMailchimp: () => Promise<void>): Promise<number> {
  const before = (
    await world.db.query(
      'SELECT email, first_name, last_name, phone, company_name, updated_at, source FROM contacts ORDER BY email',
    )
  ).rows;
  await pullMailchimp();
  const pulls = (await runs(world)).filter((r) => r.integration === 'mailchimp' && r.direction === 'pull');
  const last = pulls[pulls.length - 1];
  expect(last).toMatchObject({ status: 'succeeded' });
  const after = (
    await world.db.query(
      'SELECT email, first_name, last_name, phone, company_name, updated_at, source FROM contacts ORDER BY email',
    )
  ).rows;
  const salesforceRows = (rows: Record<string, unknown>[]) => rows.filter((r) => r.source === 'salesforce');
  expect(salesforceRows(after)).toEqual(salesforceRows(before));
  // The 5 members Mailchimp had of its own are contacts now; nothing it echoed counts as a change.
  return after.length - before.length;
}

/** Prints one cloud's figures for the note and CI's log. */
export function report(figures: Figures): void {
  process.stdout.write(
    `e2e ${figures.cloud}: pulled ${figures.pulled}, quarantined ${figures.quarantined}, values dropped ${figures.dropped}, pushed ${figures.pushed}\n`,
  );
}

/**
 * The worker loop of the store queue (OCI, IBM, and the follow-up jobs of the clouds whose entry point
 * hands one job to the engine): claims and handles until nothing is ready, delayed or in flight.
 */
export async function drainStoreQueue(world: World): Promise<number> {
  const { queue, engine } = world.runtime;
  let handled = 0;
  for (let rounds = 0; rounds < 500; rounds++) {
    const jobs = await queue.claim(10, 30_000);
    for (const job of jobs) {
      await engine.handle(job);
      await queue.ack(job);
      handled++;
    }
    if (jobs.length > 0) continue;
    const depth = await queue.depth();
    if (depth.ready + depth.delayed + depth.inFlight === 0) return handled;
    // A debounced push is due in a moment: wait for it rather than spin.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('the store queue did not drain');
}

/**
 * The design's "Salesforce Contact Sync" over the data path: a contact is edited in Salesforce, whose
 * outbound message (the endpoint token in its URL, our OrganizationId) reaches the cloud's webhook
 * ingress; the queued webhook job triggers the pull that brings the edit into contacts.
 * `post` sends the request as the vendor would and answers status and body; `settle` runs the queue.
 */
export async function expectWebhookSync(
  world: World,
  post: (path: string, body: string, headers: Record<string, string>) => Promise<{ status: number; body: string }>,
  settle: () => Promise<unknown>,
): Promise<void> {
  const contact = [...world.salesforce.state.objects.get('Contact')!.values()].find(
    (r) => String(r.Email).toLowerCase() === 'grace.hopper@example.com',
  )!;
  world.salesforce.state.upsertRecord('Contact', { Id: contact.Id, FirstName: 'Amazing', LastName: 'Grace' });
  // Saved in a later second than the last sync saw, as a user's edit after it.
  world.salesforce.touch('Contact', String(contact.Id));
  const body = buildOutboundMessage({
    organizationId: ORG,
    notifications: [
      {
        notificationId: `04l${String(Date.now()).slice(-12)}AAA`,
        object: 'Contact',
        fields: { Id: String(contact.Id) },
      },
    ],
  });
  const forged = await post('/webhooks/salesforce?token=not-the-token', body, {
    'content-type': 'text/xml; charset=utf-8',
    soapaction: '""',
  });
  expect(forged.status).toBe(401);
  const answer = await post(`/webhooks/salesforce?token=${WEBHOOK_TOKEN}`, body, {
    'content-type': 'text/xml; charset=utf-8',
    soapaction: '""',
  });
  // Salesforce retries until it gets its SOAP Ack.
  expect(answer).toEqual({ status: 200, body: expect.stringContaining('<Ack>true</Ack>') });
  await settle();
  const { rows } = await world.db.query('SELECT first_name, last_name, source FROM contacts WHERE email = $1', [
    'grace.hopper@example.com',
  ]);
  expect(rows).toEqual([{ first_name: 'Amazing', last_name: 'Grace', source: 'salesforce' }]);
  const audit = await world.db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM audit_log WHERE action = 'webhook.rejected' AND target = 'salesforce'",
  );
  expect(audit.rows[0].n).toBe(1);
}

/** The runtime's API process (main.ts, role api) on the world's database; `env` adds the cloud's queue settings. */
export async function startApi(
  world: World,
  env: Record<string, string> = {},
  queues: QueueOpeners = LOCAL_QUEUES,
): Promise<{
  url: string;
  post: (path: string, body: string, headers: Record<string, string>) => Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}> {
  const api = await startProcess({
    queues,
    env: {
      DATABASE_URL: world.databaseUrl,
      DATA_SYNC_ENCRYPTION_KEY: ENCRYPTION_KEY,
      DATA_SYNC_ROLE: 'api',
      HOST: '127.0.0.1',
      PORT: '0',
      // Jobs pushed to the API (Pub/Sub push) call the vendor fakes on loopback.
      DATA_SYNC_ALLOW_LOCAL_VENDORS: 'true',
      ...env,
    },
    logger: silent,
    print: () => undefined,
  });
  return {
    url: api.url!,
    async post(path, body, headers) {
      const response = await fetch(`${api.url}${path}`, { method: 'POST', headers, body });
      return { status: response.status, body: await response.text() };
    },
    stop: () => api.stop(),
  };
}

/** expectWebhookSync through the runtime's API process, with the jobs on the store queue (GCP, OCI, IBM here). */
export async function expectWebhookSyncThroughApi(world: World): Promise<void> {
  const api = await startApi(world);
  try {
    await expectWebhookSync(world, api.post, () => drainStoreQueue(world));
  } finally {
    await api.stop();
  }
}
