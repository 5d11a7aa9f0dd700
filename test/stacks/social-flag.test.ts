import { INTEGRATIONS } from '@data-sync/config';
import type { Block, TerraformJson } from '../support/terraform-checks';
import { CLOUDS, expectFlagAddsFamily, synthWithFlag } from './support/family-flag';

const SOCIAL = INTEGRATIONS.filter((i) => i.family === 'social' && i.enabled);

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
    const off = synthWithFlag(cloud, 'enableSocialSync', false);
    const on = synthWithFlag(cloud, 'enableSocialSync', true);
    expectFlagAddsFamily(off, on, SOCIAL);
    const address = on.stack.capabilities.get('webhooks');
    expect(address).toBeDefined();
    expect({ cloud, address, public: INGRESS[cloud](on.json, resource(on.json, address!)) }).toEqual({
      cloud,
      address,
      public: true,
    });
  });
});
