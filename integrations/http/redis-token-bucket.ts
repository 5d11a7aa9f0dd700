/**
 * The token bucket shared by every runtime instance through Redis: one hash per integration
 * account, refilled and taken atomically in a Lua script on Redis's clock, so N instances together
 * stay within the vendor's quota and a vendor-reported reset pauses all of them. Wire it through
 * ConnectorContext: `acquire: () => bucket.acquire()` and `observe: (c) => bucket.observe(c.rateLimit)`.
 */
import type Redis from 'ioredis';
import type { RateLimitObservation } from '../connector';
import { realSleep } from './token-bucket';

const TAKE = `
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'paused')
local tokens = tonumber(h[1]) or cap
local updated = tonumber(h[2]) or now
local paused = tonumber(h[3]) or 0
tokens = math.min(cap, tokens + math.max(0, now - updated) * rate / 1000)
local wait = 0
if now < paused then
  wait = paused - now
elseif tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', now, 'paused', paused)
redis.call('PEXPIRE', KEYS[1], 86400000)
return wait
`;

const OBSERVE = `
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local remaining = tonumber(ARGV[3])
local reset = tonumber(ARGV[4])
local retry = tonumber(ARGV[5])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'paused')
local tokens = tonumber(h[1]) or cap
local updated = tonumber(h[2]) or now
local paused = tonumber(h[3]) or 0
tokens = math.min(cap, tokens + math.max(0, now - updated) * rate / 1000)
if retry and retry > 0 then paused = math.max(paused, now + retry) end
if remaining then
  if remaining <= 0 and reset and reset > 0 then paused = math.max(paused, now + reset) end
  tokens = math.min(tokens, math.max(0, remaining))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', now, 'paused', paused)
redis.call('PEXPIRE', KEYS[1], 86400000)
return 1
`;

export interface RedisTokenBucketOptions {
  readonly capacity: number;
  readonly refillPerSecond: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export class RedisTokenBucket {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly redis: Redis,
    /** Redis key of this bucket, e.g. `ratelimit:hubspot:portal-123`. */
    readonly key: string,
    private readonly options: RedisTokenBucketOptions,
  ) {
    if (!(options.capacity > 0)) throw new Error(`RedisTokenBucket capacity must be > 0, got ${options.capacity}`);
    if (!(options.refillPerSecond > 0)) throw new Error(`RedisTokenBucket refillPerSecond must be > 0, got ${options.refillPerSecond}`);
    this.sleep = options.sleep ?? realSleep;
  }

  /** Takes a token when one is available and returns 0; otherwise returns how long to wait (ms). */
  async tryAcquire(): Promise<number> {
    return Number(await this.redis.eval(TAKE, 1, this.key, this.options.capacity, this.options.refillPerSecond));
  }

  async acquire(): Promise<void> {
    for (;;) {
      const wait = await this.tryAcquire();
      if (wait <= 0) return;
      await this.sleep(wait);
    }
  }

  async observe(observation: RateLimitObservation): Promise<void> {
    const arg = (value: number | undefined) => (value === undefined ? '' : String(value));
    await this.redis.eval(OBSERVE, 1, this.key, this.options.capacity, this.options.refillPerSecond, arg(observation.remaining), arg(observation.resetMs), arg(observation.retryAfterMs));
  }
}
