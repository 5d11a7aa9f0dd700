/**
 * Azure as deployed: the runtime and worker container apps with the Service Bus binding the stack
 * selects. Service Bus has no emulator that runs here (the official one is a container), so the boot
 * shows the processes start with what the stack gives them and reach the store, and that readiness
 * reports the namespace the stack names as the queue; taking a job is shown by the Service Bus
 * binding's contract suite at the SDK boundary (queue/servicebus-binding.test.ts).
 */
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { azureContainers } from './support/azure';
import { ENVIRONMENTS, expectVariablesWired, stackOf, withBootedStack } from './support/stack-boot';

describeWithService('Azure runtime processes boot with what the stack gives them', TEST_DATABASE_URL, () => {
  test.each(ENVIRONMENTS)(
    '%s: the runtime and worker apps start on Service Bus; the store is ready and the queue check reports Service Bus out of reach',
    async (environment) => {
      const processes = azureContainers(stackOf('azure', environment));
      expect(processes.map((p) => p.name.replace(/_app_[0-9A-F]+/, ''))).toEqual([
        'azurerm_container_app.runtime/runtime',
        'azurerm_container_app.worker/worker',
      ]);
      expect(processes.map((p) => p.command)).toEqual(processes.map(() => ['node', 'dist/runtime/azure.js']));
      expect(processes.map((p) => p.env.DATA_SYNC_QUEUE)).toEqual(['servicebus', 'servicebus']);
      expectVariablesWired(processes);
      await withBootedStack(`azure-${environment}`, processes, async ({ booted }) => {
        const apis = booted.filter((b) => b.url);
        expect(apis).toHaveLength(2);
        for (const api of apis) {
          expect((await fetch(`${api.url}/health`)).status).toBe(200);
          const ready = await fetch(`${api.url}/health/ready`);
          const body = (await ready.json()) as { store: { ok: boolean }; queue: { ok: boolean; message?: string } };
          expect({ status: ready.status, store: body.store.ok, queue: body.queue.ok }).toEqual({
            status: 503,
            store: true,
            queue: false,
          });
        }
      });
    },
    180_000,
  );
});
