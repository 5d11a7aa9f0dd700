import { INTEGRATIONS } from '@data-sync/config/integrations';
import { CONNECTORS, connectorFor } from './registry';

test('every registered connector is a catalog integration of the same family and system name', () => {
  for (const [name, module] of Object.entries(CONNECTORS)) {
    const settings = INTEGRATIONS.find((i) => i.name === name);
    expect(settings).toBeDefined();
    expect(module.system).toBe(name);
    expect(module.family).toBe(settings!.family);
  }
});

test('connectorFor names the known integrations when asked for an unknown one', () => {
  expect(() => connectorFor('nope')).toThrow(/Unknown integration "nope"/);
});
