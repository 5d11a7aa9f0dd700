import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { EVENT_ENV } from '@data-sync/config/events';
import { OciIdentityPolicy, OciOnsNotificationTopic } from '../providers/oci';

export interface OciEventBusProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** Compartment (OCID) of the topic and its policy. */
  readonly compartmentId: string;
  /** Name of the runtime's dynamic group: the only publisher. */
  readonly publisherDynamicGroup: string;
  /** The defined tag key (`<namespace>.<key>`) whose value `events` marks the topic for the policy. */
  readonly tagKey: string;
  /** The tag's resources, which must exist before the topic can carry it. */
  readonly tagDependencies: readonly ITerraformDependable[];
}

/** The defined tag value that marks the event topic. */
export const OCI_EVENT_TOPIC_TAG = 'events';

/**
 * The event bus on OCI: one Notifications topic per environment. Each internal service subscribes its
 * own HTTPS endpoint (a subscription needs its URL and its confirmation), and keeps the types it wants:
 * ONS subscriptions have no filters. Notifications policies support only the general variables (no
 * topic id), so the grant is PublishMessage alone (not subscribe) on topics carrying this topic's tag:
 * the alerts topic in the same compartment stays out of reach.
 */
export class OciEventBus extends Construct {
  readonly topic: InstanceType<typeof OciOnsNotificationTopic>;
  readonly policy: InstanceType<typeof OciIdentityPolicy>;
  /** What the runtime needs to publish here. */
  readonly environment: Record<string, string>;

  constructor(scope: Construct, id: string, props: OciEventBusProps) {
    super(scope, id);
    this.topic = new OciOnsNotificationTopic(
      this,
      'events',
      {
        compartment_id: props.compartmentId,
        name: `${props.prefix}-events`,
        description: 'Data sync CloudEvents for the internal services',
        defined_tags: { [props.tagKey]: OCI_EVENT_TOPIC_TAG },
      },
      { dependsOn: [...props.tagDependencies] },
    );
    this.policy = new OciIdentityPolicy(this, 'runtime-publishes', {
      compartment_id: props.compartmentId,
      name: `${props.prefix}-events`,
      description: 'The runtime publishes to the event topic and nothing else of Notifications',
      statements: [
        `Allow dynamic-group ${props.publisherDynamicGroup} to use ons-topics in compartment id ${props.compartmentId} where all {request.permission = 'ONS_TOPIC_PUBLISH', target.resource.tag.${props.tagKey} = '${OCI_EVENT_TOPIC_TAG}'}`,
      ],
    });
    this.environment = {
      [EVENT_ENV.bus]: 'oci',
      [EVENT_ENV.target]: this.topic.id,
      DATA_SYNC_OCI_NOTIFICATIONS_ENDPOINT: this.topic.attr('api_endpoint'),
    };
  }
}
