import type { PubsubOptions } from '../cloud-bindings';
import type { QueueOpener } from '../open-queue';
import { createPubsubBinding } from '../pubsub-binding';

/** Google Pub/Sub pull subscriptions (DATA_SYNC_QUEUE=pubsub). */
export const pubsubQueue: QueueOpener = (config) => createPubsubBinding(config.cloudQueue as PubsubOptions);
