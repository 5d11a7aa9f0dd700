import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { ServicebusSubscription } from '@cdktf/provider-azurerm/lib/servicebus-subscription';
import { ServicebusSubscriptionRule } from '@cdktf/provider-azurerm/lib/servicebus-subscription-rule';
import { ServicebusTopic } from '@cdktf/provider-azurerm/lib/servicebus-topic';
import { Construct } from 'constructs';
import {
  EVENT_CONSUMERS,
  EVENT_CONSUMER_NAMES,
  EVENT_ENV,
  EVENT_TYPE_PREFIX,
  type EventConsumer,
} from '@data-sync/config/events';

export interface AzureEventBusProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** The Service Bus namespace (id) the job queue lives in. */
  readonly namespaceId: string;
  /** The runtime identity's principal id: the only sender. */
  readonly publisherPrincipalId: string;
}

/**
 * The event bus on Azure: a Service Bus topic, a subscription per internal service with one
 * correlation rule per event type on the message subject (the runtime sets it to the type), and the
 * runtime's "Azure Service Bus Data Sender" role on that topic only. Duplicate detection drops a
 * redelivered event (message id = event id) within its window.
 */
export class AzureEventBus extends Construct {
  readonly topic: ServicebusTopic;
  readonly subscriptions: Record<EventConsumer, ServicebusSubscription>;
  readonly sender: RoleAssignment;
  /** What the runtime needs to publish here (besides the namespace host it has for the queue). */
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: AzureEventBusProps) {
    super(scope, id);
    this.topic = new ServicebusTopic(this, 'events', {
      name: `${props.prefix}-events`,
      namespaceId: props.namespaceId,
      requiresDuplicateDetection: true,
      duplicateDetectionHistoryTimeWindow: 'PT1H',
      defaultMessageTtl: 'P14D',
    });
    this.subscriptions = {} as Record<EventConsumer, ServicebusSubscription>;
    for (const consumer of EVENT_CONSUMER_NAMES) {
      const subscription = new ServicebusSubscription(this, `subscription-${consumer}`, {
        name: consumer.replace(/_/g, '-'),
        topicId: this.topic.id,
        maxDeliveryCount: 10,
        deadLetteringOnMessageExpiration: true,
      });
      for (const type of EVENT_CONSUMERS[consumer].types)
        new ServicebusSubscriptionRule(this, `rule-${consumer}-${type.replace(/\./g, '-')}`, {
          name: type.replace(/\./g, '-'),
          subscriptionId: subscription.id,
          filterType: 'CorrelationFilter',
          correlationFilter: { label: EVENT_TYPE_PREFIX + type },
        });
      this.subscriptions[consumer] = subscription;
    }
    this.sender = new RoleAssignment(this, 'runtime-sends', {
      scope: this.topic.id,
      roleDefinitionName: 'Azure Service Bus Data Sender',
      principalId: props.publisherPrincipalId,
    });
    this.environment = { [EVENT_ENV.bus]: 'servicebus', [EVENT_ENV.target]: this.topic.name };
  }
}
