import * as fs from 'fs';
import * as path from 'path';
import { Construct } from 'constructs';
import { AssetType, TerraformAsset } from 'cdktf';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping';
import { LambdaFunction } from '@cdktf/provider-aws/lib/lambda-function';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { ServiceRole } from '../iam/aws';
import { projectRoot, zipFiles } from '../shared/zip';
import { LAMBDA_MEMORY_MB, LAMBDA_NODE_RUNTIME } from '@data-sync/config';

/** The runtime bundle esbuild writes (scripts/build-runtime.js), relative to the project root where synth runs. */
export const RUNTIME_BUNDLE_DIR = 'dist/runtime';
/** The Lambda's handler module (handler `lambda-handler.handler`): it loads the worker bundle with its code cache. */
export const LAMBDA_HANDLER_MODULE = 'lambda-handler.js';
/** The worker bundle; the other bundles are not for Lambda. */
export const LAMBDA_ENTRY = 'lambda.js';
/** The bundle's V8 code caches, one per Node version and flags the build made one for (lambda-handler.ts). */
export const isLambdaCodeCache = (name: string) => /^lambda\.[0-9a-f]{16}\.v8cache$/.test(name);

/** The deployment package's files in `dir`: the handler module, the bundle and its code caches. */
export function lambdaPackageFiles(dir: string): string[] {
  const caches = fs.existsSync(dir) ? fs.readdirSync(dir).filter(isLambdaCodeCache).sort() : [];
  return [LAMBDA_HANDLER_MODULE, LAMBDA_ENTRY, ...caches];
}

export interface AwsWorkerProps {
  /** Function name, e.g. `data-sync-prod-worker`. */
  readonly name: string;
  readonly accountId: string;
  readonly region: string;
  readonly partition: string;
  /** Queue the function consumes. */
  readonly queueArn: string;
  /** KMS key of the queue, logs and secrets. */
  readonly kmsKeyArn: string;
  /** Seconds one invocation may run (environment's workerTimeoutSeconds, at most 900). */
  readonly timeoutSeconds: number;
  /** Log retention in days. */
  readonly logRetentionDays: number;
  readonly vpcId: string;
  /** Private subnets with egress (vendor APIs, database). */
  readonly subnetIds: readonly string[];
  /** Secrets the worker may read (integration credentials, database master secret). */
  readonly secretArns: readonly string[];
  /** Plain environment variables (no secret values: pass secret ARNs instead). */
  readonly environment: Record<string, string>;
  /** Messages per invocation. @default 10 */
  readonly batchSize?: number;
  /** Concurrent invocations the queue may drive (protects the database and vendor rate limits). @default 10 */
  readonly maximumConcurrency?: number;
  /** Memory in MiB: the build makes the bundle's code cache for LAMBDA_MEMORY_MB only. @default LAMBDA_MEMORY_MB (1024) */
  readonly memoryMb?: number;
}

/**
 * Worker capability on AWS: a Lambda function packaged from the runtime bundle (a TerraformAsset of
 * the zipped handler module, dist/runtime/lambda.js and its code cache, zipped once per process: see ../shared/zip.ts),
 * consuming the sync queue through an event source mapping that reports
 * per-message failures (ReportBatchItemFailures), so only failed messages are retried and dead-lettered.
 */
export class AwsWorker extends Construct {
  readonly function: LambdaFunction;
  readonly securityGroup: SecurityGroup;
  readonly logGroup: CloudwatchLogGroup;

  constructor(scope: Construct, id: string, props: AwsWorkerProps) {
    super(scope, id);
    if (props.timeoutSeconds > 900)
      throw new Error(`AwsWorker ${props.name}: timeoutSeconds ${props.timeoutSeconds} exceeds Lambda's 900 s limit`);
    const dir = path.join(projectRoot(), RUNTIME_BUNDLE_DIR);
    // A code cache's bytes change from build to build while its meaning does not: identified by name, so a
    // synth of the same code keeps the function's source hash and a deploy does not update it.
    const zipped = zipFiles(dir, lambdaPackageFiles(dir), { identifiedByName: isLambdaCodeCache });
    const bundle = new TerraformAsset(this, 'bundle', {
      path: zipped.path,
      type: AssetType.FILE,
      assetHash: zipped.digest.toUpperCase(),
    });
    this.logGroup = new CloudwatchLogGroup(this, 'logs', {
      name: `/aws/lambda/${props.name}`,
      retentionInDays: props.logRetentionDays,
      kmsKeyId: props.kmsKeyArn,
    });
    this.securityGroup = new SecurityGroup(this, 'sg', {
      name: props.name,
      description: `${props.name}: egress only`,
      vpcId: props.vpcId,
      egress: [
        {
          protocol: '-1',
          fromPort: 0,
          toPort: 0,
          cidrBlocks: ['0.0.0.0/0'],
          description: 'vendor APIs, AWS APIs and the database',
        },
      ],
    });
    const role = new ServiceRole(this, 'role', {
      name: props.name,
      service: 'lambda.amazonaws.com',
      accountId: props.accountId,
      statements: [
        { sid: 'Logs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${this.logGroup.arn}:*`] },
        {
          sid: 'ConsumeQueue',
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
          resources: [props.queueArn],
        },
        { sid: 'UseKey', actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [props.kmsKeyArn] },
        ...(props.secretArns.length
          ? [{ sid: 'ReadSecrets', actions: ['secretsmanager:GetSecretValue'], resources: [...props.secretArns] }]
          : []),
        // ENI management for VPC access; EC2 does not support resource-level ARNs for these calls.
        {
          sid: 'VpcNetworkInterfaces',
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        },
      ],
    });
    this.function = new LambdaFunction(this, 'function', {
      functionName: props.name,
      role: role.arn,
      runtime: LAMBDA_NODE_RUNTIME,
      handler: `${path.basename(LAMBDA_HANDLER_MODULE, '.js')}.handler`,
      filename: bundle.path,
      sourceCodeHash: bundle.assetHash,
      timeout: props.timeoutSeconds,
      memorySize: props.memoryMb ?? LAMBDA_MEMORY_MB,
      architectures: ['arm64'],
      kmsKeyArn: props.kmsKeyArn,
      environment: { variables: { ...props.environment } },
      vpcConfig: { subnetIds: [...props.subnetIds], securityGroupIds: [this.securityGroup.id] },
      loggingConfig: { logFormat: 'JSON', logGroup: this.logGroup.name },
      dependsOn: [this.logGroup],
    });
    new LambdaEventSourceMapping(this, 'queue-trigger', {
      eventSourceArn: props.queueArn,
      functionName: this.function.arn,
      batchSize: props.batchSize ?? 10,
      maximumBatchingWindowInSeconds: 5,
      functionResponseTypes: ['ReportBatchItemFailures'],
      scalingConfig: { maximumConcurrency: props.maximumConcurrency ?? 10 },
    });
  }
}
