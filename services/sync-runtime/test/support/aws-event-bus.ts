/**
 * The AWS stack's event bus recreated on an SNS/SQS emulator (fauxqs), for the SNS bus test and the AWS
 * boot test: read from the synthesized stack, so what they publish to is what the stack deploys.
 */
import { CreateTopicCommand, type SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { EVENT_CONSUMER_NAMES, type EventConsumer } from '@data-sync/config/events';

/** The part of a synthesized stack (cdk.tf.json) read here: resources by type, then by logical id. */
type Resources = Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;

/**
 * Creates the stack's topic by name, and for each `aws_sns_topic_subscription` on it the subscribed queue by
 * name, subscribed with the subscription's protocol, filter policy and scope, and raw delivery as synthesized.
 * Returns the topic's ARN and each service's queue URL.
 */
export async function declareAwsEventBus(
  stack: unknown,
  clients: { sns: Pick<SNSClient, 'send'>; sqs: Pick<SQSClient, 'send'> },
): Promise<{ topicArn: string; queueUrls: Record<EventConsumer, string> }> {
  const { sns, sqs } = clients;
  const resource = (stack as { resource?: Resources }).resource ?? {};
  const topics = Object.entries(resource.aws_sns_topic ?? {}).filter(([id]) => /^events_[0-9A-F]{8}$/.test(id));
  if (topics.length !== 1) throw new Error(`expected the event topic once, found ${topics.length}`);
  const [[topicId, topic]] = topics;
  const topicArn = (await sns.send(new CreateTopicCommand({ Name: String(topic.name) }))).TopicArn!;
  const queueUrls = {} as Record<EventConsumer, string>;
  for (const [id, subscription] of Object.entries(resource.aws_sns_topic_subscription ?? {})) {
    if (subscription.topic_arn !== `\${aws_sns_topic.${topicId}.arn}`) continue;
    const consumer = EVENT_CONSUMER_NAMES.find((c) => id.startsWith(`events_subscription-${c}_`));
    if (!consumer) throw new Error(`subscription ${id} names no internal service`);
    const queueId = /^\$\{aws_sqs_queue\.([^.]+)\.arn\}$/.exec(String(subscription.endpoint))?.[1];
    const queue = queueId ? resource.aws_sqs_queue?.[queueId] : undefined;
    if (!queue) throw new Error(`subscription ${id} does not lead to a queue of the stack: ${subscription.endpoint}`);
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: String(queue.name) }))).QueueUrl!;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: String(subscription.protocol),
        Endpoint: Attributes!.QueueArn,
        Attributes: {
          FilterPolicy: String(subscription.filter_policy),
          FilterPolicyScope: String(subscription.filter_policy_scope),
          RawMessageDelivery: String(subscription.raw_message_delivery),
        },
      }),
    );
    queueUrls[consumer] = url;
  }
  const missing = EVENT_CONSUMER_NAMES.filter((c) => !queueUrls[c]);
  if (missing.length) throw new Error(`the stack subscribes no queue for ${missing.join(', ')}`);
  return { topicArn, queueUrls };
}
