/** When a job is retried, after how long, and when it is dead-lettered: the one policy every binding applies. */

/** Retry policy shared by bindings. */
export interface RetryPolicy {
  /** Deliveries without progress before a job is dead-lettered (default 5). */
  readonly maxAttempts: number;
  /** First retry delay in ms (default 1000); doubles each attempt. */
  readonly baseDelayMs: number;
  /** Longest retry delay in ms (default 300000). */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1000, maxDelayMs: 300_000 };

/** Exponential backoff with full jitter: a random delay in [0, min(max, base * 2^(attempt-1))]. */
export function backoffMs(attempt: number, policy: RetryPolicy = DEFAULT_RETRY, random = Math.random): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

/**
 * Deliveries that count against maxAttempts: those since the last one that reported progress
 * (`progressedAt` is that delivery's attempt number, 0 when none did). A release hands an attempt
 * back, so the difference can dip below zero; it counts as none.
 */
export const stalledDeliveries = (attempts: number, progressedAt: number) => Math.max(0, attempts - progressedAt);

/** A delivery just received whose earlier deliveries all let their lease expire, maxAttempts of them without progress. */
export const leaseBudgetSpent = (attempts: number, progressedAt: number, policy: RetryPolicy) =>
  stalledDeliveries(attempts, progressedAt) > policy.maxAttempts;

/** What a failed delivery becomes: dead, or retried after a backoff over the deliveries without progress. */
export function afterFailure(
  attempts: number,
  progressedAt: number,
  policy: RetryPolicy,
  random: () => number,
): { readonly outcome: 'dead' } | { readonly outcome: 'retry'; readonly delayMs: number } {
  const stalled = stalledDeliveries(attempts, progressedAt);
  if (stalled >= policy.maxAttempts) return { outcome: 'dead' };
  return { outcome: 'retry', delayMs: backoffMs(Math.max(1, stalled), policy, random) };
}

/** How an acknowledgement or a failure that the broker or database refused is tried again before the lease is left to expire. */
export const SETTLE_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };

/** Runs `op`, retrying it after a jittered backoff while it throws an error `retryable` accepts. */
export async function retrying<T>(
  op: () => Promise<T>,
  retryable: (error: unknown) => boolean,
  policy: RetryPolicy = SETTLE_RETRY,
  random = Math.random,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (error) {
      if (attempt >= policy.maxAttempts || !retryable(error)) throw error;
      // At least a few ms, so that a tight loop never hammers a database that is coming back.
      const delay = Math.max(10, backoffMs(attempt + 1, policy, random));
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
