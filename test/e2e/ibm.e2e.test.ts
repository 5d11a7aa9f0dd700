/**
 * IBM as deployed: the runtime runs on the store queue in its PostgreSQL, and its own scheduler (the
 * worker role the stack deploys) enqueues each enabled integration's runs on its sync interval. The
 * interval is read from the stack's Code Engine cron command for the integration.
 */
import pino from 'pino';
import { intervalMinutes } from '@data-sync/config/integrations';
import { createScheduler } from '@data-sync/sync-runtime/src/engine';
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import {
  drainStoreQueue,
  expectNoEcho,
  expectPulledAndPushed,
  report,
  startWorld,
  expectWebhookSyncThroughApi,
  type World,
} from './support/scenario';
import { synthesizedStack } from './support/synthesized';

describeWithService('IBM: the worker scheduler -> store queue -> worker', TEST_DATABASE_URL, () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld('ibm');
  });
  afterAll(async () => world?.close());

  /** Minutes of the integration's schedule, from the stack's `# every N min` cron command. */
  const minutesOf = (integration: string): number => {
    const commands: string[] = synthesizedStack('ibm').output.schedule_commands.value;
    const command = commands.find((c) => c.includes(`--path /api/sync/trigger/${integration} `));
    if (!command) throw new Error(`the IBM stack schedules no ${integration}`);
    return Number(/# every (\d+) min$/.exec(command)![1]);
  };

  test('a due schedule runs a pull through the pipeline, the push reaches Mailchimp, and its echo changes nothing', async () => {
    const only = new Set<string>();
    const source = {
      get: (name: string) => world.runtime.integrations.source.get(name),
      list: async () => (await world.runtime.integrations.source.list()).filter((i) => only.has(i.name)),
    };
    const scheduler = createScheduler({
      db: world.db,
      engine: world.runtime.engine,
      integrations: source,
      intervals: (name) => minutesOf(name),
      logger: pino({ level: 'silent' }),
    });
    expect(minutesOf('salesforce')).toBe(intervalMinutes('1h'));
    only.add('salesforce');
    expect(await scheduler.tick(new Date())).toEqual(['salesforce']);
    await drainStoreQueue(world);
    const figures = await expectPulledAndPushed(world, 'ibm');
    await expectNoEcho(world, async () => {
      only.clear();
      only.add('mailchimp');
      expect(await scheduler.tick(new Date())).toEqual(['mailchimp']);
      await drainStoreQueue(world);
    });
    report(figures);
  });

  test('a Salesforce outbound message through the API triggers the pull that brings the edited contact in; a forged one is refused', async () => {
    await expectWebhookSyncThroughApi(world);
  });
});
