import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../app';
import type { Cloud } from '@data-sync/config';
import { SECURITY_CHECKS, type SecurityCheck } from '../support/policies/security';
import { type TerraformJson, checkPolicies, synthJson } from '../support/terraform-checks';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'security-table-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));
const findingsDoc = fs.readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'security-findings.md'), 'utf8');

const check = (id: string): SecurityCheck => SECURITY_CHECKS.find((c) => c.id === id)!;
const resource = (r: Record<string, Record<string, unknown>>) => ({ resource: r }) as TerraformJson;

describe('the policy run over every stack', () => {
  const stacks = buildApp({ context: {}, outdir }).stacks.map((stack) => ({
    name: stack.node.id,
    cloud: stack.node.id.split('-')[2] as Cloud,
    json: synthJson(stack),
  }));
  const baseline = { id: 'baseline/cloud-policies', family: 'all', severity: 'high' as const };
  const rows = [
    { ...baseline, counts: stacks.map((s) => checkPolicies(s.json, s.cloud).length) },
    ...SECURITY_CHECKS.map((c) => ({
      ...c,
      counts: stacks.map((s) => (c.clouds.includes(s.cloud) ? c.check(s.json).length : null)),
    })),
  ];

  test('prints the findings per check and stack', () => {
    const header = ['check', 'family', 'severity', ...stacks.map((s) => s.name.replace('data-sync-', ''))];
    const lines = rows.map((r) => [
      r.id,
      r.family,
      r.severity,
      ...r.counts.map((n) => (n === null ? 'n/a' : String(n))),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const format = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join(' | ');
    const table = [format(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...lines.map(format)].join('\n');
    process.stdout.write(`\nSecurity policy run (${stacks.length} stacks; findings per stack)\n${table}\n`);
    expect(stacks).toHaveLength(18);
  });

  test('no stack has a high finding', () => {
    const high = rows
      .filter((r) => r.severity === 'high')
      .flatMap((r) => stacks.flatMap((s, i) => (r.counts[i] ? [`${r.id} in ${s.name}`] : [])));
    expect(high).toEqual([]);
  });

  test('every medium or low finding is named in docs/security-findings.md with its reason', () => {
    const open = rows.filter((r) => r.severity !== 'high' && r.counts.some((n) => n));
    const undocumented = open.filter((r) => !findingsDoc.includes(`\`${r.id}\``)).map((r) => r.id);
    expect(undocumented).toEqual([]);
  });
});

describe('each check finds what it is about', () => {
  test('IAM scope: a vault-wide Key Vault grant, an OCI statement without secret ids, a project-wide accessor', () => {
    const findings = check('iam/secret-read-per-secret').check(
      resource({
        azurerm_role_assignment: {
          vault: { scope: '${azurerm_key_vault.v.id}', role_definition_name: 'Key Vault Secrets User' },
          one: { scope: '${azurerm_key_vault.v.id}/secrets/db-url', role_definition_name: 'Key Vault Secrets User' },
        },
        oci_identity_policy: {
          p: {
            statements: [
              "Allow dynamic-group g to read secret-bundles in compartment id c where target.vault.id = 'v'",
              "Allow dynamic-group g to read secret-bundles in compartment id c where any {target.secret.id = 's'}",
            ],
          },
        },
        google_project_iam_member: { m: { role: 'roles/secretmanager.secretAccessor' } },
        aws_iam_role_policy: {
          r: {
            policy: JSON.stringify({ Statement: [{ Action: ['secretsmanager:GetSecretValue'], Resource: ['*'] }] }),
          },
        },
        ibm_iam_service_policy: {
          all: { roles: ['SecretsReader'], resource_attributes: [{ name: 'serviceName', value: 'secrets-manager' }] },
          one: {
            roles: ['SecretsReader'],
            resource_attributes: [
              { name: 'serviceName', value: 'secrets-manager' },
              { name: 'resourceType', value: 'secret' },
            ],
          },
        },
      }),
    );
    expect(findings.map((f) => f.split(' ')[0])).toEqual([
      'azurerm_role_assignment.vault',
      'oci_identity_policy.p',
      'google_project_iam_member.m',
      'aws_iam_role_policy.r',
      'ibm_iam_service_policy.all',
    ]);
  });

  test('TLS: a no-verify database URL, and n8n or Node told not to verify, in any environment shape', () => {
    const findings = check('tls/db-certificate-verified').check(
      resource({
        aws_ecs_task_definition: {
          t: {
            container_definitions: JSON.stringify([
              { environment: [{ name: 'DATABASE_URL', value: 'postgres://h/db?sslmode=no-verify' }] },
            ]),
          },
        },
        oci_container_instances_container_instance: {
          n8n: { containers: [{ environment_variables: { DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED: 'false' } }] },
        },
        google_cloud_run_v2_service: {
          s: { template: { containers: [{ env: [{ name: 'NODE_TLS_REJECT_UNAUTHORIZED', value: '0' }] }] } },
        },
        azurerm_container_app: {
          ok: {
            template: {
              container: [{ env: [{ name: 'DATABASE_URL', value: 'postgres://h/db?sslmode=verify-full' }] }],
            },
          },
        },
      }),
    );
    expect(findings).toEqual([
      'aws_ecs_task_definition.t sets a database URL with sslmode=no-verify',
      'oci_container_instances_container_instance.n8n sets DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED=false',
      'google_cloud_run_v2_service.s sets NODE_TLS_REJECT_UNAUTHORIZED=0',
    ]);
  });

  test('logging: a Key Vault without diagnostics, a VPC without flow logs, a load balancer without access logs', () => {
    const vault = resource({ azurerm_key_vault: { v: {} } });
    expect(check('logging/key-vault-diagnostics').check(vault)).toEqual([
      'azurerm_key_vault.v sends no audit log anywhere (diagnostic setting)',
    ]);
    const audited = {
      ...vault.resource,
      azurerm_monitor_diagnostic_setting: { d: { target_resource_id: '${azurerm_key_vault.v.id}' } },
    };
    expect(check('logging/key-vault-diagnostics').check(resource(audited))).toEqual([]);
    expect(check('logging/vpc-flow-logs').check(resource({ aws_vpc: { v: {} } }))).toEqual([
      'aws_vpc has no aws_flow_log',
    ]);
    expect(check('logging/vpc-flow-logs').check(resource({ aws_vpc: { v: {} }, aws_flow_log: { f: {} } }))).toEqual([]);
    const lb = resource({ aws_lb: { lb: { access_logs: { enabled: false } } } });
    expect(check('logging/load-balancer-access-logs').check(lb)).toEqual(['aws_lb.lb writes no access log']);
  });
});
