/**
 * Failed authentication attempts per client address, checked before a token is verified: an address that sent
 * too many missing or invalid tokens in the window is answered 429 without its token being looked at, so a
 * guesser cannot try tokens (nor load the token table) faster than the budget, whichever tokens it rotates
 * through. The per-token limit (@fastify/rate-limit, keyed by the verified token) applies after authentication.
 * @fastify/rate-limit counts every request it sees and cannot be asked whether a key is over its limit without
 * counting one more, so the failures are counted here, in memory or in the rate limit's Redis for all instances.
 */
import type { Redis } from 'ioredis';

export interface AuthFailureLimiter {
  /** Milliseconds until `address` may try again, or 0 when it has attempts left. */
  blockedForMs(address: string): Promise<number>;
  /** Counts one failed attempt of `address`. */
  record(address: string): Promise<void>;
  /** The attempts an address has per window. */
  readonly max: number;
}

export interface AuthFailureOptions {
  /** Failed attempts allowed per address and window. */
  readonly max: number;
  /** The window in milliseconds. @default 60000 */
  readonly windowMs?: number;
  /** Shares the counts between instances (the rate limit's client, with its command timeout). @default in memory */
  readonly redis?: Redis;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Addresses kept in memory at most; the oldest windows are dropped first (a flood of spoofed sources). */
const MEMORY_ADDRESSES = 10_000;

export function createAuthFailureLimiter(options: AuthFailureOptions): AuthFailureLimiter {
  const windowMs = options.windowMs ?? 60_000;
  const { max, redis } = options;
  const now = options.now ?? Date.now;
  if (redis) {
    const key = (address: string) => `data-sync-auth-failures:${address}`;
    return {
      max,
      async blockedForMs(address) {
        try {
          const [[, count], [, ttl]] = (await redis.multi().get(key(address)).pttl(key(address)).exec()) as [
            [Error | null, string | null],
            [Error | null, number],
          ];
          return Number(count ?? 0) >= max ? Math.max(ttl, 1) : 0;
        } catch {
          // As the rate limit does (skipOnError): a Redis outage never locks every client out.
          return 0;
        }
      },
      async record(address) {
        try {
          await redis.multi().set(key(address), 0, 'PX', windowMs, 'NX').incr(key(address)).exec();
        } catch {
          // See blockedForMs.
        }
      },
    };
  }
  const windows = new Map<string, { count: number; resetAt: number }>();
  const current = (address: string) => {
    const window = windows.get(address);
    if (window && window.resetAt > now()) return window;
    windows.delete(address);
    return undefined;
  };
  return {
    max,
    async blockedForMs(address) {
      const window = current(address);
      return window && window.count >= max ? window.resetAt - now() : 0;
    },
    async record(address) {
      const window = current(address);
      if (window) window.count++;
      else {
        if (windows.size >= MEMORY_ADDRESSES) windows.delete(windows.keys().next().value as string);
        windows.set(address, { count: 1, resetAt: now() + windowMs });
      }
    },
  };
}
