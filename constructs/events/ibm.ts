import { Construct } from 'constructs';
import {
  EVENT_CONSUMERS,
  EVENT_CONSUMER_NAMES,
  EVENT_ENV,
  EVENT_TYPE_PREFIX,
  type EventConsumer,
} from '@data-sync/config/events';
import { IbmEnSource, IbmEnTopic, IbmIamServiceId, IbmIamServicePolicy, IbmResourceInstance } from '../providers/ibm';

export interface IbmEventBusProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** Region of the instance, e.g. `us-south`. */
  readonly region: string;
  readonly resourceGroupId: string;
  /** Event Notifications plan. @default `standard` */
  readonly plan?: 'lite' | 'standard';
}

/** The IAM role that lets a service ID send notifications from API sources, and nothing else. */
export const IBM_EVENT_PUBLISHER_ROLE = 'Event Notification Publisher';

/** The rule that routes one event type to a topic: a JSONPath test on the CloudEvents `type`. */
export const ibmEventTypeFilter = (type: string) => `$.type == '${EVENT_TYPE_PREFIX}${type}'`;

/**
 * The event bus on IBM Cloud: an Event Notifications instance, this runtime as its API source, a topic
 * per internal service whose rules take that service's event types (each service subscribes its own
 * destination, e.g. a webhook, to its topic), and a dedicated service ID whose only policy is
 * Event Notification Publisher on this instance. Its API key is created out of band
 * (`ibmcloud iam service-api-key-create`) and put in the Secrets Manager secret the runtime's
 * credentials come from, so no key is in the Terraform state.
 */
export class IbmEventBus extends Construct {
  readonly instance: InstanceType<typeof IbmResourceInstance>;
  readonly source: InstanceType<typeof IbmEnSource>;
  readonly topics: Record<EventConsumer, InstanceType<typeof IbmEnTopic>>;
  readonly publisher: InstanceType<typeof IbmIamServiceId>;
  /** What the runtime needs to publish here, besides the API key (DATA_SYNC_IBM_EN_API_KEY, a secret). */
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: IbmEventBusProps) {
    super(scope, id);
    this.instance = new IbmResourceInstance(this, 'events', {
      name: `${props.prefix}-events`,
      service: 'event-notifications',
      plan: props.plan ?? 'standard',
      location: props.region,
      resource_group_id: props.resourceGroupId,
    });
    const instanceGuid = this.instance.attr('guid');
    this.source = new IbmEnSource(this, 'runtime-source', {
      instance_guid: instanceGuid,
      name: `${props.prefix}-runtime`,
      description: 'The data sync runtime (outbox publisher)',
      enabled: true,
    });
    this.topics = Object.fromEntries(
      EVENT_CONSUMER_NAMES.map((consumer) => [
        consumer,
        new IbmEnTopic(this, `topic-${consumer}`, {
          instance_guid: instanceGuid,
          name: `${props.prefix}-events-${consumer.replace(/_/g, '-')}`,
          description: `Events for the ${EVENT_CONSUMERS[consumer].title}`,
          sources: [
            {
              id: this.source.attr('source_id'),
              rules: EVENT_CONSUMERS[consumer].types.map((type) => ({
                enabled: true,
                event_type_filter: ibmEventTypeFilter(type),
              })),
            },
          ],
        }),
      ]),
    ) as Record<EventConsumer, InstanceType<typeof IbmEnTopic>>;
    this.publisher = new IbmIamServiceId(this, 'publisher', {
      name: `${props.prefix}-events`,
      description:
        'Sends the data sync runtime events to Event Notifications; its key is the runtime secret DATA_SYNC_IBM_EN_API_KEY',
    });
    new IbmIamServicePolicy(this, 'publisher-policy', {
      iam_service_id: this.publisher.id,
      roles: [IBM_EVENT_PUBLISHER_ROLE],
      resource_attributes: [
        { name: 'serviceName', value: 'event-notifications' },
        { name: 'serviceInstance', value: instanceGuid },
      ],
      description: 'Send notifications to the event instance only',
    });
    this.environment = {
      [EVENT_ENV.bus]: 'ibm',
      [EVENT_ENV.target]: instanceGuid,
      DATA_SYNC_IBM_EN_SOURCE_ID: this.source.attr('source_id'),
      DATA_SYNC_IBM_EN_URL: `https://${props.region}.event-notifications.cloud.ibm.com/event-notifications`,
    };
  }
}
