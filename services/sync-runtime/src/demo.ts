import { INTEGRATIONS } from '@data-sync/config/integrations';
import { startDemoFakes } from '@data-sync/vendor-fakes/demo';
import type { createIntegrationStore } from './api/integration-store';
import type { SyncEngine } from './engine';

/**
 * Demo mode (DATA_SYNC_DEMO=true, `npm run dev:demo`): starts every vendor fake on loopback, registers
 * one integration per connector pointing at its fake (once; later starts reuse them), and queues a
 * full sync of each, so a new user sees syncs run without any vendor credentials.
 */
export async function startDemo(deps: {
  integrations: ReturnType<typeof createIntegrationStore>;
  engine: SyncEngine;
  print: (line: string) => void;
}): Promise<{ close(): Promise<void>; runs: Record<string, string> }> {
  const fakes = await startDemoFakes();
  try {
    const runs: Record<string, string> = {};
    for (const settings of INTEGRATIONS) {
      const config = fakes.configs[settings.name];
      if (!config) continue;
      const existing = await deps.integrations.getByName(settings.name);
      // The fakes listen on new ports at every start: point the stored integration at this start's fake.
      if (existing)
        await deps.integrations.update(existing.id, {
          enabled: existing.enabled,
          syncInterval: existing.syncInterval,
          objects: existing.objects,
          webhookAllowlist: existing.webhookAllowlist,
          config,
        });
      else
        await deps.integrations.create({
          name: settings.name,
          system: settings.name,
          enabled: true,
          syncInterval: settings.syncInterval,
          objects: settings.objects,
          pushObjects: settings.pushObjects,
          webhookAllowlist: [],
          config,
        });
      runs[settings.name] = (await deps.engine.trigger(settings.name, { actor: 'demo', full: true })).runId;
    }
    deps.print(
      `Demo mode: ${Object.keys(runs).length} integrations syncing from local vendor fakes (${Object.keys(runs).join(', ')}); watch GET /api/sync/status and /api/sync/history`,
    );
    return { runs, close: () => fakes.close() };
  } catch (error) {
    await fakes.close();
    throw error;
  }
}
