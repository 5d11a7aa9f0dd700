/**
 * Policy rules per cloud. Each cloud's module (test/support/policies/<cloud>.ts) exports a
 * `readonly PolicyRule[]`; `policyRules(cloud)` returns the cross-cloud rules below plus that
 * cloud's. The registry is built on each call so that rule modules may import helpers from
 * ../terraform-checks at load time without an import cycle biting.
 */
import type { Cloud } from '@data-sync/config';
import { type TerraformJson, walk, walkObjects } from '../terraform-checks';
import { AWS_POLICIES } from './aws';
import { AZURE_POLICIES } from './azure';
import { CLOUDFLARE_POLICIES } from './cloudflare';
import { DATABASE_POLICIES } from './database';
import { GCP_POLICIES } from './gcp';
import { HTTPS_POLICY } from './https';
import { IBM_POLICIES } from './ibm';
import { N8N_POLICIES } from './n8n';
import { OCI_POLICIES } from './oci';

export interface PolicyRule {
  /** Short id shown in front of each violation, e.g. `aws/sqs-encrypted`. */
  readonly id: string;
  /** What the rule requires, one line. */
  readonly description: string;
  /** Violations found in the stack, one message each naming the resource. */
  readonly check: (json: TerraformJson) => string[];
}

/** Attribute names whose literal value would be a secret in the configuration. */
export const SECRET_ATTRIBUTE =
  /(^|_)(password|passwd|secret_string|secret_binary|secret_value|secret_data|payload|api_key|apikey|token|private_key|client_secret|encryption_key|access_key|credentials)$/i;
/** Environment variable names that hold secrets (by their ending, so DATABASE_SECRET_ARN is not one). */
export const SECRET_ENV_NAME =
  /(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|PRIVATE_KEY|ENCRYPTION_KEY|ACCESS_KEY|CREDENTIALS?)$/i;

/** A literal (not an expression) non-empty string: what a secret in the configuration looks like. */
function literalString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && !value.includes('${');
}

/** Rules every cloud's stack must pass. */
export const COMMON_POLICIES: readonly PolicyRule[] = [
  {
    id: 'common/no-literal-secret',
    description:
      'No secret value is written into the configuration: secret attributes and secret-named environment variables are references or absent',
    check(json) {
      const problems: string[] = [];
      for (const [type, byName] of Object.entries(json.resource ?? {})) {
        for (const [name, body] of Object.entries(byName)) {
          walk(body, (path, leaf, key) => {
            if (SECRET_ATTRIBUTE.test(key) && literalString(leaf))
              problems.push(`${type}.${name}: ${path} holds a literal secret value`);
          });
          // Environment lists such as [{ name, value }] (ECS, Cloud Run, Container Apps, Code Engine).
          walkObjects(body, (path, object) => {
            const envName = object.name;
            if (typeof envName === 'string' && SECRET_ENV_NAME.test(envName) && literalString(object.value)) {
              problems.push(`${type}.${name}: environment ${envName} at ${path} holds a literal secret value`);
            }
          });
        }
      }
      return problems;
    },
  },
  {
    id: 'common/unique-env-names',
    description:
      'No container sets one environment variable twice (which value wins differs by platform, and some refuse the revision)',
    check(json) {
      const problems: string[] = [];
      for (const [type, byName] of Object.entries(json.resource ?? {})) {
        for (const [name, body] of Object.entries(byName)) {
          walkObjects(body, (path, object) => {
            for (const key of ['env', 'environment']) {
              const list = object[key];
              if (!Array.isArray(list)) continue;
              const names = list
                .map((e) => (e !== null && typeof e === 'object' ? (e as Record<string, unknown>).name : undefined))
                .filter((n): n is string => typeof n === 'string');
              for (const twice of new Set(names.filter((n, i) => names.indexOf(n) !== i)))
                problems.push(`${type}.${name}: environment ${twice} is set twice at ${path ? `${path}.` : ''}${key}`);
            }
          });
        }
      }
      return problems;
    },
  },
  {
    id: 'common/no-unresolved-token',
    description: 'No unresolved cdktf token (${TfToken[...]}) is left in the configuration',
    check(json) {
      const problems: string[] = [];
      walk(json, (path, leaf) => {
        if (typeof leaf === 'string' && /TfToken\[|\$\{Token\[/.test(leaf))
          problems.push(`${path}: unresolved token ${leaf.slice(0, 80)}`);
      });
      return problems;
    },
  },
];

/** The cross-cloud rules (with ./https.ts, ./n8n.ts and ./database.ts) plus the cloud's own; undefined for a cloud without a rule module yet. */
export function policyRules(cloud: Cloud): readonly PolicyRule[] | undefined {
  const byCloud: Partial<Record<Cloud, readonly PolicyRule[]>> = {
    aws: AWS_POLICIES,
    oci: OCI_POLICIES,
    ibm: IBM_POLICIES,
    gcp: GCP_POLICIES,
    azure: AZURE_POLICIES,
    cloudflare: CLOUDFLARE_POLICIES,
  };
  const own = byCloud[cloud];
  return own && [...COMMON_POLICIES, HTTPS_POLICY, ...N8N_POLICIES, ...DATABASE_POLICIES, ...own];
}
