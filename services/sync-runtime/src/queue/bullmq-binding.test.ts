import { randomUUID } from 'crypto';
import IORedis from 'ioredis';
import { TEST_REDIS_URL, describeWithService } from '@data-sync/test-services';
import { QueueBinding } from './binding';
import { createBullmqBinding } from './bullmq-binding';
import { CONTRACT_RANDOM, CONTRACT_RETRY, queueBindingContract } from './contract';

describeWithService('BullMQ binding on Redis', TEST_REDIS_URL, () => {
  // One key prefix for this file, removed at the end, so parallel test files never share keys.
  const prefix = `test-bullmq-${process.pid}-${randomUUID().slice(0, 8)}`;
  const queues = new Map<QueueBinding, string>();
  let next = 0;
  afterAll(async () => {
    const redis = new IORedis(TEST_REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  });
  queueBindingContract(
    'BullMQ',
    async (shareWith) => {
      const queue = shareWith ? queues.get(shareWith)! : `q${++next}`;
      const binding = createBullmqBinding({
        url: TEST_REDIS_URL,
        queue,
        prefix,
        retry: CONTRACT_RETRY,
        random: CONTRACT_RANDOM,
        stalledIntervalMs: 50,
      });
      queues.set(binding, queue);
      return binding;
    },
    (binding) => binding.close(),
  );
});
