/**
 * Policy over the synthesized stacks: in staging and prod, n8n's editor cannot be opened from an
 * arbitrary internet address, while the webhook paths can; allowlisted addresses (context
 * n8nEditorAllowlist) reach the editor. Each cloud's access rules are evaluated as the cloud would
 * evaluate a request (test/support/policies/n8n-editor.ts), not by looking for a resource's presence.
 * GCP admits by identity instead of address (n8nEditorMembers), IBM only over the private network.
 */
import { checkPolicies } from '../support/terraform-checks';
import {
  ANYWHERE,
  EDITOR_PATHS,
  awsAdmits,
  azureAdmits,
  editorReachable,
  gcpAdmits,
  gcpInvokers,
  gcpService,
  ibmPublic,
  inCidr,
  ociRoutesToN8n,
} from '../support/policies/n8n-editor';
import { EDITOR_ALLOWLIST, EDITOR_MEMBERS, N8N_CLOUDS, n8nStack } from './support/n8n-stacks';

const ALLOWED = '203.0.113.77';
const WEBHOOK_PATH = '/webhook/salesforce-contact';

describe.each(['staging', 'prod'])('n8n editor access in %s', (environment) => {
  test('the editor is not reachable from an arbitrary address on any cloud', () => {
    const reachable = N8N_CLOUDS.filter((cloud) => editorReachable(cloud, n8nStack(cloud, environment), ANYWHERE));
    expect(reachable).toEqual([]);
  });

  test("GCP: only the runtime's service account and the editor's members may invoke main", () => {
    const stack = n8nStack('gcp', environment);
    const [, main] = gcpService(stack, 'n8n');
    const runtime = Object.entries(stack.resource.google_cloud_run_v2_service as Record<string, any>).find(([, s]) =>
      String(s.name).endsWith('-runtime'),
    )![1];
    expect(main.ingress).toBe('INGRESS_TRAFFIC_ALL');
    expect(new Set(gcpInvokers(stack, 'n8n'))).toEqual(
      new Set([`serviceAccount:${runtime.template.service_account}`, ...EDITOR_MEMBERS]),
    );
  });

  test("IBM: main's endpoint is private, and the runtime's N8N_URL is that endpoint", () => {
    const stack = n8nStack('ibm', environment);
    const [mainId, main] = Object.entries(stack.resource.ibm_code_engine_app as Record<string, any>).find(([, a]) =>
      String(a.name).endsWith('-n8n'),
    )!;
    expect(main.managed_domain_mappings).toBe('local_private');
    const runtimeConfig = Object.values(stack.resource.ibm_code_engine_config_map as Record<string, any>).find(
      (m) => m.data.DATA_SYNC_QUEUE !== undefined,
    );
    expect(runtimeConfig.data.N8N_URL).toBe(`\${ibm_code_engine_app.${mainId}.endpoint}`);
  });

  test('AWS: the editor, its REST API and a path-traversal through the webhook prefix are blocked for other addresses', () => {
    const stack = n8nStack('aws', environment);
    for (const path of [...EDITOR_PATHS, '/webhook/../rest/login', '/webhook/%2e%2e/rest/login'])
      expect({ path, admitted: awsAdmits(stack, { path, from: ANYWHERE }) }).toEqual({ path, admitted: false });
  });

  test('allowlisted addresses reach the editor on AWS and Azure', () => {
    expect(EDITOR_ALLOWLIST.some((cidr) => inCidr(ALLOWED, cidr))).toBe(true);
    expect(awsAdmits(n8nStack('aws', environment), { path: '/rest/login', from: ALLOWED })).toBe(true);
    expect(azureAdmits(n8nStack('azure', environment), { path: '/rest/login', from: ALLOWED }, 'n8n')).toBe(true);
  });

  test('OCI: webhooks and the public API are routed to n8n, the editor is not', () => {
    const stack = n8nStack('oci', environment);
    expect(ociRoutesToN8n(stack, WEBHOOK_PATH)).toBe(true);
    expect(ociRoutesToN8n(stack, '/api/v1/workflows')).toBe(true);
    for (const path of EDITOR_PATHS)
      expect({ path, routed: ociRoutesToN8n(stack, path) }).toEqual({ path, routed: false });
  });

  test('webhooks stay reachable from anywhere on AWS, Azure, GCP and IBM', () => {
    expect(awsAdmits(n8nStack('aws', environment), { path: WEBHOOK_PATH, from: ANYWHERE })).toBe(true);
    expect(azureAdmits(n8nStack('azure', environment), { path: WEBHOOK_PATH, from: ANYWHERE }, 'n8n-webhooks')).toBe(
      true,
    );
    expect(gcpAdmits(n8nStack('gcp', environment), 'n8n-webhooks')).toBe(true);
    expect(ibmPublic(n8nStack('ibm', environment), 'n8n-webhooks')).toBe(true);
  });
});

test('dev keeps its editor reachable on every cloud (no allowlist applies there)', () => {
  expect(N8N_CLOUDS.filter((cloud) => !editorReachable(cloud, n8nStack(cloud, 'dev'), ANYWHERE))).toEqual([]);
});

describe('the policy common/n8n-editor-not-public', () => {
  const violations = (stack: any, cloud: (typeof N8N_CLOUDS)[number]) =>
    checkPolicies(stack, cloud).filter((v) => v.startsWith('[common/n8n-editor-not-public]'));

  test('passes every staging and prod stack, and dev whose editor is public by design', () => {
    for (const cloud of N8N_CLOUDS)
      for (const environment of ['dev', 'staging', 'prod'])
        expect({ cloud, environment, violations: violations(n8nStack(cloud, environment), cloud) }).toEqual({
          cloud,
          environment,
          violations: [],
        });
  });

  test("reports GCP's main invocable by allUsers again in prod", () => {
    const stack = structuredClone(n8nStack('gcp', 'prod'));
    const [main] = gcpService(stack, 'n8n');
    stack.resource.google_cloud_run_v2_service_iam_member.reopened = {
      name: `\${google_cloud_run_v2_service.${main}.name}`,
      role: 'roles/run.invoker',
      member: 'allUsers',
    };
    expect(violations(stack, 'gcp')).toEqual([
      `[common/n8n-editor-not-public] google_cloud_run_v2_service.${main} (data-sync-prod-n8n): n8n's editor admits a request from any internet address`,
    ]);
  });

  test("reports IBM's main with a public endpoint again in staging", () => {
    const stack = structuredClone(n8nStack('ibm', 'staging'));
    const main = Object.values(stack.resource.ibm_code_engine_app as Record<string, any>).find((a) =>
      String(a.name).endsWith('-n8n'),
    );
    delete main.managed_domain_mappings;
    expect(violations(stack, 'ibm')).toEqual([expect.stringContaining('(data-sync-staging-n8n)')]);
  });
});
