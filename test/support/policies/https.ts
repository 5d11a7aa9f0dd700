/**
 * No stack serves API or webhook traffic over plain HTTP: every public entry is HTTPS, and plain
 * HTTP, where a platform accepts it at all, only redirects. One rule over every cloud's resources.
 */
import { type Block, type TerraformJson, resourcesOf } from '../terraform-checks';
import type { PolicyRule } from '.';

/** Outputs that publish where clients send API and webhook traffic. */
const ENDPOINT_OUTPUTS = ['url', 'url-blue', 'url-green', 'n8n_url'];
/** Attributes that are HTTPS URLs by the platform's own managed certificate (Cloud Run, Code Engine). */
const MANAGED_HTTPS_ATTRIBUTE =
  /^\$\{(replace\()?(google_cloud_run_v2_service\.[\w-]+\.uri|ibm_code_engine_app\.[\w-]+\.endpoint)\b/;
const ANYWHERE = ['0.0.0.0/0', '::/0'];

const list = (value: unknown): Block[] =>
  value === undefined ? [] : ((Array.isArray(value) ? value : [value]) as Block[]);
const references = (value: unknown, type: string, name: string) =>
  typeof value === 'string' && value.includes(`${type}.${name}.`);

function endpointOutputs(json: TerraformJson): string[] {
  return ENDPOINT_OUTPUTS.flatMap((key) => {
    const value = (json.output?.[key] as { value?: unknown } | undefined)?.value;
    if (value === undefined) return [];
    return typeof value === 'string' && (value.startsWith('https://') || MANAGED_HTTPS_ATTRIBUTE.test(value))
      ? []
      : [`output ${key} is not an HTTPS URL: ${String(value)}`];
  });
}

function aws(json: TerraformJson): string[] {
  const problems: string[] = [];
  for (const [lbName, lb] of resourcesOf(json, 'aws_lb')) {
    if (lb.internal === true) continue;
    for (const [name, listener] of resourcesOf(json, 'aws_lb_listener')) {
      if (!references(listener.load_balancer_arn, 'aws_lb', lbName) || listener.protocol !== 'HTTP') continue;
      const redirect = list(listener.default_action)[0];
      if (!(redirect?.type === 'redirect' && list(redirect.redirect)[0]?.protocol === 'HTTPS'))
        problems.push(
          `aws_lb_listener.${name} serves plain HTTP on internet-facing aws_lb.${lbName} (port ${String(listener.port)})`,
        );
    }
  }
  for (const [name, distribution] of resourcesOf(json, 'aws_cloudfront_distribution')) {
    for (const behavior of [
      ...list(distribution.default_cache_behavior),
      ...list(distribution.ordered_cache_behavior),
    ]) {
      if (!['redirect-to-https', 'https-only'].includes(String(behavior.viewer_protocol_policy)))
        problems.push(
          `aws_cloudfront_distribution.${name} viewer_protocol_policy is ${String(behavior.viewer_protocol_policy)}`,
        );
    }
  }
  const openPort = (where: string, rule: Block) => {
    const cidrs = [...list(rule.cidr_blocks), ...list(rule.ipv6_cidr_blocks), rule.cidr_ipv4, rule.cidr_ipv6].map(
      String,
    );
    if (cidrs.some((c) => ANYWHERE.includes(c)) && !(rule.from_port === 443 && rule.to_port === 443))
      problems.push(
        `${where} opens port ${String(rule.from_port)}-${String(rule.to_port)} to the internet (only 443 may be)`,
      );
  };
  for (const [name, group] of resourcesOf(json, 'aws_security_group'))
    list(group.ingress).forEach((rule, i) => openPort(`aws_security_group.${name}.ingress[${i}]`, rule));
  for (const [name, rule] of resourcesOf(json, 'aws_vpc_security_group_ingress_rule'))
    openPort(`aws_vpc_security_group_ingress_rule.${name}`, rule);
  return problems;
}

function oci(json: TerraformJson): string[] {
  const problems: string[] = [];
  for (const [lbName, lb] of resourcesOf(json, 'oci_load_balancer_load_balancer')) {
    if (lb.is_private === true) continue;
    for (const [name, listener] of resourcesOf(json, 'oci_load_balancer_listener')) {
      if (
        references(listener.load_balancer_id, 'oci_load_balancer_load_balancer', lbName) &&
        listener.ssl_configuration === undefined
      )
        problems.push(
          `oci_load_balancer_listener.${name} serves plain HTTP on public load balancer ${lbName} (port ${String(listener.port)})`,
        );
    }
  }
  for (const [name, rule] of resourcesOf(json, 'oci_core_network_security_group_security_rule')) {
    const range = list(list(rule.tcp_options)[0]?.destination_port_range)[0];
    if (
      rule.direction === 'INGRESS' &&
      ANYWHERE.includes(String(rule.source)) &&
      !(range?.min === 443 && range?.max === 443)
    ) {
      problems.push(
        `oci_core_network_security_group_security_rule.${name} opens ${range ? `port ${String(range.min)}-${String(range.max)}` : 'every port'} to the internet (only 443 may be)`,
      );
    }
  }
  return problems;
}

function azure(json: TerraformJson): string[] {
  return resourcesOf(json, 'azurerm_container_app').flatMap(([name, app]) =>
    list(app.ingress).some((i) => i.allow_insecure_connections === true)
      ? [`azurerm_container_app.${name} allows insecure (plain HTTP) connections`]
      : [],
  );
}

function cloudflare(json: TerraformJson): string[] {
  const httpsZones = new Set(
    resourcesOf(json, 'cloudflare_zone_setting')
      .filter(([, s]) => s.setting_id === 'always_use_https' && s.value === 'on')
      .map(([, s]) => String(s.zone_id)),
  );
  // A Worker route matches http:// as well; without Always Use HTTPS the Worker would answer plain HTTP.
  return resourcesOf(json, 'cloudflare_workers_route').flatMap(([name, route]) =>
    httpsZones.has(String(route.zone_id))
      ? []
      : [
          `cloudflare_workers_route.${name} (${String(route.pattern)}) is in a zone without always_use_https=on: it answers plain HTTP`,
        ],
  );
}

export const HTTPS_POLICY: PolicyRule = {
  id: 'common/https-only',
  description:
    'No stack serves API or webhook traffic over plain HTTP: endpoint outputs are HTTPS, public listeners redirect HTTP, only 443 is open to the internet',
  check: (json) => [...endpointOutputs(json), ...aws(json), ...oci(json), ...azure(json), ...cloudflare(json)],
};
