import { SnsTopic } from '@cdktf/provider-aws/lib/sns-topic';
import { SnsTopicSubscription } from '@cdktf/provider-aws/lib/sns-topic-subscription';
import { SqsQueue } from '@cdktf/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktf/provider-aws/lib/sqs-queue-policy';
import { Construct } from 'constructs';
import {
  EVENT_CONSUMERS,
  EVENT_CONSUMER_NAMES,
  EVENT_ENV,
  EVENT_TYPE_PREFIX,
  type EventConsumer,
} from '@data-sync/config/events';
import type { IamStatement } from '../iam/aws';

export interface AwsEventBusProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** KMS key ARN that encrypts the topic and the queues (its policy lets SNS use it). */
  readonly kmsKeyArn: string;
}

/**
 * The event bus on AWS: one SNS topic, and per internal service an SQS queue subscribed with a filter
 * policy on the `event_type` message attribute (raw delivery: the queue gets the CloudEvent itself).
 * `publishStatement` is the runtime's only permission on it: sns:Publish to this topic.
 */
export class AwsEventBus extends Construct {
  readonly topic: SnsTopic;
  readonly queues: Record<EventConsumer, SqsQueue>;
  readonly publishStatement: IamStatement;
  /** What the runtime needs to publish here: for the processes that drain the outbox (the ECS services). */
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: AwsEventBusProps) {
    super(scope, id);
    this.topic = new SnsTopic(this, 'events', { name: `${props.prefix}-events`, kmsMasterKeyId: props.kmsKeyArn });
    this.queues = {} as Record<EventConsumer, SqsQueue>;
    for (const consumer of EVENT_CONSUMER_NAMES) {
      const name = consumer.replace(/_/g, '-');
      // A consumer's poison message goes to its own dead-letter queue, not back to the topic.
      const deadLetters = new SqsQueue(this, `queue-${consumer}-dead-letters`, {
        name: `${props.prefix}-events-${name}-dlq`,
        kmsMasterKeyId: props.kmsKeyArn,
        messageRetentionSeconds: 1_209_600,
      });
      const queue = new SqsQueue(this, `queue-${consumer}`, {
        name: `${props.prefix}-events-${name}`,
        kmsMasterKeyId: props.kmsKeyArn,
        messageRetentionSeconds: 1_209_600,
        redrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetters.arn, maxReceiveCount: 10 }),
      });
      new SqsQueuePolicy(this, `queue-${consumer}-policy`, {
        queueUrl: queue.url,
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'FromTheEventTopicOnly',
              Effect: 'Allow',
              Principal: { Service: 'sns.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: queue.arn,
              Condition: { ArnEquals: { 'aws:SourceArn': this.topic.arn } },
            },
          ],
        }),
      });
      new SnsTopicSubscription(this, `subscription-${consumer}`, {
        topicArn: this.topic.arn,
        protocol: 'sqs',
        endpoint: queue.arn,
        rawMessageDelivery: true,
        filterPolicyScope: 'MessageAttributes',
        filterPolicy: JSON.stringify({ event_type: EVENT_CONSUMERS[consumer].types.map((t) => EVENT_TYPE_PREFIX + t) }),
      });
      this.queues[consumer] = queue;
    }
    this.publishStatement = { sid: 'PublishEvents', actions: ['sns:Publish'], resources: [this.topic.arn] };
    // The runtime's SNS binding (events/sns.ts) publishes in the topic's region, which it reads from the ARN.
    this.environment = { [EVENT_ENV.bus]: 'sns', [EVENT_ENV.target]: this.topic.arn };
  }
}
