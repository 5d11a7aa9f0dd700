/**
 * Vendors that limit one endpoint by several fixed windows at once (Klaviyo: a 1 s burst and a
 * 1 min steady window per endpoint) and declare them as `RateLimit-Limit: 10, 10;w=1, 150;w=60`.
 * A sliding log per window keeps every window: a call is let through only when each window has
 * seen fewer than its limit in its last `windowMs`, which is never more than the vendor's fixed
 * windows allow. Retry-After and a reported reset pause the whole budget.
 */
import type { RateLimitObservation } from '../connector';
import { realSleep } from './token-bucket';

export interface RateWindow {
  readonly limit: number;
  readonly windowMs: number;
}

/**
 * The windows of an IETF-draft `RateLimit-Limit` value (`10, 10;w=1, 150;w=60`): each item with a
 * `w` parameter is one window; a bare number is the limit of the current window and adds none.
 */
export function parseRateLimitPolicy(value: string | null | undefined): RateWindow[] {
  if (!value) return [];
  const windows: RateWindow[] = [];
  for (const item of value.split(',')) {
    const [limitText, ...params] = item.trim().split(';');
    const limit = Number(limitText);
    const w = params.map((p) => /^\s*w\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (Number.isFinite(limit) && limit > 0 && w !== undefined) windows.push({ limit, windowMs: Number(w) * 1000 });
  }
  return windows;
}

export interface WindowBudgetOptions {
  /** The windows documented for the endpoint; declared windows seen later are added to them. */
  readonly windows: readonly RateWindow[];
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** An in-process multi-window budget for one vendor endpoint of one account. */
export class WindowBudget {
  private windows: RateWindow[];
  /**
   * Call times, oldest first, kept for the longest window. A call counts from when it was let
   * through until its answer arrives, then from the answer: the vendor saw it somewhere in between,
   * and a window it opened on arrival must not be taken as having started earlier.
   */
  private calls: { t: number; pending: boolean }[] = [];
  private pausedUntil = 0;
  private readonly clock: () => number;
  private readonly sleeper: (ms: number) => Promise<void>;
  /** Time a sleep promised but the clock did not show (an instant test sleep); keeps waits finite. */
  private skew = 0;
  private queue: Promise<void> = Promise.resolve();

  constructor(options: WindowBudgetOptions) {
    if (options.windows.length === 0) throw new Error('WindowBudget needs at least one window');
    this.windows = [...options.windows];
    this.clock = options.now ?? Date.now;
    this.sleeper = options.sleep ?? realSleep;
  }

  /** The windows in force: the documented ones, lowered by any the vendor declared. */
  current(): readonly RateWindow[] {
    return this.windows;
  }

  /** How long the next call must wait (0: it may go now), without taking a slot. */
  waitMs(): number {
    const now = this.now();
    let wait = Math.max(0, this.pausedUntil - now);
    for (const window of this.windows) {
      const inWindow = this.calls.filter((c) => c.t > now - window.windowMs);
      if (inWindow.length >= window.limit)
        wait = Math.max(wait, inWindow[inWindow.length - window.limit].t + window.windowMs - now);
    }
    return wait;
  }

  acquire(): Promise<void> {
    const turn = this.queue.then(() => this.take());
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Applies a vendor answer: its declared windows (the stricter one wins), Retry-After, an exhausted window's reset. */
  observe(observation: RateLimitObservation, declared: readonly RateWindow[] = []): void {
    for (const window of declared) {
      const same = this.windows.findIndex((w) => w.windowMs === window.windowMs);
      if (same < 0) this.windows.push(window);
      else if (window.limit < this.windows[same].limit) this.windows[same] = window;
    }
    const now = this.now();
    const answered = this.calls.find((c) => c.pending);
    if (answered) {
      answered.t = now;
      answered.pending = false;
      this.calls.sort((a, b) => a.t - b.t);
    }
    if (observation.retryAfterMs !== undefined && observation.retryAfterMs > 0)
      this.pausedUntil = Math.max(this.pausedUntil, now + observation.retryAfterMs);
    if (
      observation.remaining !== undefined &&
      observation.remaining <= 0 &&
      observation.resetMs !== undefined &&
      observation.resetMs > 0
    ) {
      this.pausedUntil = Math.max(this.pausedUntil, now + observation.resetMs);
    }
  }

  private async take(): Promise<void> {
    for (;;) {
      const wait = this.waitMs();
      if (wait <= 0) {
        const now = this.now();
        this.calls.push({ t: now, pending: true });
        const longest = Math.max(...this.windows.map((w) => w.windowMs));
        while (this.calls.length && !this.calls[0].pending && this.calls[0].t <= now - longest) this.calls.shift();
        return;
      }
      await this.sleep(wait);
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
}

/** The budget that a ConnectorContext's shared limiter or an in-process WindowBudget provides. */
export interface EndpointBudget {
  acquire(): Promise<void>;
  observe(observation: RateLimitObservation, declared?: readonly RateWindow[]): void | Promise<void>;
}

const budgets = new Map<string, WindowBudget>();

/** The process-wide budget of one endpoint of one account (`key`), created with `options` on first use. */
export function sharedWindowBudget(key: string, options: WindowBudgetOptions): WindowBudget {
  let budget = budgets.get(key);
  if (!budget) {
    budget = new WindowBudget(options);
    budgets.set(key, budget);
  }
  return budget;
}
