/**
 * What every integration family's flag (enableAnalyticsSync, enableErpSync, enableSocialSync) must change in
 * a synthesized stack: with it off, none of the family's schedules or credentials; with it on, a schedule
 * naming each integration and each credential as an empty secret injected under its own variable name.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { IntegrationSettings } from '@data-sync/config/integrations';
import { buildApp } from '../../../app';
import type { DataSyncStack } from '../../../stacks/data-sync-stack';
import { synthJson, type TerraformJson } from '../../support/terraform-checks';

export const CLOUDS = ['aws', 'gcp', 'azure', 'cloudflare', 'oci', 'ibm'] as const;

export interface SynthesizedStack {
  readonly stack: DataSyncStack;
  readonly json: TerraformJson;
  readonly text: string;
}

/** The dev stack of `cloud` with `flag` set to `on`, synthesized into a temporary folder. */
export function synthWithFlag(cloud: string, flag: string, on: boolean): SynthesizedStack {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), `${flag}-test-`));
  try {
    const { stacks } = buildApp({ context: { clouds: cloud, environment: 'dev', [flag]: String(on) }, outdir });
    expect(stacks).toHaveLength(1);
    const json = synthJson(stacks[0]);
    return { stack: stacks[0], json, text: JSON.stringify(json) };
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

const kebab = (name: string) => name.toLowerCase().replace(/_/g, '-');

/** Occurrences of `name` (or its kebab-case form) as a word of its own. */
function mentions(text: string, name: string): number {
  const forms = [...new Set([name, kebab(name)])];
  return forms.reduce(
    (sum, form) => sum + (text.match(new RegExp(`(?<![A-Za-z0-9])${form}(?![A-Za-z0-9])`, 'g'))?.length ?? 0),
    0,
  );
}

/** Booleans, not the documents, are compared: a failure should not print megabytes of JSON. */
export function expectFlagAddsFamily(
  off: SynthesizedStack,
  on: SynthesizedStack,
  family: readonly IntegrationSettings[],
): void {
  expect(family.length).toBeGreaterThan(0);
  for (const integration of family) {
    // Its schedule (job message, cron map or job name) names it; each cloud's own test checks the schedules.
    // A one- or two-letter name (x) also occurs in unrelated text: there the flag must add occurrences.
    const offCount = mentions(off.text, integration.name);
    const onCount = mentions(on.text, integration.name);
    expect({
      integration: integration.name,
      added: onCount > offCount,
      offFree: integration.name.length > 2 ? offCount === 0 : true,
    }).toEqual({ integration: integration.name, added: true, offFree: true });
    for (const credential of integration.credentials) {
      expect({ credential, off: off.text.includes(credential) || off.text.includes(kebab(credential)) }).toEqual({
        credential,
        off: false,
      });
      // The runtime reads the credential from the variable of that name.
      expect({ credential, on: on.text.includes(credential) }).toEqual({ credential, on: true });
    }
  }
}
