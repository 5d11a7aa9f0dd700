import { INTEGRATIONS } from '@data-sync/config';
import { CLOUDS, expectFlagAddsFamily, synthWithFlag } from './support/family-flag';

const ERP = INTEGRATIONS.filter((i) => i.family === 'erp' && i.enabled);

test('the catalog has the ERP systems of the design document, each with credentials', () => {
  expect(ERP.map((i) => i.name).sort()).toEqual(['dynamics', 'netsuite', 'sap']);
  for (const integration of ERP) expect(integration.credentials.length).toBeGreaterThan(0);
});

describe.each(CLOUDS)('%s: enableErpSync', (cloud) => {
  test('off: no ERP secret, injection or schedule; on: each credential as an empty secret, injected, and a schedule per system', () => {
    const off = synthWithFlag(cloud, 'enableErpSync', false);
    const on = synthWithFlag(cloud, 'enableErpSync', true);
    expectFlagAddsFamily(off, on, ERP);
  });
});
