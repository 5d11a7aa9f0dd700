import type { QueueOpener } from '../open-queue';

/** BullMQ on REDIS_URL (DATA_SYNC_QUEUE=redis), loaded only when chosen: main.js also starts on the store queue. */
export const redisQueue: QueueOpener = async (config) => {
  const { createBullmqBinding } = await import('../bullmq-binding');
  return createBullmqBinding({ url: config.redisUrl!, allowVolatile: config.redisAllowVolatile });
};
