import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../app';
import { INTEGRATIONS } from '@data-sync/config';
import { synthJson } from '../support/terraform-checks';

const CLOUDS = ['aws', 'gcp', 'azure', 'cloudflare', 'oci', 'ibm'] as const;
const ERP = INTEGRATIONS.filter((i) => i.family === 'erp' && i.enabled);

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'erp-flag-test-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

function synthText(cloud: string, enableErpSync: boolean): string {
  const { stacks } = buildApp({
    context: { clouds: cloud, environment: 'dev', enableErpSync: String(enableErpSync) },
    outdir,
  });
  expect(stacks).toHaveLength(1);
  return JSON.stringify(synthJson(stacks[0]));
}

const kebab = (name: string) => name.toLowerCase().replace(/_/g, '-');

test('the catalog has the ERP systems of the design document, each with credentials', () => {
  expect(ERP.map((i) => i.name).sort()).toEqual(['dynamics', 'netsuite', 'sap']);
  for (const integration of ERP) expect(integration.credentials.length).toBeGreaterThan(0);
});

describe.each(CLOUDS)('%s: enableErpSync', (cloud) => {
  test('off: no ERP secret, injection or schedule; on: each credential as an empty secret, injected, and a schedule per system', () => {
    const off = synthText(cloud, false);
    const on = synthText(cloud, true);
    // Booleans, not the documents: a failure should not print megabytes of JSON.
    for (const integration of ERP) {
      // Its schedule (job message, cron map or job name); each cloud's own test checks the schedule of every enabled integration.
      expect({
        integration: integration.name,
        off: off.includes(integration.name) || off.includes(kebab(integration.name)),
      }).toEqual({ integration: integration.name, off: false });
      expect({
        integration: integration.name,
        on:
          on.includes(`\\"${integration.name}\\"`) ||
          on.includes(`-${kebab(integration.name)}`) ||
          on.includes(`/api/sync/trigger/${integration.name} `),
      }).toEqual({ integration: integration.name, on: true });
      for (const credential of integration.credentials) {
        expect({ credential, off: off.includes(credential) || off.includes(kebab(credential)) }).toEqual({
          credential,
          off: false,
        });
        // The runtime reads the credential from the variable of that name.
        expect({ credential, on: on.includes(credential) }).toEqual({ credential, on: true });
      }
    }
  });
});
