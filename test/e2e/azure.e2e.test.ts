/**
 * Azure as deployed: each schedule is a Container Apps job whose container runs the stack's command
 * (curl POST /api/sync/trigger/<integration> with an operator token from Key Vault). The test runs that
 * exact command with /bin/sh against the real API started from the runtime's entry point (main.ts),
 * and the worker handles what it queued. Service Bus has no emulator here: the jobs go through the
 * store queue (the Service Bus binding passes the shared queue contract suite at the SDK boundary).
 */
import { execFile } from 'child_process';
import { promisify } from 'util';
import pino from 'pino';
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { start, type Runtime } from '@data-sync/sync-runtime/src/main';
import {
  drainStoreQueue,
  ENCRYPTION_KEY,
  expectNoEcho,
  expectPulledAndPushed,
  expectWebhookSync,
  report,
  startWorld,
  type World,
} from './support/scenario';
import { resolveReferences, resource, synthesizedStack } from './support/synthesized';

const run = promisify(execFile);

describeWithService('Azure: Container Apps job command -> API -> worker', TEST_DATABASE_URL, () => {
  let world: World;
  let api: Runtime;
  let token: string;
  beforeAll(async () => {
    world = await startWorld('azure');
    api = await start({
      env: {
        DATABASE_URL: world.databaseUrl,
        DATA_SYNC_ENCRYPTION_KEY: ENCRYPTION_KEY,
        DATA_SYNC_ROLE: 'api',
        HOST: '127.0.0.1',
        PORT: '0',
        // The vendors are fakes on loopback.
        DATA_SYNC_ALLOW_LOCAL_VENDORS: 'true',
      },
      logger: pino({ level: 'silent' }),
      print: () => undefined,
    });
    token = (await world.runtime.tokens.create('azure-scheduler', 'operator')).token;
  });
  afterAll(async () => {
    await api?.stop();
    await world?.close();
  });

  /** Runs the job's container command as Container Apps would, with its environment resolved. */
  async function runJob(integration: string) {
    const container = resource(synthesizedStack('azure'), 'azurerm_container_app_job', `schedules_${integration}`)
      .template.container[0];
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    for (const variable of container.env as { name: string; value?: string; secret_name?: string }[]) {
      if (variable.secret_name) env[variable.name] = token;
      // The runtime's ingress FQDN once deployed; here the API listens on loopback without TLS.
      else env[variable.name] = resolveReferences(variable.value!, () => '').replace(/^https:\/\/$/, api.url!);
    }
    expect(container.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    const { stdout } = await run(container.command[0], container.command.slice(1), { env });
    expect(JSON.parse(stdout)).toMatchObject({ runId: expect.any(String) });
    await drainStoreQueue(world);
  }

  test("the stack's schedule command runs a pull through the pipeline, the push reaches Mailchimp, and its echo changes nothing", async () => {
    await runJob('salesforce');
    const figures = await expectPulledAndPushed(world, 'azure');
    await expectNoEcho(world, () => runJob('mailchimp'));
    report(figures);
  });

  test('a Salesforce outbound message through the API triggers the pull that brings the edited contact in; a forged one is refused', async () => {
    const post = async (path: string, body: string, headers: Record<string, string>) => {
      const response = await fetch(`${api.url}${path}`, { method: 'POST', headers, body });
      return { status: response.status, body: await response.text() };
    };
    await expectWebhookSync(world, post, () => drainStoreQueue(world));
  });

  test('erasure after a pull and a push: no table holds the email or phone, each vendor fake got its erasure, and the audit entry says where', async () => {
    const email = 'ada.lovelace@example.com';
    const admin = (await world.runtime.tokens.create('azure-dpo', 'admin')).token;
    const salesforceId = [...world.salesforce.state.objects.get('Contact')!.values()].find(
      (r) => String(r.Email).toLowerCase() === email,
    )!.Id;
    const answer = await fetch(`${api.url}/api/compliance/erasure`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ email }),
    });
    expect(answer.status).toBe(202);
    const body = await answer.json();
    expect(body.erased).toMatchObject({ contacts: 1, contact_sources: 2, sync_pushes: 1, synced_records: 2 });
    expect(body.vendorErasures.sort()).toEqual(['mailchimp', 'salesforce']);
    await drainStoreQueue(world);

    const tables = (
      await world.db.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
      )
    ).rows.map((r) => r.table_name);
    expect(tables).toEqual(
      expect.arrayContaining([
        'contacts',
        'synced_records',
        'contact_sources',
        'sync_pushes',
        'pipeline_quarantine',
        'jobs',
        'erasure_requests',
      ]),
    );
    for (const table of tables) {
      const { rows } = await world.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${table} t WHERE strpos(lower(t::text), $1) > 0 OR strpos(t::text, '4155552671') > 0`,
        [email],
      );
      expect({ table, rows: rows[0].n }).toEqual({ table, rows: 0 });
    }
    expect(world.salesforce.state.hardDeleted.has(salesforceId)).toBe(true);
    expect(world.mailchimp.state.forgotten.has(email)).toBe(true);
    const { rows: audit } = await world.db.query<{ details: { erased: Record<string, number> } }>(
      "SELECT details FROM audit_log WHERE action = 'gdpr.erase'",
    );
    expect(audit[0].details.erased).toMatchObject({ contacts: 1, synced_records: 2 });
    const vendorAudit = (
      await world.db.query<{ details: { integration: string } }>(
        "SELECT details FROM audit_log WHERE action = 'gdpr.vendor_erase' AND outcome = 'done'",
      )
    ).rows;
    expect(vendorAudit.map((r) => r.details.integration).sort()).toEqual(['mailchimp', 'salesforce']);
  });
});
