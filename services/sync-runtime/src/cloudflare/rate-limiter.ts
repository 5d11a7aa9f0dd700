/**
 * Per-integration outbound rate limit as a Durable Object: one instance per integration
 * (`idFromName(integration)`), so every consumer Worker invocation shares one token bucket.
 */
import type { DurableObjectState } from './types';

export interface BucketState {
  readonly tokens: number;
  /** ms timestamp of the last refill. */
  readonly updatedAt: number;
}

export interface BucketLimits {
  /** Bucket size: the largest burst. */
  readonly capacity: number;
  /** Tokens added per second. */
  readonly refillPerSecond: number;
}

export interface TakeResult {
  readonly allowed: boolean;
  readonly state: BucketState;
  /** When not allowed: ms until one token is available. */
  readonly retryAfterMs: number;
}

/** Refills `state` up to `now` and takes one token when there is one. Pure, for the object and its tests. */
export function takeToken(state: BucketState | undefined, limits: BucketLimits, now: number): TakeResult {
  if (!(limits.capacity >= 1) || !(limits.refillPerSecond > 0))
    throw new Error(`rate limit needs capacity >= 1 and refillPerSecond > 0, got ${JSON.stringify(limits)}`);
  const previous = state ?? { tokens: limits.capacity, updatedAt: now };
  // A clock that steps back neither adds tokens nor moves the refill mark backwards.
  const updatedAt = Math.max(previous.updatedAt, now);
  const tokens = Math.min(
    limits.capacity,
    previous.tokens + ((updatedAt - previous.updatedAt) / 1000) * limits.refillPerSecond,
  );
  if (tokens >= 1) return { allowed: true, state: { tokens: tokens - 1, updatedAt }, retryAfterMs: 0 };
  return {
    allowed: false,
    state: { tokens, updatedAt },
    retryAfterMs: Math.ceil(((1 - tokens) / limits.refillPerSecond) * 1000),
  };
}

const STATE_KEY = 'bucket';

/** POST /take with `{capacity, refillPerSecond}`: `{allowed, retryAfterMs, remaining}`. */
export class RateLimiter {
  constructor(private readonly state: DurableObjectState) {}

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== 'POST' || url.pathname !== '/take')
      return Response.json(
        { error: 'not_found', message: `${request.method} ${url.pathname} is not a rate limiter route`, details: null },
        { status: 404 },
      );
    let limits: BucketLimits;
    try {
      const body = (await request.json()) as Partial<BucketLimits>;
      limits = { capacity: Number(body.capacity), refillPerSecond: Number(body.refillPerSecond) };
      const result = takeToken(await this.state.storage.get<BucketState>(STATE_KEY), limits, Date.now());
      await this.state.storage.put(STATE_KEY, result.state);
      return Response.json({
        allowed: result.allowed,
        retryAfterMs: result.retryAfterMs,
        remaining: Math.floor(result.state.tokens),
      });
    } catch (error) {
      return Response.json({ error: 'bad_request', message: (error as Error).message, details: null }, { status: 400 });
    }
  }
}
