import { createBullmqBinding } from '../bullmq-binding';
import type { QueueOpener } from '../open-queue';

/** BullMQ on REDIS_URL (DATA_SYNC_QUEUE=redis). */
export const redisQueue: QueueOpener = (config) =>
  createBullmqBinding({ url: config.redisUrl!, allowVolatile: config.redisAllowVolatile });
