/**
 * Accounts outbound through the real runtime (createRuntime on PostgreSQL, the store queue): SAP
 * organizations reach Dataverse accounts (upserted by account number), an edit in SAP follows, and the
 * Dataverse echo of what was pushed is not pushed back into SAP.
 */
import pino from 'pino';
import { openPostgres, type Db } from '@data-sync/pipelines/db';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { startFakeDynamics, type FakeDynamics } from '@data-sync/vendor-fakes/dynamics';
import { startFakeSap, type FakeSap } from '@data-sync/vendor-fakes/sap';
import { loadConfig } from '../config';
import { createRuntime, type SyncRuntime } from '../runtime/runtime';

const scratch = scratchDatabase('push_accounts');
let db: Db;
let runtime: SyncRuntime;
let sap: FakeSap;
let dynamics: FakeDynamics;

beforeAll(async () => {
  await scratch.create();
  [sap, dynamics] = await Promise.all([
    startFakeSap({ seed: { organizations: 2 } }),
    startFakeDynamics({ seed: { accounts: 1 } }),
  ]);
  // Customers in SAP carry their customer number: the account number Dataverse upserts by.
  for (const id of sap.ids('organizations')) sap.state.edit(id, { Customer: `C${id}` });
  db = openPostgres(scratch.url, { max: 4 });
  const config = loadConfig({
    DATABASE_URL: scratch.url,
    DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64'),
    // The SAP and Dataverse fakes listen on loopback.
    DATA_SYNC_ALLOW_LOCAL_VENDORS: 'true',
  });
  runtime = await createRuntime(config, { db, logger: pino({ level: 'silent' }) });
  const base = { enabled: true, syncInterval: '1h', webhookAllowlist: [] };
  await runtime.integrations.create({
    ...base,
    name: 'sap',
    system: 'sap',
    objects: ['organizations'],
    pushObjects: ['organizations'],
    config: { baseUrl: sap.url, auth: { type: 'basic', username: sap.state.username, password: sap.state.password } },
  });
  const d = dynamics.state;
  await runtime.integrations.create({
    ...base,
    name: 'dynamics',
    system: 'dynamics',
    objects: ['accounts'],
    pushObjects: ['accounts'],
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
  await Promise.all([sap?.close(), dynamics?.close()]);
  await scratch.drop();
});

/** The store queue's worker loop until nothing is ready, delayed or in flight. */
async function sync(name: string, full = false): Promise<void> {
  const { queue, engine } = runtime;
  await engine.trigger(name, { actor: 'test', full });
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

const sapEtags = () =>
  new Map([...sap.state.sets.get('A_BusinessPartner')!.values()].map((bp) => [String(bp.BusinessPartner), bp.__etag]));
const dataverseAccounts = () =>
  new Map([...dynamics.state.tables.get('accounts')!.values()].map((r) => [String(r.accountnumber), r]));

test('SAP organizations reach Dataverse accounts by account number, an edit follows, and the echo is not pushed back to SAP', async () => {
  await sync('sap', true);
  await sync('dynamics', true);
  const organizations = sap.snapshot('organizations') as {
    BusinessPartner: string;
    OrganizationBPName1: string;
    emails: string[];
  }[];
  for (const org of organizations)
    expect(dataverseAccounts().get(`C${org.BusinessPartner}`)).toMatchObject({
      name: org.OrganizationBPName1,
      emailaddress1: org.emails[0],
    });

  // Dataverse's next pull brings the pushed accounts back; SAP's push must not send them home again.
  const etags = sapEtags();
  await sync('dynamics');
  await sync('sap');
  expect(sapEtags()).toEqual(etags);
  const echoes = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM accounts WHERE source = 'dynamics'");
  expect(echoes.rows[0].n).toBe(1 + organizations.length);

  const [renamed] = organizations;
  sap.state.edit(renamed.BusinessPartner, { OrganizationBPName1: 'Initech Holding' });
  await sync('sap');
  await sync('dynamics');
  expect(dataverseAccounts().get(`C${renamed.BusinessPartner}`)).toMatchObject({ name: 'Initech Holding' });

  const runs = await db.query<{ status: string }>("SELECT status FROM sync_runs WHERE status <> 'succeeded'");
  expect(runs.rows).toEqual([]);
  expect(sap.violations!()).toEqual([]);
  expect(dynamics.violations!()).toEqual([]);
}, 120_000);
