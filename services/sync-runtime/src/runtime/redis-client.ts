import type { Redis, RedisOptions } from 'ioredis';

/**
 * A Redis client, with ioredis loaded only when a Redis is configured: the processes that have none (the
 * Lambda, most cloud containers) do not spend start-up time evaluating it.
 */
export async function openRedisClient(url: string, options: RedisOptions): Promise<Redis> {
  const { default: IORedis } = await import('ioredis');
  return new IORedis(url, options);
}
