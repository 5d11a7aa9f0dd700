import type { Redis } from 'ioredis';
import { openRedisClient } from '../runtime/redis-client';

/**
 * The Redis client of the shared inbound rate limit. Its hook runs on every request, /health included,
 * so no command may wait on a paused or half-open Redis: one that times out is skipped (skipOnError).
 */
export function openRateLimitRedis(url: string, commandTimeoutMs = 500): Promise<Redis> {
  return openRedisClient(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: commandTimeoutMs });
}
