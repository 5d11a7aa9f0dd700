import { Construct } from 'constructs';
import { DataAwsCallerIdentity } from '@cdktf/provider-aws/lib/data-aws-caller-identity';
import { DataAwsPartition } from '@cdktf/provider-aws/lib/data-aws-partition';
import { DataAwsRegion } from '@cdktf/provider-aws/lib/data-aws-region';
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { SecretsmanagerSecret } from '@cdktf/provider-aws/lib/secretsmanager-secret';
import type { IntegrationSettings } from '@data-sync/config';

export interface AwsSecretsProps {
  /** Resource name prefix, e.g. `data-sync-prod`; secrets are named `<prefix>/...`. */
  readonly prefix: string;
  /** Enabled integrations: one empty secret per credential each. */
  readonly integrations: readonly IntegrationSettings[];
  /** Further empty secrets by key (runtime and n8n keys), named `<prefix>/<key>`; @default none */
  readonly extra?: readonly string[];
  /** Days a deleted secret can still be restored (7-30); @default 7 */
  readonly recoveryWindowDays?: number;
}

/**
 * Secrets capability on AWS: one customer-managed KMS key with rotation (it also encrypts queues, logs,
 * the alert topic and the database), and Secrets Manager secrets created EMPTY: no value is ever in
 * the Terraform configuration; operators fill them with `aws secretsmanager put-secret-value`.
 */
export class AwsSecrets extends Construct {
  readonly key: KmsKey;
  /** Integration credential secrets by credential name (`SALESFORCE_CLIENT_ID`). */
  readonly credentials = new Map<string, SecretsmanagerSecret>();
  /** What precedes `<integration>/<CREDENTIAL>` in a credential secret's name. */
  readonly credentialNamePrefix: string;
  /** `<integration>/<CREDENTIAL>` of every credential secret, by credential name. */
  readonly credentialNames = new Map<string, string>();
  /** Extra secrets by key. */
  readonly extra = new Map<string, SecretsmanagerSecret>();
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;

  constructor(scope: Construct, id: string, props: AwsSecretsProps) {
    super(scope, id);
    this.accountId = new DataAwsCallerIdentity(this, 'account').accountId;
    this.region = new DataAwsRegion(this, 'region').region;
    this.partition = new DataAwsPartition(this, 'partition').partition;
    const root = `arn:${this.partition}:iam::${this.accountId}:root`;
    const usage = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'];
    this.key = new KmsKey(this, 'key', {
      description: `${props.prefix}: queues, secrets, logs, alerts and database`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      // In a key policy "Resource": "*" means this key. The account keeps administration and usage
      // (so IAM policies can grant use); CloudWatch Logs and alarms (to the encrypted SNS topic) get usage only.
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AccountAdministersAndDelegates',
            Effect: 'Allow',
            Principal: { AWS: root },
            Action: [
              'kms:Create*',
              'kms:Describe*',
              'kms:Enable*',
              'kms:List*',
              'kms:Put*',
              'kms:Update*',
              'kms:Revoke*',
              'kms:Disable*',
              'kms:Get*',
              'kms:Delete*',
              'kms:TagResource',
              'kms:UntagResource',
              'kms:ScheduleKeyDeletion',
              'kms:CancelKeyDeletion',
              'kms:RotateKeyOnDemand',
              ...usage,
            ],
            Resource: '*',
          },
          {
            Sid: 'CloudWatchLogsEncrypt',
            Effect: 'Allow',
            Principal: { Service: `logs.${this.region}.amazonaws.com` },
            Action: usage,
            Resource: '*',
            // The stack's log groups: /ecs/<prefix>... (tasks, metrics sidecar) and /aws/lambda/<prefix>... (worker), /vpc/<prefix>... (flow logs).
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': ['/ecs/', '/aws/lambda/', '/vpc/'].map(
                  (base) =>
                    `arn:${this.partition}:logs:${this.region}:${this.accountId}:log-group:${base}${props.prefix}*`,
                ),
              },
            },
          },
          {
            // The event topic delivers to its KMS-encrypted subscriber queues (constructs/events/aws.ts).
            Sid: 'EventTopicDelivers',
            Effect: 'Allow',
            Principal: { Service: 'sns.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
            Condition: { StringEquals: { 'aws:SourceAccount': this.accountId } },
          },
          {
            Sid: 'CloudWatchAlarmsPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Resource: '*',
          },
        ],
      }),
    });
    new KmsAlias(this, 'alias', { name: `alias/${props.prefix}`, targetKeyId: this.key.keyId });
    const recoveryWindowInDays = props.recoveryWindowDays ?? 7;
    this.credentialNamePrefix = `${props.prefix}/integrations/`;
    for (const integration of props.integrations) {
      for (const credential of integration.credentials) {
        this.credentialNames.set(credential, `${integration.name}/${credential}`);
        this.credentials.set(
          credential,
          new SecretsmanagerSecret(this, `${integration.name}-${credential}`, {
            name: `${this.credentialNamePrefix}${integration.name}/${credential}`,
            description: `${integration.name} credential ${credential}; value set out of band`,
            kmsKeyId: this.key.arn,
            recoveryWindowInDays,
            tags: { integration: integration.name },
          }),
        );
      }
    }
    for (const key of props.extra ?? []) {
      this.extra.set(
        key,
        new SecretsmanagerSecret(this, key, {
          name: `${props.prefix}/${key}`,
          description: `${key}; value set out of band`,
          kmsKeyId: this.key.arn,
          recoveryWindowInDays,
        }),
      );
    }
  }

  /** ARNs of every secret this construct created. */
  get allArns(): string[] {
    return [...this.credentials.values(), ...this.extra.values()].map((s) => s.arn);
  }
}
