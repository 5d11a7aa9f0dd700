import { createPubsubBus } from '../pubsub';
import type { EventBusOpener } from './index';

/** GCP's Pub/Sub topic (DATA_SYNC_EVENTS=pubsub). */
export const pubsubEventBus: EventBusOpener = (options) => {
  if (options.kind !== 'pubsub') throw new Error(`the Pub/Sub bus was asked to open a ${options.kind} bus`);
  return createPubsubBus({ topic: options.topic, projectId: options.projectId });
};
