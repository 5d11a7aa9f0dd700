/**
 * The ERP data path as an operator runs it, through the real runtime (createRuntime on PostgreSQL, the
 * store queue and its worker loop): SAP business partners are pulled into contacts (persons) and
 * accounts (organizations), and the persons are pushed to a CRM (HubSpot) and to Dynamics 365; a partner
 * edited in SAP reaches both; the destinations' next pulls bring the pushed contacts back without
 * changing any of them, and nothing is pushed back into SAP.
 */
import pino from 'pino';
import { openPostgres, type Db } from '@data-sync/pipelines/db';
import { loadConfig } from '@data-sync/sync-runtime/src/config';
import { createRuntime, type SyncRuntime } from '@data-sync/sync-runtime/src/runtime/runtime';
import { startFakeDynamics, type FakeDynamics } from '@data-sync/vendor-fakes/dynamics';
import { startFakeHubSpot, type FakeHubSpot } from '@data-sync/vendor-fakes/hubspot';
import { startFakeSap, type FakeSap } from '@data-sync/vendor-fakes/sap';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';

const scratch = scratchDatabase('erp_data_path');
let db: Db;
let runtime: SyncRuntime;
let sap: FakeSap;
let hubspot: FakeHubSpot;
let dynamics: FakeDynamics;

beforeAll(async () => {
  await scratch.create();
  [sap, hubspot, dynamics] = await Promise.all([
    startFakeSap({ seed: { persons: 6, organizations: 2 } }),
    startFakeHubSpot({ seed: { contacts: 2 }, accessToken: 'pat-erp-data-path' }),
    startFakeDynamics({ seed: { contacts: 2 } }),
  ]);
  db = openPostgres(scratch.url, { max: 4 });
  const config = loadConfig({
    DATABASE_URL: scratch.url,
    DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    // The vendors are fakes on loopback.
    DATA_SYNC_ALLOW_LOCAL_VENDORS: 'true',
  });
  runtime = await createRuntime(config, { db, logger: pino({ level: 'silent' }) });
  const base = { enabled: true, syncInterval: '1h', webhookAllowlist: [] };
  await runtime.integrations.create({
    ...base,
    name: 'sap',
    system: 'sap',
    objects: ['persons', 'organizations'],
    pushObjects: ['persons'],
    config: { baseUrl: sap.url, auth: { type: 'basic', username: sap.state.username, password: sap.state.password } },
  });
  await runtime.integrations.create({
    ...base,
    name: 'hubspot',
    system: 'hubspot',
    objects: ['contacts'],
    pushObjects: ['contacts'],
    config: { baseUrl: hubspot.url, accessToken: 'pat-erp-data-path', clientSecret: 'erp-data-path-app-secret' },
  });
  const d = dynamics.state;
  await runtime.integrations.create({
    ...base,
    name: 'dynamics',
    system: 'dynamics',
    objects: ['contacts'],
    pushObjects: ['contacts'],
    config: {
      orgUrl: dynamics.url,
      tenantId: d.tenantId,
      tokenUrl: `${dynamics.url}/${d.tenantId}/oauth2/v2.0/token`,
      clientId: d.clientId,
      clientSecret: d.clientSecret,
    },
  });
}, 60_000);

afterAll(async () => {
  await runtime?.close();
  await db?.close();
  await Promise.all([sap?.close(), hubspot?.close(), dynamics?.close()]);
  await scratch.drop();
});

/** The store queue's worker loop until nothing is ready, delayed or in flight (pushes are debounced). */
async function drain(): Promise<void> {
  const { queue, engine } = runtime;
  for (let rounds = 0; rounds < 400; rounds++) {
    const jobs = await queue.claim(10, 30_000);
    for (const job of jobs) {
      await engine.handle(job);
      await queue.ack(job);
    }
    if (jobs.length > 0) continue;
    const depth = await queue.depth();
    if (depth.ready + depth.delayed + depth.inFlight === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the store queue did not drain');
}

async function sync(name: string, full = false): Promise<void> {
  await runtime.engine.trigger(name, { actor: 'test', full });
  await drain();
}

/** Each partner's ETag: any write, even of unchanged values, gives a new one. */
const sapEtags = () =>
  new Map([...sap.state.sets.get('A_BusinessPartner')!.values()].map((bp) => [String(bp.BusinessPartner), bp.__etag]));
const sapPeople = () =>
  sap.snapshot('persons') as { BusinessPartner: string; FirstName: string; LastName: string; emails: string[] }[];
const hubspotByEmail = () =>
  new Map(
    [...hubspot.state.objects.get('contacts')!.values()].map((r) => [
      String(r.properties.email).toLowerCase(),
      r.properties,
    ]),
  );
const dynamicsByEmail = () =>
  new Map([...dynamics.state.tables.get('contacts')!.values()].map((r) => [String(r.emailaddress1).toLowerCase(), r]));
const contactRows = async () =>
  (
    await db.query<Record<string, unknown>>(
      'SELECT email, first_name, last_name, phone, updated_at, source FROM contacts ORDER BY email',
    )
  ).rows;

test('an SAP business partner reaches contacts (organizations: accounts), HubSpot and Dynamics; an edit in SAP follows; the echoes change nothing', async () => {
  const destinationsOwn = [...hubspotByEmail().keys(), ...dynamicsByEmail().keys()].sort();
  const seeded = sapEtags();
  await sync('sap', true);
  // SAP's own partners were not written back to it.
  expect(sapEtags()).toEqual(seeded);
  const people = sapPeople();
  const contacts = await contactRows();
  for (const person of people) {
    const email = person.emails[0];
    expect(contacts.find((c) => c.email === email)).toMatchObject({
      first_name: person.FirstName,
      last_name: person.LastName,
      source: 'sap',
    });
    expect(hubspotByEmail().get(email)).toMatchObject({ firstname: person.FirstName, lastname: person.LastName });
    expect(dynamicsByEmail().get(email)).toMatchObject({ firstname: person.FirstName, lastname: person.LastName });
  }

  const organizations = (
    sap.snapshot('organizations') as { BusinessPartner: string; OrganizationBPName1: string }[]
  ).map((o) => [o.BusinessPartner, o.OrganizationBPName1]);
  const accounts = await db.query<{ external_id: string; name: string }>(
    "SELECT external_id, name FROM accounts WHERE source = 'sap' ORDER BY external_id",
  );
  expect(accounts.rows.map((a) => [a.external_id, a.name])).toEqual(organizations);

  // A user renames one partner in SAP: the next hourly pull carries it through to both destinations.
  const [renamed] = people;
  sap.state.edit(renamed.BusinessPartner, { FirstName: 'Augusta' });
  const edited = sapEtags();
  await sync('sap');
  expect(sapEtags()).toEqual(edited);
  const email = renamed.emails[0];
  expect((await contactRows()).find((c) => c.email === email)).toMatchObject({ first_name: 'Augusta', source: 'sap' });
  expect(hubspotByEmail().get(email)).toMatchObject({ firstname: 'Augusta' });
  expect(dynamicsByEmail().get(email)).toMatchObject({ firstname: 'Augusta' });

  // The destinations' pulls bring every pushed contact back: none may change a contact from SAP, and
  // SAP receives none of its own partners again (only the destinations' own contacts are new to it).
  const fromSap = (rows: Record<string, unknown>[]) => rows.filter((r) => r.source === 'sap');
  const before = fromSap(await contactRows());
  const sapBefore = sapPeople();
  const etagsBefore = sapEtags();
  await sync('hubspot');
  await sync('dynamics');
  expect(fromSap(await contactRows())).toEqual(before);
  const sapAfter = sapPeople();
  const etagsAfter = sapEtags();
  for (const [id, etag] of etagsBefore) expect({ id, etag: etagsAfter.get(id) }).toEqual({ id, etag });
  // SAP's only new partners are the destinations' own contacts, pushed to it as to every destination.
  const known = new Set(sapBefore.map((p) => p.BusinessPartner));
  expect(
    sapAfter
      .filter((p) => !known.has(p.BusinessPartner))
      .map((p) => p.emails[0])
      .sort(),
  ).toEqual(destinationsOwn);

  const runs = (
    await db.query<{ integration: string; direction: string; status: string; error: string | null }>(
      'SELECT integration, direction, status, error FROM sync_runs',
    )
  ).rows;
  expect(runs.filter((r) => r.status !== 'succeeded')).toEqual([]);
  expect(new Set(runs.map((r) => `${r.integration}:${r.direction}`))).toEqual(
    new Set(['sap:pull', 'sap:push', 'hubspot:pull', 'hubspot:push', 'dynamics:pull', 'dynamics:push']),
  );
  expect(sap.violations!()).toEqual([]);
  expect(dynamics.violations!()).toEqual([]);
}, 120_000);
