/**
 * Outbound rate limiter for one integration: a token bucket refilled at the vendor's documented
 * rate, corrected by what the vendor reports (remaining quota, reset time, Retry-After), so several
 * connector instances in one process share the quota instead of each discovering it through 429s.
 */
import type { RateLimitObservation } from '../connector';

export interface TokenBucketOptions {
  /** Burst size: tokens available at once. */
  readonly capacity: number;
  /** Steady rate, tokens per second. */
  readonly refillPerSecond: number;
  /** Clock in ms; injectable for tests. */
  readonly now?: () => number;
  /** Sleep used while waiting for a token; injectable for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  /** No token is handed out before this time (set by a vendor-reported reset or Retry-After). */
  private pausedUntil = 0;
  private readonly clock: () => number;
  private readonly sleeper: (ms: number) => Promise<void>;
  /** Time a sleep promised but the clock did not show (an instant test sleep); keeps waits finite. */
  private skew = 0;
  /** Serializes waiters so tokens are handed out in arrival order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: TokenBucketOptions) {
    if (!(options.capacity > 0)) throw new Error(`TokenBucket capacity must be > 0, got ${options.capacity}`);
    if (!(options.refillPerSecond > 0))
      throw new Error(`TokenBucket refillPerSecond must be > 0, got ${options.refillPerSecond}`);
    this.clock = options.now ?? Date.now;
    this.sleeper = options.sleep ?? realSleep;
    this.tokens = options.capacity;
    this.updatedAt = this.now();
  }

  /** Tokens available now (fractional), after refill. */
  available(): number {
    this.refill();
    return this.now() < this.pausedUntil ? 0 : this.tokens;
  }

  /** Waits until a token is available and takes it. */
  acquire(): Promise<void> {
    const turn = this.queue.then(() => this.take());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Applies what the vendor reported: fewer remaining calls than we think, or a pause until reset. */
  observe(observation: RateLimitObservation): void {
    this.refill();
    const now = this.now();
    if (observation.retryAfterMs !== undefined && observation.retryAfterMs > 0) {
      this.pausedUntil = Math.max(this.pausedUntil, now + observation.retryAfterMs);
    }
    if (observation.remaining !== undefined) {
      if (observation.remaining <= 0 && observation.resetMs !== undefined && observation.resetMs > 0) {
        this.pausedUntil = Math.max(this.pausedUntil, now + observation.resetMs);
      }
      this.tokens = Math.min(this.tokens, Math.max(0, observation.remaining));
    }
  }

  private async take(): Promise<void> {
    for (;;) {
      this.refill();
      const now = this.now();
      if (now < this.pausedUntil) {
        await this.sleep(this.pausedUntil - now);
        continue;
      }
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.ceil(((1 - this.tokens) / this.options.refillPerSecond) * 1000));
    }
  }

  private now(): number {
    return this.clock() + this.skew;
  }

  private async sleep(ms: number): Promise<void> {
    const before = this.now();
    await this.sleeper(ms);
    const slept = this.now() - before;
    if (slept < ms) this.skew += ms - slept;
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.options.capacity, this.tokens + (elapsed / 1000) * this.options.refillPerSecond);
    this.updatedAt = now;
  }
}

const buckets = new Map<string, TokenBucket>();

/**
 * The process-wide bucket of one integration (`key` is usually the integration name plus the
 * account, e.g. `hubspot:portal-123`), created with `options` on first use.
 */
export function sharedBucket(key: string, options: TokenBucketOptions): TokenBucket {
  let bucket = buckets.get(key);
  if (!bucket) {
    bucket = new TokenBucket(options);
    buckets.set(key, bucket);
  }
  return bucket;
}
