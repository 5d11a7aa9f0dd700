/**
 * OCI as deployed: the Resource Scheduler invokes the trigger function with the stack's BODY, which
 * is the job message; OCI runs on the store queue in its PostgreSQL (no Streaming binding yet), so the
 * message is enqueued there and the worker handles it.
 */
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { parseJobText } from '@data-sync/config/job-message';
import {
  drainStoreQueue,
  expectNoEcho,
  expectPulledAndPushed,
  report,
  startWorld,
  expectWebhookSyncThroughApi,
  type World,
} from './support/scenario';
import { resource, synthesizedStack } from './support/synthesized';

describeWithService('OCI: Resource Scheduler body -> store queue -> worker', TEST_DATABASE_URL, () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld('oci');
  });
  afterAll(async () => world?.close());

  const bodyOf = (integration: string): string => {
    const schedule = resource(synthesizedStack('oci'), 'oci_resource_scheduler_schedule', `schedules_${integration}`);
    return schedule.resources[0].parameters.find((p: { parameter_type: string }) => p.parameter_type === 'BODY').value;
  };

  test("the stack's schedule body runs a pull through the pipeline, the push reaches Mailchimp, and its echo changes nothing", async () => {
    const enqueue = async (integration: string) => {
      const message = parseJobText(bodyOf(integration), `OCI schedule of ${integration}`);
      await world.runtime.queue.enqueue({
        kind: message.kind,
        integration: message.integration,
        payload: message.payload,
      });
    };
    await enqueue('salesforce');
    await drainStoreQueue(world);
    const figures = await expectPulledAndPushed(world, 'oci');
    await expectNoEcho(world, async () => {
      await enqueue('mailchimp');
      await drainStoreQueue(world);
    });
    report(figures);
  });

  test('a Salesforce outbound message through the API triggers the pull that brings the edited contact in; a forged one is refused', async () => {
    await expectWebhookSyncThroughApi(world);
  });
});
