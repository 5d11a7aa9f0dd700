import { PubsubSubscription } from '@cdktf/provider-google/lib/pubsub-subscription';
import { PubsubTopic } from '@cdktf/provider-google/lib/pubsub-topic';
import { PubsubTopicIamMember } from '@cdktf/provider-google/lib/pubsub-topic-iam-member';
import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

export interface GcpQueueProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** KMS key (id) that encrypts both topics. */
  readonly kmsKeyId: string;
  /** Region messages are stored in: the key's region (a regional key only encrypts messages kept there). */
  readonly region: string;
  /** Project number, for the Pub/Sub service agent that forwards dead letters. */
  readonly projectNumber: string;
  /** The Pub/Sub service agent's grant on the key: a CMEK topic cannot be created before it. */
  readonly keyGrants?: ITerraformDependable[];
  /** How long dead letters are kept for inspection and redrive, in days (default 7, the Pub/Sub maximum). */
  readonly deadLetterRetentionDays?: number;
}

/**
 * The sync topic and its dead-letter topic, both KMS-encrypted. Dead letters land on a pull
 * subscription that keeps them for inspection and redrive (a topic without a subscription would
 * drop them). The push subscription that delivers jobs to the runtime is the worker's.
 */
export class GcpQueue extends Construct {
  readonly topic: PubsubTopic;
  readonly deadLetterTopic: PubsubTopic;
  readonly deadLetterSubscription: PubsubSubscription;
  /** The Pub/Sub service agent must publish to the dead-letter topic, or dead-lettering silently fails. */
  readonly deadLetterPublisher: PubsubTopicIamMember;
  /** `serviceAccount:service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com`. */
  readonly serviceAgent: string;

  constructor(scope: Construct, id: string, props: GcpQueueProps) {
    super(scope, id);
    this.serviceAgent = `serviceAccount:service-${props.projectNumber}@gcp-sa-pubsub.iam.gserviceaccount.com`;
    const storage = { allowedPersistenceRegions: [props.region] };
    const dependsOn = props.keyGrants;
    this.topic = new PubsubTopic(this, 'jobs', {
      name: `${props.prefix}-jobs`,
      kmsKeyName: props.kmsKeyId,
      messageStoragePolicy: storage,
      messageRetentionDuration: '86400s',
      dependsOn,
    });
    this.deadLetterTopic = new PubsubTopic(this, 'dead-letters', {
      name: `${props.prefix}-jobs-dead-letters`,
      kmsKeyName: props.kmsKeyId,
      messageStoragePolicy: storage,
      dependsOn,
    });
    const retention = `${(props.deadLetterRetentionDays ?? 7) * 86400}s`;
    this.deadLetterSubscription = new PubsubSubscription(this, 'dead-letter-inbox', {
      name: `${props.prefix}-jobs-dead-letters`,
      topic: this.deadLetterTopic.id,
      ackDeadlineSeconds: 60,
      messageRetentionDuration: retention,
      retainAckedMessages: false,
      expirationPolicy: { ttl: '' },
    });
    this.deadLetterPublisher = new PubsubTopicIamMember(this, 'dead-letter-publisher', {
      topic: this.deadLetterTopic.id,
      role: 'roles/pubsub.publisher',
      member: this.serviceAgent,
    });
  }
}
