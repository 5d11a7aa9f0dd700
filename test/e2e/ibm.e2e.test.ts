/**
 * IBM as deployed: the runtime runs on the store queue in its PostgreSQL, and its own scheduler (the
 * worker role of the Code Engine job the stack deploys) enqueues each enabled integration's runs on
 * its registered sync interval.
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

  test('a due schedule runs a pull through the pipeline, the push reaches Mailchimp, and its echo changes nothing', async () => {
    // The stack's other daemon job is n8n main's metrics relay.
    const worker = Object.values<any>(synthesizedStack('ibm').resource.ibm_code_engine_job).find((j) =>
      String(j.name).endsWith('-worker'),
    );
    expect(worker.run_env_variables).toContainEqual({ type: 'literal', name: 'DATA_SYNC_ROLE', value: 'worker' });
    // The worker's scheduler reads each integration's interval from its registration (process.ts).
    const registered = new Map(
      (await world.runtime.integrations.list()).map((i) => [i.name, intervalMinutes(i.syncInterval)]),
    );
    const only = new Set<string>();
    const source = {
      get: (name: string) => world.runtime.integrations.source.get(name),
      list: async () => (await world.runtime.integrations.source.list()).filter((i) => only.has(i.name)),
    };
    const scheduler = createScheduler({
      db: world.db,
      engine: world.runtime.engine,
      integrations: source,
      intervals: (name) => registered.get(name),
      logger: pino({ level: 'silent' }),
    });
    expect(registered.get('salesforce')).toBe(intervalMinutes('1h'));
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
