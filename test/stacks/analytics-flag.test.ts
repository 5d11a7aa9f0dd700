import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../app';
import { INTEGRATIONS } from '@data-sync/config';
import { synthJson } from '../support/terraform-checks';

const CLOUDS = ['aws', 'gcp', 'azure', 'cloudflare', 'oci', 'ibm'] as const;
const ANALYTICS = INTEGRATIONS.filter((i) => i.family === 'analytics' && i.enabled);

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'analytics-flag-test-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

function synthText(cloud: string, enableAnalyticsSync: boolean): string {
  const { stacks } = buildApp({
    context: { clouds: cloud, environment: 'dev', enableAnalyticsSync: String(enableAnalyticsSync) },
    outdir,
  });
  expect(stacks).toHaveLength(1);
  return JSON.stringify(synthJson(stacks[0]));
}

const kebab = (name: string) => name.toLowerCase().replace(/_/g, '-');

test('the catalog has the three analytics platforms of the design document, with GOOGLE_ANALYTICS_CLIENT_ID', () => {
  expect(ANALYTICS.map((i) => i.name).sort()).toEqual(['amplitude', 'google_analytics', 'mixpanel']);
  expect(ANALYTICS.flatMap((i) => i.credentials)).toContain('GOOGLE_ANALYTICS_CLIENT_ID');
});

describe.each(CLOUDS)('%s: enableAnalyticsSync', (cloud) => {
  test('off: no analytics secret, injection or schedule; on: each credential as an empty secret, injected, and a schedule per platform', () => {
    const off = synthText(cloud, false);
    const on = synthText(cloud, true);
    // Booleans, not the documents: a failure should not print megabytes of JSON.
    for (const integration of ANALYTICS) {
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
