/**
 * The token bucket shared by every runtime instance through Redis: one hash per integration
 * account, refilled and taken atomically in a Lua script on Redis's clock, so N instances together
 * stay within the vendor's quota and a vendor-reported reset pauses all of them. Wire it through
 * ConnectorContext: `acquire: () => bucket.acquire()` and `observe: (c) => bucket.observe(c.rateLimit)`.
 */
import { randomUUID } from 'crypto';
import type Redis from 'ioredis';
import type { RateLimitObservation } from '../connector';
import type { EndpointBudget, RateWindow } from './rate-windows';
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
    if (!(options.refillPerSecond > 0))
      throw new Error(`RedisTokenBucket refillPerSecond must be > 0, got ${options.refillPerSecond}`);
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
    await this.redis.eval(
      OBSERVE,
      1,
      this.key,
      this.options.capacity,
      this.options.refillPerSecond,
      arg(observation.remaining),
      arg(observation.resetMs),
      arg(observation.retryAfterMs),
    );
  }
}

/**
 * Multi-window sliding-log budget (see rate-windows.ts) in one sorted set per endpoint key: a call
 * is let through when every window, the documented ones and the stricter ones the vendor declared
 * (kept in `<key>:windows`), has room on Redis's clock; a pause (Retry-After, an exhausted window's
 * reset) in `<key>:paused` holds back every process. ARGV: member, then limit/windowMs pairs.
 */
const WINDOW_TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[1] .. ':paused') or '0')
if now < paused then return paused - now end
local limits = {}
for i = 2, #ARGV, 2 do limits[tonumber(ARGV[i + 1])] = tonumber(ARGV[i]) end
local declared = redis.call('HGETALL', KEYS[1] .. ':windows')
for i = 1, #declared, 2 do
  local w = tonumber(declared[i])
  local l = tonumber(declared[i + 1])
  if limits[w] == nil or l < limits[w] then limits[w] = l end
end
local wait = 0
local longest = 0
for w, l in pairs(limits) do
  if w > longest then longest = w end
  local inWindow = redis.call('ZCOUNT', KEYS[1], '(' .. (now - w), '+inf')
  if inWindow >= l then
    local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now - w), '+inf', 'WITHSCORES', 'LIMIT', inWindow - l, 1)
    local free = tonumber(oldest[2]) + w - now
    if free > wait then wait = free end
  end
end
if wait > 0 then return math.max(1, math.ceil(wait)) end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
redis.call('PEXPIRE', KEYS[1], longest + 1000)
return 0
`;

/** ARGV: answered member (or ''), pause ms (or ''), then declared limit/windowMs pairs. */
const WINDOW_OBSERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[1] ~= '' then redis.call('ZADD', KEYS[1], 'XX', now, ARGV[1]) end
local pause = tonumber(ARGV[2])
if pause and pause > 0 then
  local paused = tonumber(redis.call('GET', KEYS[1] .. ':paused') or '0')
  if now + pause > paused then redis.call('SET', KEYS[1] .. ':paused', now + pause, 'PX', pause) end
end
for i = 3, #ARGV, 2 do
  local w = ARGV[i + 1]
  local l = tonumber(ARGV[i])
  local current = tonumber(redis.call('HGET', KEYS[1] .. ':windows', w) or '')
  if current == nil or l < current then redis.call('HSET', KEYS[1] .. ':windows', w, l) end
  redis.call('PEXPIRE', KEYS[1] .. ':windows', 86400000)
end
return 1
`;

/**
 * The EndpointBudget every runtime instance shares through Redis; pass it as ConnectorContext.budget:
 * `budget: (key, windows) => new RedisWindowBudget(redis, \`ratelimit:\${key}\`, windows)`.
 */
export class RedisWindowBudget implements EndpointBudget {
  private readonly sleep: (ms: number) => Promise<void>;
  /** Calls let through whose answer has not been observed yet, oldest first. */
  private readonly pending: string[] = [];
  private counter = 0;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    private readonly windows: readonly RateWindow[],
    options: { readonly sleep?: (ms: number) => Promise<void> } = {},
  ) {
    if (windows.length === 0) throw new Error('RedisWindowBudget needs at least one window');
    this.sleep = options.sleep ?? realSleep;
  }

  /** Takes a slot when every window has room and returns 0; otherwise how long to wait (ms). */
  async tryAcquire(): Promise<number> {
    const member = `${process.pid}:${randomUUID()}:${this.counter++}`;
    const wait = Number(
      await this.redis.eval(WINDOW_TAKE, 1, this.key, member, ...this.windows.flatMap((w) => [w.limit, w.windowMs])),
    );
    if (wait <= 0) this.pending.push(member);
    return wait;
  }

  async acquire(): Promise<void> {
    for (;;) {
      const wait = await this.tryAcquire();
      if (wait <= 0) return;
      await this.sleep(wait);
    }
  }

  async observe(observation: RateLimitObservation, declared: readonly RateWindow[] = []): Promise<void> {
    const answered = this.pending.shift() ?? '';
    let pause = observation.retryAfterMs ?? 0;
    if (observation.remaining !== undefined && observation.remaining <= 0 && observation.resetMs)
      pause = Math.max(pause, observation.resetMs);
    await this.redis.eval(
      WINDOW_OBSERVE,
      1,
      this.key,
      answered,
      pause > 0 ? String(pause) : '',
      ...declared.flatMap((w) => [w.limit, w.windowMs]),
    );
  }
}
