import { INTEGRATIONS } from '@data-sync/config/integrations';
import { startDemoFakes } from '.';
import { CONNECTORS } from '@data-sync/integrations/registry';

test('the demo starts a fake for every catalog integration, and each registered connector connects with its config', async () => {
  const demo = await startDemoFakes();
  try {
    expect(Object.keys(demo.configs).sort()).toEqual(INTEGRATIONS.map((i) => i.name).sort());
    for (const [name, module] of Object.entries(CONNECTORS)) {
      const connector = module.create(module.configSchema.parse(demo.configs[name]));
      expect({ name, ...(await connector.test()) }).toMatchObject({ name, ok: true });
    }
  } finally {
    await demo.close();
  }
});

test('every CRM connector pulls seeded records from its demo fake', async () => {
  const demo = await startDemoFakes();
  try {
    for (const settings of INTEGRATIONS.filter((i) => i.family === 'crm')) {
      const module = CONNECTORS[settings.name];
      const page = await module
        .create(module.configSchema.parse(demo.configs[settings.name]))
        .pull(settings.objects[0], null);
      expect({ name: settings.name, records: page.records.length > 0 }).toEqual({ name: settings.name, records: true });
    }
  } finally {
    await demo.close();
  }
});
