/**
 * Policy over the synthesized stacks: in staging and prod, n8n's editor cannot be opened from an
 * arbitrary internet address, while the webhook paths can; allowlisted addresses (context
 * n8nEditorAllowlist) reach the editor. Each cloud's access rules are evaluated as the cloud would
 * evaluate a request (WAF statements on AWS, ingress restrictions on Azure, ingress and invoker IAM
 * on GCP), not by looking for a resource's presence.
 */
import { posix } from 'path';
import { EDITOR_ALLOWLIST, N8N_CLOUDS, type N8nCloud, n8nStack } from './support/n8n-stacks';

/** An address on no allowlist (TEST-NET-1): "from 0.0.0.0/0". */
const ANYWHERE = '192.0.2.1';
const ALLOWED = '203.0.113.77';
const EDITOR_PATHS = ['/', '/signin', '/rest/login', '/rest/settings', '/home/workflows'];
const WEBHOOK_PATH = '/webhook/salesforce-contact';

/** Clouds whose editor is still public in staging and prod, and why (issue 14, left open). */
const STILL_PUBLIC: Partial<Record<N8nCloud, string>> = {
  gcp: 'Cloud Run has no IP allowlist and the GA provider no IAP on Cloud Run: it needs an HTTPS load balancer with Cloud Armor (and a domain for its certificate)',
  ibm: "Code Engine's public endpoint has no IP allowlist",
};

const ipToInt = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [network, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipToInt(ip) / size) === Math.floor(ipToInt(network) / size);
}

/** A request as each cloud sees it: the path under n8n's base and the viewer's address. */
interface Probe {
  readonly path: string;
  readonly from: string;
}

/** AWS: the ALB forwards /n8n/* to n8n; the WAF web ACL on that ALB decides, evaluated statement by statement. */
function awsAdmits(stack: any, probe: Probe): boolean {
  const r = stack.resource;
  const uri = `/n8n${probe.path}`;
  const forwards = Object.values(r.aws_lb_listener_rule as Record<string, any>).some((rule) =>
    rule.condition.some((c: any) =>
      (c.path_pattern?.values ?? []).some((p: string) => new RegExp(`^${p.replace('*', '.*')}$`).test(uri)),
    ),
  );
  if (!forwards) return false;
  const lb = Object.keys(r.aws_lb)[0];
  const association = Object.values((r.aws_wafv2_web_acl_association ?? {}) as Record<string, any>).find(
    (a) => a.resource_arn === `\${aws_lb.${lb}.arn}`,
  );
  if (!association) return true;
  const aclName = /aws_wafv2_web_acl\.([^.]+)\.arn/.exec(association.web_acl_arn)![1];
  const acl = r.aws_wafv2_web_acl[aclName];
  const ipSet = (arn: string) => r.aws_wafv2_ip_set[/aws_wafv2_ip_set\.([^.]+)\.arn/.exec(arn)![1]];
  const matches = (s: any): boolean => {
    if (s.AndStatement) return s.AndStatement.Statements.every(matches);
    if (s.OrStatement) return s.OrStatement.Statements.some(matches);
    if (s.NotStatement) return !matches(s.NotStatement.Statement);
    if (s.ByteMatchStatement) {
      const b = s.ByteMatchStatement;
      if (!b.FieldToMatch.UriPath || b.PositionalConstraint !== 'STARTS_WITH') throw new Error('unsupported match');
      // The statement's own text transformations, in their order: a statement without them sees the raw path.
      const seen = [...b.TextTransformations]
        .sort((x: any, y: any) => x.Priority - y.Priority)
        .reduce((value: string, t: any) => {
          if (t.Type === 'URL_DECODE') return decodeURIComponent(value);
          if (t.Type === 'NORMALIZE_PATH') return posix.normalize(value);
          throw new Error(`unsupported transformation ${t.Type}`);
        }, uri);
      return seen.startsWith(b.SearchString);
    }
    if (s.IPSetReferenceStatement) {
      // Only the entry CloudFront appends counts: earlier X-Forwarded-For entries are the viewer's to forge.
      expect(s.IPSetReferenceStatement.IPSetForwardedIPConfig).toMatchObject({ Position: 'LAST' });
      return ipSet(s.IPSetReferenceStatement.ARN).addresses.some((c: string) => inCidr(probe.from, c));
    }
    throw new Error(`unsupported WAF statement ${Object.keys(s).join()}`);
  };
  const rules = [...JSON.parse(acl.rule_json)].sort((a, b) => a.Priority - b.Priority);
  const first = rules.find((rule) => matches(rule.Statement));
  if (first) return !first.Action.Block;
  return 'allow' in acl.default_action;
}

/** Azure: the app serving the path (main for the editor), its external ingress and its Allow rules. */
function azureAdmits(stack: any, probe: Probe, app: 'n8n' | 'n8n-webhooks'): boolean {
  const r = stack.resource;
  const target = Object.values(r.azurerm_container_app as Record<string, any>).find((a) =>
    String(a.name).endsWith(`-${app}`),
  );
  if (!target?.ingress?.external_enabled) return false;
  const rules: any[] = target.ingress.ip_security_restriction ?? [];
  if (rules.length === 0) return true;
  expect(new Set(rules.map((rule) => rule.action))).toEqual(new Set(['Allow']));
  const cidr = (range: string) => {
    const subnet = /azurerm_subnet\.([^.]+)\.address_prefixes/.exec(range);
    return subnet ? r.azurerm_subnet[subnet[1]].address_prefixes[0] : range;
  };
  return rules.some((rule) => inCidr(probe.from, cidr(rule.ip_address_range)));
}

/** GCP: a Cloud Run service admits the internet with ingress ALL and an allUsers invoker. */
function gcpAdmits(stack: any, service: 'n8n' | 'n8n-webhooks'): boolean {
  const r = stack.resource;
  const [key, target] = Object.entries(r.google_cloud_run_v2_service as Record<string, any>).find(([, s]) =>
    String(s.name).endsWith(`-${service}`),
  )!;
  const invokers = Object.values((r.google_cloud_run_v2_service_iam_member ?? {}) as Record<string, any>);
  return (
    target.ingress === 'INGRESS_TRAFFIC_ALL' &&
    invokers.some((m) => m.name === `\${google_cloud_run_v2_service.${key}.name}` && m.member === 'allUsers')
  );
}

/**
 * OCI: the public API gateway forwards every path to the load balancer, whose path routes send a
 * request to n8n only when one of their prefixes matches; anything else reaches the runtime.
 */
function ociRoutesToN8n(stack: any, path: string): boolean {
  const uri = `/n8n${path}`;
  return Object.values(stack.resource.oci_load_balancer_path_route_set as Record<string, any>).some((set) =>
    set.path_routes.some((route: any) => {
      expect(['PREFIX_MATCH', 'FORCE_LONGEST_PREFIX_MATCH']).toContain(route.path_match_type.match_type);
      return uri.startsWith(route.path);
    }),
  );
}

/** IBM: whether the editor's app has a public endpoint at all. */
function ibmPublic(stack: any): boolean {
  return Object.values(stack.resource.ibm_code_engine_app as Record<string, any>).some(
    (a) => String(a.name).endsWith('-n8n') && a.managed_domain_mappings !== 'local_private',
  );
}

function editorReachable(cloud: N8nCloud, stack: any, from: string): boolean {
  if (cloud === 'aws') return EDITOR_PATHS.some((path) => awsAdmits(stack, { path, from }));
  if (cloud === 'azure') return EDITOR_PATHS.some((path) => azureAdmits(stack, { path, from }, 'n8n'));
  if (cloud === 'gcp') return gcpAdmits(stack, 'n8n');
  if (cloud === 'oci') return EDITOR_PATHS.some((path) => ociRoutesToN8n(stack, path));
  return ibmPublic(stack);
}

describe.each(['staging', 'prod'])('n8n editor access in %s', (environment) => {
  test('the editor is not reachable from an arbitrary address except on the clouds still listed as public', () => {
    const reachable = N8N_CLOUDS.filter((cloud) => editorReachable(cloud, n8nStack(cloud, environment), ANYWHERE));
    expect(reachable).toEqual(Object.keys(STILL_PUBLIC));
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

  test('webhooks stay reachable from anywhere on AWS, Azure and GCP', () => {
    expect(awsAdmits(n8nStack('aws', environment), { path: WEBHOOK_PATH, from: ANYWHERE })).toBe(true);
    expect(azureAdmits(n8nStack('azure', environment), { path: WEBHOOK_PATH, from: ANYWHERE }, 'n8n-webhooks')).toBe(
      true,
    );
    expect(gcpAdmits(n8nStack('gcp', environment), 'n8n-webhooks')).toBe(true);
  });
});

test('dev keeps its editor reachable (no allowlist applies there)', () => {
  expect(editorReachable('aws', n8nStack('aws', 'dev'), ANYWHERE)).toBe(true);
  expect(editorReachable('azure', n8nStack('azure', 'dev'), ANYWHERE)).toBe(true);
  expect(editorReachable('oci', n8nStack('oci', 'dev'), ANYWHERE)).toBe(true);
});
