import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../app';
import { INTEGRATIONS } from '@data-sync/config';
import type { DataSyncStack } from '../../stacks/data-sync-stack';
import { synthJson, type Block, type TerraformJson } from '../support/terraform-checks';

const CLOUDS = ['aws', 'gcp', 'azure', 'cloudflare', 'oci', 'ibm'] as const;
const SOCIAL = INTEGRATIONS.filter((i) => i.family === 'social' && i.enabled);

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'social-flag-test-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

function synth(cloud: string, enableSocialSync: boolean): { stack: DataSyncStack; json: TerraformJson; text: string } {
  const { stacks } = buildApp({
    context: { clouds: cloud, environment: 'dev', enableSocialSync: String(enableSocialSync) },
    outdir,
  });
  expect(stacks).toHaveLength(1);
  const json = synthJson(stacks[0]);
  return { stack: stacks[0], json, text: JSON.stringify(json) };
}

const kebab = (name: string) => name.toLowerCase().replace(/_/g, '-');
/** Occurrences of `name` as a word of its own (between characters that are not letters or digits). */
const mentions = (text: string, name: string) =>
  text.match(new RegExp(`(?<![A-Za-z0-9])${name}(?![A-Za-z0-9])`, 'g'))?.length ?? 0;
const resource = (json: TerraformJson, address: string): Block => {
  const [type, name] = address.split('.');
  return json.resource?.[type]?.[name] ?? {};
};
const methods = (list: unknown) => (Array.isArray(list) ? list.map(String) : []);

/**
 * Whether the cloud's public entry (the stack's `webhooks` capability) passes a vendor's GET handshake
 * and POST delivery to /webhooks/<name> unauthenticated: every path and both methods, to the runtime.
 */
const INGRESS: Record<(typeof CLOUDS)[number], (json: TerraformJson, entry: Block) => boolean> = {
  aws: (_json, entry) => {
    const behavior = entry.default_cache_behavior as Block;
    return (
      ['GET', 'POST'].every((m) => methods(behavior?.allowed_methods).includes(m)) &&
      entry.ordered_cache_behavior === undefined
    );
  },
  gcp: (json, entry) =>
    entry.ingress === 'INGRESS_TRAFFIC_ALL' &&
    Object.values(json.resource?.google_cloud_run_v2_service_iam_member ?? {}).some(
      (m) => m.member === 'allUsers' && m.role === 'roles/run.invoker',
    ),
  azure: (_json, entry) => (entry.ingress as Block)?.external_enabled === true,
  cloudflare: (_json, entry) => typeof entry.pattern === 'string' && entry.pattern.endsWith('/*'),
  oci: (_json, entry) => {
    const routes = ((entry.specification as Block)?.routes ?? []) as Block[];
    return routes.some(
      (r) =>
        r.path === '/{rest*}' &&
        (methods(r.methods).includes('ANY') || ['GET', 'POST'].every((m) => methods(r.methods).includes(m))),
    );
  },
  ibm: (_json, entry) =>
    String(entry.managed_domain_mappings ?? '').includes('public') ||
    (entry.component as Block)?.resource_type === 'app_v2',
};

test('the catalog has the four social networks of the design document, each with a webhook URL under /webhooks/', () => {
  expect(SOCIAL.map((i) => i.name).sort()).toEqual(['facebook', 'instagram', 'linkedin', 'x']);
  for (const integration of SOCIAL)
    expect(integration.webhookUrl).toMatch(new RegExp(`/webhooks/${integration.name}$`));
});

describe.each(CLOUDS)('%s: enableSocialSync', (cloud) => {
  test('off: no social secret, injection or schedule; on: each credential as an empty secret, injected, and a schedule per network; the webhooks ingress is public either way', () => {
    const off = synth(cloud, false);
    const on = synth(cloud, true);
    for (const integration of SOCIAL) {
      // Its schedule (job message, cron map or job name) names it; each cloud's own test checks the schedules themselves.
      // A one-letter name (x) also occurs in unrelated text, so for it the flag must add occurrences rather than make the first.
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
    const address = on.stack.capabilities.get('webhooks');
    expect(address).toBeDefined();
    expect({ cloud, address, public: INGRESS[cloud](on.json, resource(on.json, address!)) }).toEqual({
      cloud,
      address,
      public: true,
    });
  });
});
