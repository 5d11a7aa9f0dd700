/**
 * The event bus every stack declares (issue 19): the bus resource, one subscription point per internal
 * service filtered to that service's event types, the runtime's permission to publish to this bus only,
 * and the variables the runtime is given to reach it, read from the synthesized JSON.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EVENT_CONSUMERS, EVENT_CONSUMER_NAMES, EVENT_TYPE_PREFIX } from '@data-sync/config/events';
import { buildApp } from '../../app';
import {
  type Block,
  type TerraformJson,
  parseJsonString,
  resourcesOf,
  synthJson,
  walkObjects,
} from '../support/terraform-checks';

const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'events-stack-'));
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

function synth(cloud: string): TerraformJson {
  const { stacks } = buildApp({ context: { clouds: cloud, environment: 'prod' }, outdir });
  return synthJson(stacks.find((s) => s.node.id === `data-sync-${cloud}-prod`)!);
}
const wire = (consumer: keyof typeof EVENT_CONSUMERS) =>
  EVENT_CONSUMERS[consumer].types.map((t) => EVENT_TYPE_PREFIX + t);
const named = (json: TerraformJson, type: string, part: string): [string, Block] => {
  const found = resourcesOf(json, type).filter(([id]) =>
    new RegExp(part === 'events' ? '^events_[0-9A-F]{8}$' : `^events_${part}_[0-9A-F]{8}$`).test(id),
  );
  expect(found).toHaveLength(1);
  return found[0];
};
/** Every string anywhere under `json` that contains `needle`. */
const stringsWith = (value: unknown, needle: string): string[] =>
  typeof value === 'string'
    ? value.includes(needle)
      ? [value]
      : []
    : value && typeof value === 'object'
      ? Object.values(value).flatMap((v) => stringsWith(v, needle))
      : [];

test('GCP: a Pub/Sub topic, a filtered subscription per service, publish granted on that topic only, the runtime told', () => {
  const json = synth('gcp');
  const [topicId, topic] = named(json, 'google_pubsub_topic', 'events');
  expect(topic.name).toBe('data-sync-prod-events');
  for (const consumer of EVENT_CONSUMER_NAMES) {
    const [, sub] = named(json, 'google_pubsub_subscription', `subscription-${consumer}`);
    expect(sub.topic).toBe(`\${google_pubsub_topic.${topicId}.id}`);
    expect(String(sub.filter).split(' OR ')).toEqual(wire(consumer).map((t) => `attributes.event_type = "${t}"`));
  }
  const publishers = resourcesOf(json, 'google_pubsub_topic_iam_member').filter(
    ([, b]) => b.topic === `\${google_pubsub_topic.${topicId}.id}`,
  );
  expect(publishers.map(([, b]) => [b.role, b.member])).toEqual([
    [
      'roles/pubsub.publisher',
      expect.stringMatching(/^serviceAccount:\$\{google_service_account\..*runtime-identity.*\.email\}$/),
    ],
  ]);
  // No project-wide publisher role: the runtime may publish to this topic and its job topics only.
  expect(resourcesOf(json, 'google_project_iam_member').filter(([, b]) => b.role === 'roles/pubsub.publisher')).toEqual(
    [],
  );
  const [, service] = resourcesOf(json, 'google_cloud_run_v2_service').find(([id]) => id.startsWith('runtime_'))!;
  const env = ((service.template as Block).containers as Block[])[0].env as { name: string; value?: string }[];
  expect(env).toEqual(
    expect.arrayContaining([
      { name: 'DATA_SYNC_EVENTS', value: 'pubsub' },
      { name: 'DATA_SYNC_EVENTS_TARGET', value: `\${google_pubsub_topic.${topicId}.name}` },
    ]),
  );
});

test('AWS: an SNS topic, an SQS queue per service subscribed with its filter policy, sns:Publish on that topic only', () => {
  const json = synth('aws');
  const [topicId] = named(json, 'aws_sns_topic', 'events');
  const arn = `\${aws_sns_topic.${topicId}.arn}`;
  for (const consumer of EVENT_CONSUMER_NAMES) {
    const [queueId] = named(json, 'aws_sqs_queue', `queue-${consumer}`);
    const [, sub] = named(json, 'aws_sns_topic_subscription', `subscription-${consumer}`);
    expect(sub).toMatchObject({
      topic_arn: arn,
      protocol: 'sqs',
      endpoint: `\${aws_sqs_queue.${queueId}.arn}`,
      raw_message_delivery: true,
    });
    expect(parseJsonString(sub.filter_policy)).toEqual({ event_type: wire(consumer) });
    const [, policy] = named(json, 'aws_sqs_queue_policy', `queue-${consumer}-policy`);
    expect(parseJsonString(policy.policy)).toMatchObject({
      Statement: [{ Condition: { ArnEquals: { 'aws:SourceArn': arn } } }],
    });
  }
  const publishing = resourcesOf(json, 'aws_iam_role_policy').flatMap(([, b]) =>
    ((parseJsonString(b.policy) as { Statement: { Action: string[]; Resource: string[] }[] }).Statement ?? []).filter(
      (s) => [s.Action].flat().some((a) => a.startsWith('sns:')),
    ),
  );
  // One statement per task role (a slot each), all the same: publish, to this topic.
  expect(publishing.length).toBeGreaterThan(0);
  for (const statement of publishing) expect(statement).toMatchObject({ Action: ['sns:Publish'], Resource: [arn] });
  // The ECS services drain the outbox onto the topic; the Lambda worker does not, so it is not told the bus.
  const runtimes = resourcesOf(json, 'aws_ecs_task_definition')
    .filter(([id]) => id.startsWith('runtime_'))
    .map(
      ([, task]) => (JSON.parse(String(task.container_definitions)) as { name: string; environment: object[] }[])[0],
    );
  expect(runtimes).toHaveLength(2);
  for (const container of runtimes)
    expect(container.environment).toEqual(
      expect.arrayContaining([
        { name: 'DATA_SYNC_EVENTS', value: 'sns' },
        { name: 'DATA_SYNC_EVENTS_TARGET', value: arn },
      ]),
    );
  const [[, lambda]] = resourcesOf(json, 'aws_lambda_function');
  expect(Object.keys((lambda.environment as { variables: object }).variables)).not.toContain('DATA_SYNC_EVENTS');
});

test('Azure: a Service Bus topic, a subscription per service with a rule per type, Data Sender on that topic only', () => {
  const json = synth('azure');
  const [topicId] = named(json, 'azurerm_servicebus_topic', 'events');
  const id = `\${azurerm_servicebus_topic.${topicId}.id}`;
  for (const consumer of EVENT_CONSUMER_NAMES) {
    const [subId, sub] = named(json, 'azurerm_servicebus_subscription', `subscription-${consumer}`);
    expect(sub.topic_id).toBe(id);
    const rules = resourcesOf(json, 'azurerm_servicebus_subscription_rule').filter(
      ([, r]) => r.subscription_id === `\${azurerm_servicebus_subscription.${subId}.id}`,
    );
    expect(rules.map(([, r]) => (r.correlation_filter as Block).label).sort()).toEqual(wire(consumer).sort());
  }
  const senders = resourcesOf(json, 'azurerm_role_assignment').filter(
    ([, b]) => b.role_definition_name === 'Azure Service Bus Data Sender',
  );
  expect(senders.map(([, b]) => b.scope)).toEqual([id]);
  const env: { name: string; value?: string }[] = [];
  walkObjects(json.resource, (_path, o) => {
    if (typeof o.name === 'string' && o.name.startsWith('DATA_SYNC_EVENTS')) env.push(o as never);
  });
  expect(env).toEqual(expect.arrayContaining([{ name: 'DATA_SYNC_EVENTS', value: 'servicebus' }]));
});

test('Cloudflare: a Queue per service, bound to the Worker as EVENTS_<SERVICE>', () => {
  const json = synth('cloudflare');
  for (const consumer of EVENT_CONSUMER_NAMES) {
    const [queueId, queue] = named(json, 'cloudflare_queue', `queue-${consumer}`);
    expect(queue.queue_name).toBe(`data-sync-prod-events-${consumer.replace(/_/g, '-')}`);
    expect(stringsWith(json.resource, `\${cloudflare_queue.${queueId}.queue_name}`).length).toBeGreaterThan(0);
  }
  expect(stringsWith(json.resource, 'EVENTS_AI_ADVISOR').length).toBeGreaterThan(0);
});

test('OCI: a Notifications topic, PublishMessage only for the runtime group on the tagged topic, the runtime told', () => {
  const json = synth('oci');
  const [topicId, topic] = named(json, 'oci_ons_notification_topic', 'events');
  expect(topic.name).toBe('data-sync-prod-events');
  expect(topic.defined_tags).toEqual({ 'data_sync_prod.role': 'events' });
  const [groupId] = resourcesOf(json, 'oci_identity_dynamic_group').find(
    ([, g]) => g.name === 'data-sync-prod-runtime',
  )!;
  const group = `\${oci_identity_dynamic_group.${groupId}.name}`;
  const [, policy] = named(json, 'oci_identity_policy', 'runtime-publishes');
  expect(policy.statements).toEqual([
    `Allow dynamic-group ${group} to use ons-topics in compartment id \${var.compartment_ocid} where all {request.permission = 'ONS_TOPIC_PUBLISH', target.resource.tag.data_sync_prod.role = 'events'}`,
  ]);
  // The only Notifications grant anyone holds on topics (the alerts topic is published by the Monitoring service).
  expect(
    resourcesOf(json, 'oci_identity_policy').flatMap(([, p]) =>
      (p.statements as string[]).filter((s) => /ons-(topics|family)/.test(s)),
    ),
  ).toEqual(policy.statements);
  const runtimes = resourcesOf(json, 'oci_container_instances_container_instance').flatMap(([, instance]) =>
    (instance.containers as Block[]).filter((c) =>
      (c.arguments as string[] | undefined)?.includes('dist/runtime/oci.js'),
    ),
  );
  expect(runtimes.length).toBeGreaterThan(0);
  for (const container of runtimes)
    expect(container.environment_variables).toMatchObject({
      DATA_SYNC_EVENTS: 'oci',
      DATA_SYNC_EVENTS_TARGET: `\${oci_ons_notification_topic.${topicId}.id}`,
      DATA_SYNC_OCI_NOTIFICATIONS_ENDPOINT: `\${oci_ons_notification_topic.${topicId}.api_endpoint}`,
    });
});

test('IBM: Event Notifications with the runtime as API source, a topic per service with a rule per type, a publisher-only service ID', () => {
  const json = synth('ibm');
  const [instanceId, instance] = named(json, 'ibm_resource_instance', 'events');
  expect(instance).toMatchObject({ service: 'event-notifications', name: 'data-sync-prod-events' });
  const guid = `\${ibm_resource_instance.${instanceId}.guid}`;
  const [sourceId, source] = named(json, 'ibm_en_source', 'runtime-source');
  expect(source).toMatchObject({ instance_guid: guid, enabled: true });
  const sourceRef = `\${ibm_en_source.${sourceId}.source_id}`;
  for (const consumer of EVENT_CONSUMER_NAMES) {
    const [, topic] = named(json, 'ibm_en_topic', `topic-${consumer}`);
    expect(topic.instance_guid).toBe(guid);
    const sources = topic.sources as { id: string; rules: { enabled: boolean; event_type_filter: string }[] }[];
    expect(sources.map((s) => s.id)).toEqual([sourceRef]);
    expect(sources[0].rules).toEqual(
      wire(consumer).map((t) => ({ enabled: true, event_type_filter: `$.type == '${t}'` })),
    );
  }
  const [publisherId] = named(json, 'ibm_iam_service_id', 'publisher');
  const onEvents = resourcesOf(json, 'ibm_iam_service_policy').filter(([, p]) =>
    (p.resource_attributes as { value: string }[]).some((a) => a.value === 'event-notifications'),
  );
  expect(onEvents.map(([, p]) => [p.iam_service_id, p.roles, p.resource_attributes])).toEqual([
    [
      `\${ibm_iam_service_id.${publisherId}.id}`,
      ['Event Notification Publisher'],
      [
        { name: 'serviceName', value: 'event-notifications' },
        { name: 'serviceInstance', value: guid },
      ],
    ],
  ]);
  // The publisher holds that one policy and nothing else.
  expect(
    resourcesOf(json, 'ibm_iam_service_policy').filter(
      ([, p]) => p.iam_service_id === `\${ibm_iam_service_id.${publisherId}.id}`,
    ),
  ).toHaveLength(1);
  const [, config] = resourcesOf(json, 'ibm_code_engine_config_map').find(([, m]) => m.name === 'runtime-config')!;
  expect(config.data).toMatchObject({
    DATA_SYNC_EVENTS: 'ibm',
    DATA_SYNC_EVENTS_TARGET: guid,
    DATA_SYNC_IBM_EN_SOURCE_ID: sourceRef,
    DATA_SYNC_IBM_EN_URL: 'https://us-south.event-notifications.cloud.ibm.com/event-notifications',
  });
  expect((json.output?.runtime_secret_keys as { value: string[] }).value).toContain('DATA_SYNC_IBM_EN_API_KEY');
});
