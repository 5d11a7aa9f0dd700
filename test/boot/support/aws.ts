import { CreateTopicCommand, type SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { EVENT_CONSUMER_NAMES, type EventConsumer } from '@data-sync/config/events';
import { type RuntimeProcess, resourcesOf, runsRuntime } from './runtime-process';

interface EcsContainer {
  name: string;
  command?: string[];
  environment?: { name: string; value: string }[];
  secrets?: { name: string; valueFrom: string }[];
}

/** The ECS services' runtime containers (one task definition per blue-green slot). */
export function awsContainers(stack: any): RuntimeProcess[] {
  return resourcesOf(stack, 'aws_ecs_task_definition').flatMap(([name, task]) =>
    (JSON.parse(task.container_definitions) as EcsContainer[])
      .filter((c) => runsRuntime(c.command))
      .map((c) => ({
        name: `aws_ecs_task_definition.${name}/${c.name}`,
        command: c.command!,
        env: Object.fromEntries((c.environment ?? []).map((e) => [e.name, e.value])),
        secrets: Object.fromEntries((c.secrets ?? []).map((s) => [s.name, s.valueFrom])),
        listed: [...(c.environment ?? []), ...(c.secrets ?? [])].map((e) => e.name),
      })),
  );
}

/** The SQS-triggered Lambda worker: its handler file and environment (it reads its secrets by ARN). */
export function awsLambda(stack: any): { handler: string; env: Record<string, string> } {
  const [[, fn]] = resourcesOf(stack, 'aws_lambda_function', 'worker_function');
  return { handler: fn.handler, env: fn.environment.variables };
}

/**
 * The stack's event bus recreated on an SNS/SQS emulator (fauxqs): its topic by name, and for each
 * `aws_sns_topic_subscription` on it the subscribed queue by name, with the subscription's protocol, filter
 * policy and scope, and raw delivery as synthesized. Returns the topic's ARN and each service's queue URL.
 */
export async function declareAwsEventBus(
  stack: any,
  clients: { sns: Pick<SNSClient, 'send'>; sqs: Pick<SQSClient, 'send'> },
): Promise<{ topicArn: string; queueUrls: Record<EventConsumer, string> }> {
  const { sns, sqs } = clients;
  const topics = resourcesOf(stack, 'aws_sns_topic').filter(([id]) => /^events_[0-9A-F]{8}$/.test(id));
  if (topics.length !== 1) throw new Error(`expected the event topic once, found ${topics.length}`);
  const [[topicId, topic]] = topics;
  const topicArn = (await sns.send(new CreateTopicCommand({ Name: topic.name }))).TopicArn!;
  const queueUrls = {} as Record<EventConsumer, string>;
  for (const [id, subscription] of resourcesOf(stack, 'aws_sns_topic_subscription')) {
    if (subscription.topic_arn !== `\${aws_sns_topic.${topicId}.arn}`) continue;
    const consumer = EVENT_CONSUMER_NAMES.find((c) => id.startsWith(`events_subscription-${c}_`));
    if (!consumer) throw new Error(`subscription ${id} names no internal service`);
    const queueId = /^\$\{aws_sqs_queue\.([^.]+)\.arn\}$/.exec(subscription.endpoint)?.[1];
    const queue = queueId && stack.resource.aws_sqs_queue[queueId];
    if (!queue) throw new Error(`subscription ${id} does not lead to a queue of the stack: ${subscription.endpoint}`);
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: queue.name }))).QueueUrl!;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: subscription.protocol,
        Endpoint: Attributes!.QueueArn,
        Attributes: {
          FilterPolicy: subscription.filter_policy,
          FilterPolicyScope: subscription.filter_policy_scope,
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
