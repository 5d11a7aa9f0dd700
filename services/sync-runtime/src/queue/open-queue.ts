import type { Db } from '@data-sync/pipelines/db';
import type { RuntimeConfig } from '../config';
import type { QueueBinding } from './binding';
import { createBullmqBinding } from './bullmq-binding';
import { type CloudQueueKind, createCloudBinding } from './cloud-bindings';
import { createStoreBinding } from './store-binding';

/** The queue binding the configuration chooses: the store (default), Redis, or a cloud queue. */
export function openQueue(config: RuntimeConfig, db: Db): QueueBinding {
  switch (config.queue) {
    case 'store':
      return createStoreBinding({ db });
    case 'redis':
      return createBullmqBinding({ url: config.redisUrl! });
    default:
      return createCloudBinding(config.queue as CloudQueueKind, config.cloudQueue!);
  }
}
