/**
 * Azure as deployed: the runtime and worker container apps on the Service Bus queue and event topic
 * the stack declares, served by the in-process Service Bus fake (test-services/servicebus-fake.ts)
 * with the queue's lock duration and max delivery count and the topic's subscriptions and rules.
 * The apps get everything the stack gives them except the namespace: the stack reaches it by
 * managed identity (DATA_SYNC_SERVICEBUS_HOST + AZURE_CLIENT_ID), which needs an Entra token from
 * the Container Apps identity endpoint that does not exist here, so the fake's connection string
 * (DATA_SYNC_SERVICEBUS_CONNECTION_STRING, which the runtime prefers) points both the queue and the
 * event bus at it, and NODE_EXTRA_CA_CERTS lets the administration client trust its certificate.
 */
import { type ServiceBusFake, describeWithService, startServiceBusFake, TEST_DATABASE_URL } from '@data-sync/test-services';
import { azureContainers, azureServiceBus, serviceBusNameVariables } from './support/azure';
import {
  ENVIRONMENTS,
  expectReadyAndJobTaken,
  expectVariablesWired,
  stackOf,
  withBootedStack,
} from './support/stack-boot';

describeWithService('Azure runtime processes boot with what the stack gives them', TEST_DATABASE_URL, () => {
  let fake: ServiceBusFake;
  beforeEach(async () => {
    fake = await startServiceBusFake();
  });
  afterEach(() => fake?.close());

  test.each(ENVIRONMENTS)(
    '%s: the runtime and worker apps are ready on Service Bus, and the worker takes the probe job the API puts on the queue',
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

      await withBootedStack(`azure-${environment}`, processes, expectReadyAndJobTaken, {
        variables: names[0],
        extra: { DATA_SYNC_SERVICEBUS_CONNECTION_STRING: fake.connectionString, NODE_EXTRA_CA_CERTS: fake.caFile },
      });
    },
    180_000,
  );
});
