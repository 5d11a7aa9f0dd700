import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member';
import { PubsubSubscription } from '@cdktf/provider-google/lib/pubsub-subscription';
import { PubsubSubscriptionIamMember } from '@cdktf/provider-google/lib/pubsub-subscription-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { Construct } from 'constructs';
import type { GcpQueue } from '../queue/gcp';

export interface GcpPushWorkerProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** Short prefix for service account ids (6-30 characters in all), e.g. `ds-prod`. */
  readonly accountPrefix: string;
  /** The queue whose topic is delivered and whose dead-letter topic receives exhausted jobs. */
  readonly queue: GcpQueue;
  /** Cloud Run service (name and location) that receives the pushes. */
  readonly service: { readonly name: string; readonly location: string; readonly uri: string };
  /** Path of the push handler on the runtime. @default `/pubsub/push` */
  readonly path?: string;
  /** Audience of the push OIDC token; the runtime checks it. @default the push endpoint URL */
  readonly audience?: string;
  /** Deliveries before a job goes to the dead-letter topic (Pub/Sub allows 5-100). */
  readonly maxDeliveryAttempts: number;
  /** How long the runtime may work on one push before Pub/Sub redelivers, in seconds (10-600). */
  readonly ackDeadlineSeconds: number;
}

/**
 * The queue worker: a push subscription that delivers each job to the runtime's `/pubsub/push` with
 * an OIDC token of a dedicated invoker service account, retries with backoff and dead-letters after
 * `maxDeliveryAttempts`.
 */
export class GcpPushWorker extends Construct {
  readonly subscription: PubsubSubscription;
  readonly invoker: ServiceAccount;

  constructor(scope: Construct, id: string, props: GcpPushWorkerProps) {
    super(scope, id);
    if (props.maxDeliveryAttempts < 5 || props.maxDeliveryAttempts > 100) {
      throw new Error(`${props.prefix}: Pub/Sub max delivery attempts must be 5-100, got ${props.maxDeliveryAttempts}`);
    }
    this.invoker = new ServiceAccount(this, 'invoker', {
      accountId: `${props.accountPrefix}-push`,
      displayName: `${props.prefix} Pub/Sub push invoker`,
    });
    const invokerGrant = new CloudRunV2ServiceIamMember(this, 'invoker-run', {
      name: props.service.name,
      location: props.service.location,
      role: 'roles/run.invoker',
      member: `serviceAccount:${this.invoker.email}`,
    });
    const endpoint = `${props.service.uri}${props.path ?? '/pubsub/push'}`;
    this.subscription = new PubsubSubscription(this, 'push', {
      name: `${props.prefix}-jobs-push`,
      topic: props.queue.topic.id,
      ackDeadlineSeconds: props.ackDeadlineSeconds,
      messageRetentionDuration: '86400s',
      expirationPolicy: { ttl: '' },
      pushConfig: {
        pushEndpoint: endpoint,
        oidcToken: { serviceAccountEmail: this.invoker.email, audience: props.audience ?? endpoint },
      },
      retryPolicy: { minimumBackoff: '10s', maximumBackoff: '600s' },
      deadLetterPolicy: {
        deadLetterTopic: props.queue.deadLetterTopic.id,
        maxDeliveryAttempts: props.maxDeliveryAttempts,
      },
      dependsOn: [invokerGrant, props.queue.deadLetterPublisher],
    });
    // The Pub/Sub service agent acknowledges the forwarded message on this subscription.
    new PubsubSubscriptionIamMember(this, 'dead-letter-subscriber', {
      subscription: this.subscription.id,
      role: 'roles/pubsub.subscriber',
      member: props.queue.serviceAgent,
    });
  }
}
