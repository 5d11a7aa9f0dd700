/**
 * Azure as deployed: the runtime and worker container apps on the Service Bus queue and event topic
 * the stack declares, served by the in-process Service Bus fake (test-services/servicebus-fake.ts)
 * with the queue's lock duration and max delivery count and the topic's subscriptions and rules.
 * The apps get everything the stack gives them except the namespace: the stack reaches it by
 * managed identity (DATA_SYNC_SERVICEBUS_HOST + AZURE_CLIENT_ID), which needs an Entra token from
 * the Container Apps identity endpoint that does not exist here, so the fake's connection string
 * (DATA_SYNC_SERVICEBUS_CONNECTION_STRING, which the runtime prefers) points both the queue and the
 * event bus at it, NODE_EXTRA_CA_CERTS lets the administration client trust its certificate, and
 * DATA_SYNC_ALLOW_LOCAL_VENDORS lets the sync reach its loopback Mailchimp fake.
 */
import pino from 'pino';
import { loadConfig } from '@data-sync/sync-runtime/src/config';
import { createRuntime } from '@data-sync/sync-runtime/src/runtime/runtime';
import {
  type ServiceBusFake,
  describeWithService,
  startServiceBusFake,
  TEST_DATABASE_URL,
} from '@data-sync/test-services';
import type { StoredView } from '@data-sync/test-services/servicebus-fake';
import { startFakeMailchimp } from '@data-sync/vendor-fakes/mailchimp';
import { type DeclaredServiceBus, azureContainers, azureServiceBus, serviceBusNameVariables } from './support/azure';
import {
  type StackBoot,
  ENVIRONMENTS,
  expectReadyAndJobTaken,
  expectVariablesWired,
  stackOf,
  withBootedStack,
} from './support/stack-boot';

/**
 * A sync triggered through the API runs on the worker app, and the run's outcome event reaches
 * exactly the topic's subscriptions whose rules name it (the outbox publisher sends it to the topic).
 * The integration is written to the store directly, as the Cloudflare boot test does: the vendor is
 * a loopback fake.
 */
async function expectRunEventsRouted(
  fake: ServiceBusFake,
  boot: StackBoot,
  topic: string,
  declared: DeclaredServiceBus,
) {
  const mailchimp = await startFakeMailchimp({ seed: { newsletter: 3 } });
  const runtime = await createRuntime(
    loadConfig({ DATABASE_URL: boot.local.databaseUrl, DATA_SYNC_ENCRYPTION_KEY: boot.local.encryptionKey }),
    { logger: pino({ level: 'silent' }) },
  );
  try {
    await runtime.integrations.create({
      name: 'mailchimp',
      system: 'mailchimp',
      enabled: true,
      syncInterval: '15m',
      objects: ['newsletter'],
      webhookAllowlist: [],
      config: { apiKey: mailchimp.apiKey, baseUrl: mailchimp.url },
    });
    const api = boot.booted.find((b) => b.url)!;
    const triggered = await fetch(`${api.url}/api/sync/trigger/mailchimp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${boot.token}` },
    });
    expect(triggered.status).toBe(202);
    const { runId } = (await triggered.json()) as { runId: string };
    // The run's outcome event, from whichever subscription it reached first.
    const subscriptions = Object.entries(declared.topics[topic].subscriptions);
    const pathOf = (name: string) => `${topic}/Subscriptions/${name}`;
    const ofRun = (m: StoredView) => (m.body as { data?: { runId?: string } }).data?.runId === runId;
    let giveUp: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      ...subscriptions.map(([name]) =>
        fake.waitFor(pathOf(name), (ms) => ms.some(ofRun)).then((ms) => ms.find(ofRun)!),
      ),
      // A bound, not a wait: without it a lost event would hold the booted apps until jest gives up on the test.
      new Promise<never>((_, reject) => {
        giveUp = setTimeout(
          () => reject(new Error(`no outcome event of run ${runId} on ${topic} within 60 s`)),
          60_000,
        );
      }),
    ]).finally(() => clearTimeout(giveUp));
    expect(outcome.subject).toBe('com.datasync.sync.run.succeeded');
    for (const [name, s] of subscriptions) {
      const subjects = fake
        .messages(pathOf(name))
        .filter(ofRun)
        .map((m) => m.subject);
      expect({ name, subjects }).toEqual({
        name,
        subjects: !s.subjects || s.subjects.includes(outcome.subject!) ? [outcome.subject] : [],
      });
    }
  } finally {
    await runtime.close();
    await mailchimp.close();
  }
}

describeWithService('Azure runtime processes boot with what the stack gives them', TEST_DATABASE_URL, () => {
  let fake: ServiceBusFake;
  beforeEach(async () => {
    fake = await startServiceBusFake();
  });
  afterEach(() => fake?.close());

  test.each(ENVIRONMENTS)(
    '%s: the apps are ready on Service Bus, the worker takes the probe job and runs a sync the API queues, and its outcome event reaches the subscriptions whose rules name it',
    async (environment) => {
      const stack = stackOf('azure', environment);
      const processes = azureContainers(stack);
      expect(processes.map((p) => p.name.replace(/_app_[0-9A-F]+/, ''))).toEqual([
        'azurerm_container_app.runtime/runtime',
        'azurerm_container_app.worker/worker',
      ]);
      expect(processes.map((p) => p.command)).toEqual(processes.map(() => ['node', 'dist/runtime/azure.js']));
      expect(processes.map((p) => p.env.DATA_SYNC_QUEUE)).toEqual(['servicebus', 'servicebus']);
      expectVariablesWired(processes);

      const declared = azureServiceBus(stack);
      for (const [name, settings] of Object.entries(declared.queues)) fake.createQueue(name, settings);
      for (const [topic, { subscriptions, ...settings }] of Object.entries(declared.topics)) {
        fake.createTopic(topic, settings);
        for (const [name, subscription] of Object.entries(subscriptions))
          fake.createSubscription(topic, name, subscription);
      }
      // The apps name the queue and topic by reference: the names the stack gives them, as created above.
      const names = processes.map((p) => serviceBusNameVariables(stack, p.env));
      expect(names).toEqual(processes.map(() => names[0]));
      expect(Object.keys(declared.queues)).toContain(names[0].DATA_SYNC_SERVICEBUS_QUEUE);
      expect(Object.keys(declared.topics)).toContain(names[0].DATA_SYNC_EVENTS_TARGET);

      await withBootedStack(
        `azure-${environment}`,
        processes,
        async (boot) => {
          await expectReadyAndJobTaken(boot);
          await expectRunEventsRouted(fake, boot, names[0].DATA_SYNC_EVENTS_TARGET, declared);
        },
        {
          variables: names[0],
          extra: {
            DATA_SYNC_SERVICEBUS_CONNECTION_STRING: fake.connectionString,
            NODE_EXTRA_CA_CERTS: fake.caFile,
            // The sync's vendor is a loopback fake, which the runtime refuses otherwise.
            DATA_SYNC_ALLOW_LOCAL_VENDORS: 'true',
          },
        },
      );
    },
    180_000,
  );
});
