import { PubsubSubscription } from '@cdktf/provider-google/lib/pubsub-subscription';
import { PubsubSubscriptionIamMember } from '@cdktf/provider-google/lib/pubsub-subscription-iam-member';
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
  /** The Pub/Sub service agent (`serviceAccount:service-<n>@gcp-sa-pubsub…`), which forwards dead letters. */
  readonly serviceAgent: string;
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
  /** Where an event a service fails to acknowledge 10 times goes, kept 7 days for inspection. */
  readonly deadLetterTopic: PubsubTopic;
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
    this.deadLetterTopic = new PubsubTopic(this, 'dead-letters', {
      name: `${props.prefix}-events-dead-letters`,
      kmsKeyName: props.kmsKeyId,
      messageStoragePolicy: { allowedPersistenceRegions: [props.region] },
      dependsOn: props.keyGrants,
    });
    new PubsubSubscription(this, 'dead-letter-inbox', {
      name: `${props.prefix}-events-dead-letters`,
      topic: this.deadLetterTopic.id,
      ackDeadlineSeconds: 60,
      messageRetentionDuration: '604800s',
      expirationPolicy: { ttl: '' },
    });
    new PubsubTopicIamMember(this, 'dead-letter-publisher', {
      topic: this.deadLetterTopic.id,
      role: 'roles/pubsub.publisher',
      member: props.serviceAgent,
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
          deadLetterPolicy: { deadLetterTopic: this.deadLetterTopic.id, maxDeliveryAttempts: 10 },
        }),
      ]),
    ) as Record<EventConsumer, PubsubSubscription>;
    // Dead-lettering needs the service agent to acknowledge on the source subscription.
    for (const consumer of EVENT_CONSUMER_NAMES)
      new PubsubSubscriptionIamMember(this, `dead-letter-subscriber-${consumer}`, {
        subscription: this.subscriptions[consumer].name,
        role: 'roles/pubsub.subscriber',
        member: props.serviceAgent,
      });
    this.publisherGrant = new PubsubTopicIamMember(this, 'runtime-publishes', {
      topic: this.topic.id,
      role: 'roles/pubsub.publisher',
      member: props.publisher,
    });
    this.environment = { [EVENT_ENV.bus]: 'pubsub', [EVENT_ENV.target]: this.topic.name };
  }
}
