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
import { describeWithService, TEST_DATABASE_URL } from '../support/services';
import { start, type Runtime } from '../../services/sync-runtime/src/main';
import { drainStoreQueue, ENCRYPTION_KEY, expectNoEcho, expectPulledAndPushed, report, startWorld, type World } from './support/scenario';
import { resolveReferences, resource, synthesizedStack } from './support/synthesized';

const run = promisify(execFile);

describeWithService('Azure: Container Apps job command -> API -> worker', TEST_DATABASE_URL, () => {
  let world: World;
  let api: Runtime;
  let token: string;
  beforeAll(async () => {
    world = await startWorld('azure');
    api = await start({ env: { DATABASE_URL: world.databaseUrl, DATA_SYNC_ENCRYPTION_KEY: ENCRYPTION_KEY, DATA_SYNC_ROLE: 'api', HOST: '127.0.0.1', PORT: '0' }, logger: pino({ level: 'silent' }), print: () => undefined });
    token = (await world.runtime.tokens.create('azure-scheduler', 'operator')).token;
  });
  afterAll(async () => {
    await api?.stop();
    await world?.close();
  });

  /** Runs the job's container command as Container Apps would, with its environment resolved. */
  async function runJob(integration: string) {
    const container = resource(synthesizedStack('azure'), 'azurerm_container_app_job', `schedules_${integration}`).template.container[0];
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
});
