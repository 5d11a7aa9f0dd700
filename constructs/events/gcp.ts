import { PubsubSubscription } from '@cdktf/provider-google/lib/pubsub-subscription';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import {
  EVENT_CONSUMERS,
  EVENT_CONSUMER_NAMES,
  EVENT_ENV,
  EVENT_TYPE_PREFIX,
  type EventConsumer,
} from '@data-sync/config/events';

export interface GcpEventBusProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** KMS key (id) that encrypts the topic. */
  readonly kmsKeyId: string;
  /** Region events are stored in (the key's). */
  readonly region: string;
  /** The runtime's IAM member (`serviceAccount:…`): the only publisher. */
  readonly publisher: string;
  /** The Pub/Sub service agent's grant on the key (a CMEK topic cannot precede it); @default none */
  readonly keyGrants?: ITerraformDependable[];
}

/** The subscription filter of a service: its event types, on the `event_type` attribute the runtime sets. */
export const pubsubEventFilter = (consumer: EventConsumer) =>
  EVENT_CONSUMERS[consumer].types.map((t) => `attributes.event_type = "${EVENT_TYPE_PREFIX}${t}"`).join(' OR ');

/**
 * The event bus on GCP: one Pub/Sub topic, a pull subscription per internal service filtered to its
 * event types, and the runtime's permission to publish to that topic only.
 */
export class GcpEventBus extends Construct {
  readonly topic: PubsubTopic;
  readonly subscriptions: Record<EventConsumer, PubsubSubscription>;
  readonly publisherGrant: PubsubTopicIamMember;
  /** What the runtime needs to publish here. */
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: GcpEventBusProps) {
    super(scope, id);
    this.topic = new PubsubTopic(this, 'events', {
      name: `${props.prefix}-events`,
      kmsKeyName: props.kmsKeyId,
      messageStoragePolicy: { allowedPersistenceRegions: [props.region] },
      messageRetentionDuration: '604800s',
      dependsOn: props.keyGrants,
    });
    this.subscriptions = Object.fromEntries(
      EVENT_CONSUMER_NAMES.map((consumer) => [
        consumer,
        new PubsubSubscription(this, `subscription-${consumer}`, {
          name: `${props.prefix}-events-${consumer.replace(/_/g, '-')}`,
          topic: this.topic.id,
          filter: pubsubEventFilter(consumer),
          ackDeadlineSeconds: 60,
          messageRetentionDuration: '604800s',
          expirationPolicy: { ttl: '' },
        }),
      ]),
    ) as Record<EventConsumer, PubsubSubscription>;
    this.publisherGrant = new PubsubTopicIamMember(this, 'runtime-publishes', {
      topic: this.topic.id,
      role: 'roles/pubsub.publisher',
      member: props.publisher,
    });
    this.environment = { [EVENT_ENV.bus]: 'pubsub', [EVENT_ENV.target]: this.topic.name };
  }
}
