/**
 * Whether n8n's editor of a synthesized stack admits a request from a given internet address, evaluated
 * as each cloud would evaluate it (WAF statements on AWS, ingress restrictions on Azure, ingress and
 * invoker IAM on GCP, load-balancer path routes on OCI, the app's visibility on IBM), not by looking for
 * a resource's presence. test/stacks/n8n-editor-access.test.ts and the policy in ./n8n.ts use it.
 */
import { posix } from 'path';

export const N8N_EDITOR_CLOUDS = ['aws', 'gcp', 'azure', 'oci', 'ibm'] as const;
export type N8nEditorCloud = (typeof N8N_EDITOR_CLOUDS)[number];

/** An address on no allowlist (TEST-NET-1): "from 0.0.0.0/0". */
export const ANYWHERE = '192.0.2.1';
export const EDITOR_PATHS = ['/', '/signin', '/rest/login', '/rest/settings', '/home/workflows'];

const ipToInt = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
export function inCidr(ip: string, cidr: string): boolean {
  const [network, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  return Math.floor(ipToInt(ip) / size) === Math.floor(ipToInt(network) / size);
}

/** A request as each cloud sees it: the path under n8n's base and the viewer's address. */
export interface Probe {
  readonly path: string;
  readonly from: string;
}

/** A shape this evaluator does not model: failing loudly beats a wrong answer. */
function unsupported(what: string): never {
  throw new Error(`n8n editor evaluation: unsupported ${what}`);
}

/** AWS: the ALB forwards /n8n/* to n8n; the WAF web ACL on that ALB decides, evaluated statement by statement. */
export function awsAdmits(stack: any, probe: Probe): boolean {
  const r = stack.resource;
  const uri = `/n8n${probe.path}`;
  const forwards = Object.values((r.aws_lb_listener_rule ?? {}) as Record<string, any>).some((rule) =>
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
      if (!b.FieldToMatch.UriPath || b.PositionalConstraint !== 'STARTS_WITH') unsupported('WAF byte match');
      // The statement's own text transformations, in their order: a statement without them sees the raw path.
      const seen = [...b.TextTransformations]
        .sort((x: any, y: any) => x.Priority - y.Priority)
        .reduce((value: string, t: any) => {
          if (t.Type === 'URL_DECODE') return decodeURIComponent(value);
          if (t.Type === 'NORMALIZE_PATH') return posix.normalize(value);
          return unsupported(`WAF text transformation ${t.Type}`);
        }, uri);
      return seen.startsWith(b.SearchString);
    }
    if (s.IPSetReferenceStatement) {
      // Only the entry CloudFront appends counts: earlier X-Forwarded-For entries are the viewer's to forge.
      if (s.IPSetReferenceStatement.IPSetForwardedIPConfig?.Position !== 'LAST')
        unsupported('IP set match on anything but the last forwarded address');
      return ipSet(s.IPSetReferenceStatement.ARN).addresses.some((c: string) => inCidr(probe.from, c));
    }
    return unsupported(`WAF statement ${Object.keys(s).join()}`);
  };
  const rules = [...JSON.parse(acl.rule_json)].sort((a, b) => a.Priority - b.Priority);
  const first = rules.find((rule) => matches(rule.Statement));
  if (first) return !first.Action.Block;
  return 'allow' in acl.default_action;
}

/** Azure: the app serving the path (main for the editor), its external ingress and its Allow rules. */
export function azureAdmits(stack: any, probe: Probe, app: 'n8n' | 'n8n-webhooks'): boolean {
  const r = stack.resource;
  const target = Object.values(r.azurerm_container_app as Record<string, any>).find((a) =>
    String(a.name).endsWith(`-${app}`),
  );
  if (!target?.ingress?.external_enabled) return false;
  const rules: any[] = target.ingress.ip_security_restriction ?? [];
  if (rules.length === 0) return true;
  if (rules.some((rule) => rule.action !== 'Allow')) unsupported('ingress rule other than Allow');
  const cidr = (range: string) => {
    const subnet = /azurerm_subnet\.([^.]+)\.address_prefixes/.exec(range);
    return subnet ? r.azurerm_subnet[subnet[1]].address_prefixes[0] : range;
  };
  return rules.some((rule) => inCidr(probe.from, cidr(rule.ip_address_range)));
}

/** Members that let anyone on the internet through Cloud Run's IAM check. */
const PUBLIC_MEMBERS = new Set(['allUsers', 'allAuthenticatedUsers']);

/** The `google_cloud_run_v2_service` whose name ends with `-<service>`: its logical id and body. */
export function gcpService(stack: any, service: 'n8n' | 'n8n-webhooks'): [string, any] {
  return Object.entries(stack.resource.google_cloud_run_v2_service as Record<string, any>).find(([, s]) =>
    String(s.name).endsWith(`-${service}`),
  )!;
}

/** The members holding roles/run.invoker on the GCP service. */
export function gcpInvokers(stack: any, service: 'n8n' | 'n8n-webhooks'): string[] {
  const [key] = gcpService(stack, service);
  return Object.values((stack.resource.google_cloud_run_v2_service_iam_member ?? {}) as Record<string, any>)
    .filter((m) => m.name === `\${google_cloud_run_v2_service.${key}.name}` && m.role === 'roles/run.invoker')
    .map((m) => String(m.member));
}

/** GCP: a Cloud Run service admits the internet with ingress ALL and an allUsers (or allAuthenticatedUsers) invoker. */
export function gcpAdmits(stack: any, service: 'n8n' | 'n8n-webhooks'): boolean {
  const [, target] = gcpService(stack, service);
  return target.ingress === 'INGRESS_TRAFFIC_ALL' && gcpInvokers(stack, service).some((m) => PUBLIC_MEMBERS.has(m));
}

/**
 * OCI: the public API gateway forwards every path to the load balancer, whose path routes send a
 * request to n8n only when one of their prefixes matches; anything else reaches the runtime.
 */
export function ociRoutesToN8n(stack: any, path: string): boolean {
  const uri = `/n8n${path}`;
  return Object.values((stack.resource.oci_load_balancer_path_route_set ?? {}) as Record<string, any>).some((set) =>
    set.path_routes.some((route: any) => {
      if (!['PREFIX_MATCH', 'FORCE_LONGEST_PREFIX_MATCH'].includes(route.path_match_type.match_type))
        unsupported(`path match ${route.path_match_type.match_type}`);
      return uri.startsWith(route.path);
    }),
  );
}

/** IBM: whether the Code Engine app named `-<app>` has a public endpoint (Code Engine's default visibility). */
export function ibmPublic(stack: any, app: 'n8n' | 'n8n-webhooks'): boolean {
  return Object.values(stack.resource.ibm_code_engine_app as Record<string, any>).some(
    (a) => String(a.name).endsWith(`-${app}`) && (a.managed_domain_mappings ?? 'local_public') === 'local_public',
  );
}

/** Whether any editor path of `cloud`'s stack admits a request from `from`. */
export function editorReachable(cloud: N8nEditorCloud, stack: any, from: string): boolean {
  if (cloud === 'aws') return EDITOR_PATHS.some((path) => awsAdmits(stack, { path, from }));
  if (cloud === 'azure') return EDITOR_PATHS.some((path) => azureAdmits(stack, { path, from }, 'n8n'));
  if (cloud === 'gcp') return gcpAdmits(stack, 'n8n');
  if (cloud === 'oci') return EDITOR_PATHS.some((path) => ociRoutesToN8n(stack, path));
  return ibmPublic(stack, 'n8n');
}
