/**
 * The security review's checks, modelled on the Checkov/tfsec families that apply to these stacks (TLS,
 * logging, encryption, public exposure, IAM scope), each with a severity. Unlike the rules in ./index.ts,
 * which every stack must pass, findings here are reported in a table (test/stacks/security-table.test.ts):
 * a high finding fails; a medium or low one must be listed in docs/security-findings.md with its reason.
 */
import type { Cloud } from '@data-sync/config';
import { type Block, type TerraformJson, parseJsonString, resourcesOf } from '../terraform-checks';
import { unverifiedTls } from './database';

export type Family = 'TLS' | 'logging' | 'encryption' | 'public exposure' | 'IAM scope';
export type Severity = 'high' | 'medium' | 'low';

export interface SecurityCheck {
  /** Stable id, e.g. `iam/secret-read-per-secret`; docs/security-findings.md names accepted ones by it. */
  readonly id: string;
  readonly family: Family;
  readonly severity: Severity;
  /** The Checkov/tfsec checks it corresponds to, for a reader who knows those. */
  readonly modelledOn: string;
  /** Clouds it applies to; the table shows `n/a` elsewhere. */
  readonly clouds: readonly Cloud[];
  /** One message per finding, naming the resource. */
  readonly check: (json: TerraformJson) => string[];
}

const list = (value: unknown): Block[] =>
  value === undefined ? [] : Array.isArray(value) ? (value as Block[]) : [value as Block];

function eachResource(
  json: TerraformJson,
  types: readonly string[],
  check: (address: string, body: Block) => string[],
): string[] {
  return types.flatMap((type) => resourcesOf(json, type).flatMap(([name, body]) => check(`${type}.${name}`, body)));
}

const KEY_VAULT_DATA_ROLE = /^Key Vault (Secrets User|Secrets Officer|Reader|Administrator)$/;

export const SECURITY_CHECKS: readonly SecurityCheck[] = [
  {
    id: 'iam/secret-read-per-secret',
    family: 'IAM scope',
    severity: 'high',
    modelledOn:
      'CKV_AZURE_* RBAC scope, tfsec azure-keyvault, CKV_AWS_355/356 (no * resources), OCI IAM least privilege',
    clouds: ['aws', 'gcp', 'azure', 'oci', 'ibm'],
    check: (json) => [
      ...eachResource(json, ['azurerm_role_assignment'], (address, body) =>
        KEY_VAULT_DATA_ROLE.test(String(body.role_definition_name)) && !/\/secrets\/[^/]+$/.test(String(body.scope))
          ? [`${address} grants ${String(body.role_definition_name)} on a whole vault, not on one secret`]
          : [],
      ),
      ...eachResource(json, ['oci_identity_policy'], (address, body) =>
        (body.statements as string[])
          .filter(
            (s) =>
              /\b(read|use|manage) (secret-bundles|secret-family|secrets)\b/.test(s) &&
              !/target\.secret\.id\s*=/.test(s),
          )
          .map((s) => `${address} lets a group read secrets without naming them: ${s.slice(0, 100)}`),
      ),
      ...eachResource(json, ['google_project_iam_member', 'google_project_iam_binding'], (address, body) =>
        /secretmanager\.(secretAccessor|admin)/.test(String(body.role))
          ? [`${address} grants ${String(body.role)} on the whole project`]
          : [],
      ),
      ...eachResource(json, ['aws_iam_role_policy', 'aws_iam_policy'], (address, body) => {
        const doc = parseJsonString(body.policy) as { Statement?: Block[] } | undefined;
        return (doc?.Statement ?? [])
          .filter((s) => list(s.Action).some((a) => /^secretsmanager:(GetSecretValue|\*)$/.test(String(a))))
          .filter((s) => list(s.Resource).some((r) => /^\*$|:secret:\*$/.test(String(r))))
          .map(() => `${address} reads secrets on a wildcard resource`);
      }),
      ...eachResource(json, ['ibm_iam_service_policy'], (address, body) => {
        const attributes = list(body.resource_attributes);
        const secretsManager = attributes.some((a) => a.name === 'serviceName' && a.value === 'secrets-manager');
        const oneSecret = attributes.some((a) => a.name === 'resourceType' && a.value === 'secret');
        return secretsManager && !oneSecret
          ? [`${address} grants ${list(body.roles).join(', ')} on a whole Secrets Manager instance`]
          : [];
      }),
    ],
  },
  {
    id: 'tls/db-certificate-verified',
    family: 'TLS',
    severity: 'medium',
    modelledOn: 'CKV_AWS_* RDS in-transit encryption; tfsec general-secrets (TLS verification disabled)',
    clouds: ['aws', 'gcp', 'azure', 'oci', 'ibm', 'cloudflare'],
    check: (json) =>
      Object.entries(json.resource ?? {}).flatMap(([type, byName]) =>
        Object.entries(byName).flatMap(([name, body]) =>
          unverifiedTls(body).map((what) => `${type}.${name} sets ${what}`),
        ),
      ),
  },
  {
    id: 'logging/key-vault-diagnostics',
    family: 'logging',
    severity: 'low',
    modelledOn: 'CKV_AZURE_* Key Vault logging (AuditEvent to Log Analytics)',
    clouds: ['azure'],
    check: (json) => {
      const settings = resourcesOf(json, 'azurerm_monitor_diagnostic_setting').map(([, body]) =>
        String(body.target_resource_id),
      );
      return eachResource(json, ['azurerm_key_vault'], (address, _body) =>
        settings.some((target) => target.includes(`${address}.id`))
          ? []
          : [`${address} sends no audit log anywhere (diagnostic setting)`],
      );
    },
  },
  {
    id: 'logging/vpc-flow-logs',
    family: 'logging',
    severity: 'low',
    modelledOn: 'CKV2_AWS_11 (VPC flow logging), CKV_GCP_26 (subnet flow logs), OCI VCN flow logs',
    clouds: ['aws', 'gcp', 'oci'],
    check: (json) => [
      ...(resourcesOf(json, 'aws_vpc').length > 0 && resourcesOf(json, 'aws_flow_log').length === 0
        ? ['aws_vpc has no aws_flow_log']
        : []),
      ...eachResource(json, ['google_compute_subnetwork'], (address, body) =>
        body.log_config ? [] : [`${address} has no flow logs (log_config)`],
      ),
      ...(resourcesOf(json, 'oci_core_subnet').length > 0 &&
      !resourcesOf(json, 'oci_logging_log').some(([, body]) => JSON.stringify(body).includes('flowlogs'))
        ? ['oci_core_subnet has no flow log (oci_logging_log of service flowlogs)']
        : []),
    ],
  },
  {
    id: 'logging/load-balancer-access-logs',
    family: 'logging',
    severity: 'low',
    modelledOn: 'CKV_AWS_91 (ELBv2 access logging), CKV_AWS_86 (CloudFront access logging), OCI LB access log',
    clouds: ['aws', 'oci'],
    check: (json) => [
      ...eachResource(json, ['aws_lb'], (address, body) =>
        list(body.access_logs).some((l) => l.enabled === true) ? [] : [`${address} writes no access log`],
      ),
      ...eachResource(json, ['aws_cloudfront_distribution'], (address, body) =>
        body.logging_config ? [] : [`${address} writes no access log`],
      ),
      ...eachResource(json, ['oci_load_balancer_load_balancer'], (address) =>
        resourcesOf(json, 'oci_logging_log').some(
          ([, body]) =>
            /"service":"loadbalancer"/.test(JSON.stringify(body)) && JSON.stringify(body).includes('access'),
        )
          ? []
          : [`${address} writes no access log`],
      ),
    ],
  },
];
