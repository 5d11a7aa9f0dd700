/**
 * GCP as deployed: Cloud Scheduler publishes the stack's `pubsub_target` (data and attributes) to the
 * jobs topic, and the push subscription delivers it to the runtime in Pub/Sub's push format, which the
 * push route decodes (decodePubsubPush) and hands to the engine. The OIDC check of the route has its
 * own tests (api/pubsub-push.test.ts); here the envelope is what Pub/Sub would send.
 */
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { decodePubsubPush } from '@data-sync/sync-runtime/src/queue/pubsub-push';
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

describeWithService('GCP: Cloud Scheduler -> Pub/Sub push -> runtime', TEST_DATABASE_URL, () => {
  let world: World;
  let delivered = 0;
  beforeAll(async () => {
    world = await startWorld('gcp');
  });
  afterAll(async () => world?.close());

  /** One push delivery of the scheduler job's message, as Pub/Sub frames it. */
  async function deliver(integration: string) {
    const target = resource(
      synthesizedStack('gcp'),
      'google_cloud_scheduler_job',
      `schedules_${integration}`,
    ).pubsub_target;
    expect(target.topic_name).toMatch(/^\$\{google_pubsub_topic\.queue_jobs_\w+\.id\}$/);
    const push = {
      message: {
        data: target.data,
        attributes: target.attributes ?? {},
        messageId: `m-${++delivered}`,
        publishTime: new Date().toISOString(),
      },
      subscription: 'projects/e2e/subscriptions/data-sync-dev-jobs-push',
      deliveryAttempt: 1,
    };
    const { job } = decodePubsubPush(JSON.parse(JSON.stringify(push)));
    await world.runtime.engine.handle(job);
    // What the run queued (the push) goes through the queue like any job.
    await drainStoreQueue(world);
  }

  test("the stack's schedule message runs a pull through the pipeline, the push reaches Mailchimp, and its echo changes nothing", async () => {
    await deliver('salesforce');
    const figures = await expectPulledAndPushed(world, 'gcp');
    await expectNoEcho(world, () => deliver('mailchimp'));
    report(figures);
  });

  test('a Salesforce outbound message through the API triggers the pull that brings the edited contact in; a forged one is refused', async () => {
    await expectWebhookSyncThroughApi(world);
  });
});
