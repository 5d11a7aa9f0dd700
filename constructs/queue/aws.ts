import { Construct } from 'constructs';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';

export interface AwsQueueProps {
  /** Queue name prefix, e.g. `data-sync-prod`: queues `<prefix>-jobs` and `<prefix>-jobs-dlq`. */
  readonly prefix: string;
  /** KMS key ARN that encrypts both queues. */
  readonly kmsKeyArn: string;
  /** Deliveries before a message moves to the dead-letter queue (environment's maxReceiveCount). */
  readonly maxReceiveCount: number;
  /** Longest a worker spends on one message, in seconds; visibility is 6x this (AWS's advice for Lambda), at most 12 h. */
  readonly workerTimeoutSeconds: number;
}

/** Queue capability on AWS: the KMS-encrypted sync queue and its dead-letter queue with redrive. */
export class AwsQueue extends Construct {
  readonly queue: SqsQueue;
  readonly deadLetterQueue: SqsQueue;
  readonly visibilityTimeoutSeconds: number;

  constructor(scope: Construct, id: string, props: AwsQueueProps) {
    super(scope, id);
    if (!Number.isInteger(props.maxReceiveCount) || props.maxReceiveCount < 1 || props.maxReceiveCount > 1000) {
      throw new Error(
        `AwsQueue ${props.prefix}: maxReceiveCount must be an integer 1-1000, got ${props.maxReceiveCount}`,
      );
    }
    this.visibilityTimeoutSeconds = Math.min(props.workerTimeoutSeconds * 6, 43_200);
    if (this.visibilityTimeoutSeconds <= props.workerTimeoutSeconds) {
      throw new Error(
        `AwsQueue ${props.prefix}: workerTimeoutSeconds ${props.workerTimeoutSeconds} leaves no visibility timeout above it (SQS maximum 43200 s)`,
      );
    }
    const jobs = `${props.prefix}-jobs`;
    this.deadLetterQueue = new SqsQueue(this, 'dead-letters', {
      name: `${jobs}-dlq`,
      kmsMasterKeyId: props.kmsKeyArn,
      kmsDataKeyReusePeriodSeconds: 300,
      messageRetentionSeconds: 1_209_600,
    });
    this.queue = new SqsQueue(this, 'jobs', {
      name: jobs,
      kmsMasterKeyId: props.kmsKeyArn,
      kmsDataKeyReusePeriodSeconds: 300,
      visibilityTimeoutSeconds: this.visibilityTimeoutSeconds,
      messageRetentionSeconds: 345_600,
      receiveWaitTimeSeconds: 20,
      redrivePolicy: JSON.stringify({
        deadLetterTargetArn: this.deadLetterQueue.arn,
        maxReceiveCount: props.maxReceiveCount,
      }),
    });
  }
}
