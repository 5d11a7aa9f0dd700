import { randomUUID } from 'crypto';
import IORedis from 'ioredis';
import { startPausableProxy } from '@data-sync/test-services/pausable-proxy';
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
        allowVolatile: true,
      });
      queues.set(binding, queue);
      return binding;
    },
    (binding) => binding.close(),
  );

  test('refuses a Redis that keeps nothing on disk, naming the setting that accepts it, and accepts it with that setting', async () => {
    // This machine's Redis runs without appendonly and without RDB snapshots, as the fault review's did.
    const redis = new IORedis(TEST_REDIS_URL);
    const [, appendonly] = (await redis.config('GET', 'appendonly')) as string[];
    const [, save] = (await redis.config('GET', 'save')) as string[];
    await redis.quit();
    expect({ appendonly, save }).toEqual({ appendonly: 'no', save: '' });
    const strict = createBullmqBinding({ url: TEST_REDIS_URL, queue: 'volatile', prefix });
    await expect(strict.ready!()).rejects.toThrow(/keeps nothing on disk.*DATA_SYNC_REDIS_ALLOW_VOLATILE=true/s);
    await expect(strict.enqueue({ kind: 'probe', payload: { probeId: 'p' } })).rejects.toThrow(/refuses this Redis/);
    await strict.close();
    const accepting = createBullmqBinding({ url: TEST_REDIS_URL, queue: 'volatile', prefix, allowVolatile: true });
    await expect(accepting.ready!()).resolves.toBeUndefined();
    await accepting.close();
  });

  test('a Redis that stops answering fails a command within its timeout instead of holding the caller', async () => {
    const proxy = await startPausableProxy(TEST_REDIS_URL);
    const binding = createBullmqBinding({
      url: proxy.url,
      queue: 'paused',
      prefix,
      allowVolatile: true,
      commandTimeoutMs: 300,
    });
    expect((await binding.depth()).ready).toBe(0);
    proxy.silent = true;
    // Without a command timeout this waits for as long as Redis is silent: here, past the test's own timeout.
    await expect(binding.depth()).rejects.toThrow(/timed out/i);
    proxy.silent = false;
    await binding.close().catch(() => undefined);
    await proxy.close();
  });
});
