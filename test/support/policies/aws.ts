/** AWS policy rules: queues encrypted with a DLQ, databases encrypted and private, no wildcard IAM, log retention, KMS rotation. */
import { type Block, type TerraformJson, parseJsonString, resourcesOf } from '../terraform-checks';
import type { PolicyRule } from '.';

const asList = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Where IAM policy documents live: resource type -> attribute holding the JSON document. */
const POLICY_DOCUMENTS: Record<string, string[]> = {
  aws_iam_policy: ['policy'],
  aws_iam_role_policy: ['policy'],
  aws_iam_role: ['assume_role_policy'],
  aws_iam_user_policy: ['policy'],
  aws_iam_group_policy: ['policy'],
  aws_sqs_queue_policy: ['policy'],
  aws_sns_topic_policy: ['policy'],
  aws_kms_key: ['policy'],
  aws_s3_bucket_policy: ['policy'],
  aws_secretsmanager_secret_policy: ['policy'],
};

interface Statement {
  readonly Effect?: string;
  readonly Action?: unknown;
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
}

/** Problems in one IAM document: not inspectable JSON, `*` action, or `*:*`-like action on `*` resource. */
function documentProblems(where: string, document: unknown): string[] {
  if (document === undefined) return [];
  const parsed = parseJsonString(document);
  if (parsed === undefined || typeof parsed !== 'object' || parsed === null)
    return [`${where} is not an inspectable JSON policy document`];
  const problems: string[] = [];
  for (const statement of asList((parsed as { Statement?: unknown }).Statement) as Statement[]) {
    if (statement.Effect !== 'Allow') continue;
    const actions = asList(statement.Action).map(String);
    const resources = asList(statement.Resource).map(String);
    if (statement.NotAction !== undefined) problems.push(`${where} allows NotAction (everything but a list)`);
    if (statement.NotResource !== undefined) problems.push(`${where} allows NotResource (everything but a list)`);
    if (actions.includes('*')) problems.push(`${where} allows action "*"`);
    if (resources.includes('*') && actions.some((a) => /^[a-z0-9-]+:\*$/.test(a))) {
      problems.push(
        `${where} allows every action of a service (${actions.filter((a) => a.endsWith(':*')).join(', ')}) on resource "*"`,
      );
    }
  }
  return problems;
}

function eachResource(
  json: TerraformJson,
  types: string[],
  check: (address: string, body: Block) => string[],
): string[] {
  return types.flatMap((type) => resourcesOf(json, type).flatMap(([name, body]) => check(`${type}.${name}`, body)));
}

/** Queue names that another queue's redrive policy (or aws_sqs_queue_redrive_policy) targets. */
function deadLetterTargets(json: TerraformJson): Map<string, string> {
  const targets = new Map<string, string>();
  const record = (source: string, policy: unknown) => {
    const parsed = parseJsonString(policy) as { deadLetterTargetArn?: unknown } | undefined;
    const match =
      typeof parsed?.deadLetterTargetArn === 'string'
        ? /^\$\{aws_sqs_queue\.([\w-]+)\.arn\}$/.exec(parsed.deadLetterTargetArn)
        : null;
    if (match) targets.set(source, match[1]);
  };
  for (const [name, body] of resourcesOf(json, 'aws_sqs_queue')) record(name, body.redrive_policy);
  for (const [, body] of resourcesOf(json, 'aws_sqs_queue_redrive_policy')) {
    const queue = /^\$\{aws_sqs_queue\.([\w-]+)\.(url|id)\}$/.exec(String(body.queue_url));
    if (queue) record(queue[1], body.redrive_policy);
  }
  return targets;
}

export const AWS_POLICIES: readonly PolicyRule[] = [
  {
    id: 'aws/sqs-encrypted',
    description: 'Every SQS queue is encrypted with a KMS key',
    check: (json) =>
      eachResource(json, ['aws_sqs_queue'], (address, body) =>
        typeof body.kms_master_key_id === 'string' && body.kms_master_key_id
          ? []
          : [`${address} has no kms_master_key_id`],
      ),
  },
  {
    id: 'aws/sqs-dead-letter',
    description:
      'Every SQS queue that is not itself a dead-letter queue redrives to one declared in the stack, with a maxReceiveCount',
    check(json) {
      const targets = deadLetterTargets(json);
      const deadLetterQueues = new Set(targets.values());
      const problems: string[] = [];
      for (const [name, body] of resourcesOf(json, 'aws_sqs_queue')) {
        if (deadLetterQueues.has(name)) continue;
        const target = targets.get(name);
        if (!target) {
          problems.push(`aws_sqs_queue.${name} has no redrive policy to a dead-letter queue`);
          continue;
        }
        if (!json.resource?.aws_sqs_queue?.[target])
          problems.push(`aws_sqs_queue.${name} redrives to undeclared queue ${target}`);
        const count = (parseJsonString(body.redrive_policy) as { maxReceiveCount?: unknown } | undefined)
          ?.maxReceiveCount;
        if (body.redrive_policy !== undefined && !(typeof count === 'number' && count >= 1))
          problems.push(`aws_sqs_queue.${name} redrive policy has no maxReceiveCount >= 1`);
      }
      return problems;
    },
  },
  {
    id: 'aws/database-encrypted-private',
    description:
      'RDS instances and clusters are storage-encrypted, not publicly accessible, and placed in a subnet group',
    check: (json) =>
      eachResource(json, ['aws_db_instance', 'aws_rds_cluster'], (address, body) => [
        ...(body.storage_encrypted === true ? [] : [`${address} is not storage_encrypted`]),
        ...(body.publicly_accessible === true ? [`${address} is publicly_accessible`] : []),
        ...(body.db_subnet_group_name
          ? []
          : [`${address} has no db_subnet_group_name (it would land in the default VPC)`]),
      ]),
  },
  {
    id: 'aws/no-wildcard-iam',
    description: 'No IAM document allows "*" actions or a whole service on "*"; every document is inspectable JSON',
    check: (json) =>
      Object.entries(POLICY_DOCUMENTS).flatMap(([type, attributes]) =>
        resourcesOf(json, type).flatMap(([name, body]) => [
          ...attributes.flatMap((attribute) => documentProblems(`${type}.${name}.${attribute}`, body[attribute])),
          ...asList(body.inline_policy).flatMap((inline, i) =>
            documentProblems(`${type}.${name}.inline_policy[${i}]`, (inline as Block).policy),
          ),
        ]),
      ),
  },
  {
    id: 'aws/log-retention',
    description: 'Every CloudWatch log group sets a retention and is encrypted with KMS',
    check: (json) =>
      eachResource(json, ['aws_cloudwatch_log_group'], (address, body) => [
        ...(typeof body.retention_in_days === 'number' && body.retention_in_days > 0
          ? []
          : [`${address} has no retention_in_days`]),
        ...(body.kms_key_id ? [] : [`${address} has no kms_key_id`]),
      ]),
  },
  {
    id: 'aws/kms-rotation',
    description: 'Every customer-managed KMS key rotates',
    check: (json) =>
      eachResource(json, ['aws_kms_key'], (address, body) =>
        body.enable_key_rotation === true ? [] : [`${address} does not enable_key_rotation`],
      ),
  },
  {
    id: 'aws/secrets-empty-and-encrypted',
    description: 'Secrets Manager secrets use the stack KMS key and no secret version (value) is declared in Terraform',
    check: (json) => [
      ...eachResource(json, ['aws_secretsmanager_secret'], (address, body) =>
        body.kms_key_id ? [] : [`${address} has no kms_key_id`],
      ),
      ...eachResource(json, ['aws_secretsmanager_secret_version'], (address) => [
        `${address} puts a secret value into the configuration`,
      ]),
    ],
  },
  {
    id: 'aws/sns-encrypted',
    description: 'Every SNS topic is encrypted with KMS',
    check: (json) =>
      eachResource(json, ['aws_sns_topic'], (address, body) =>
        body.kms_master_key_id ? [] : [`${address} has no kms_master_key_id`],
      ),
  },
];
