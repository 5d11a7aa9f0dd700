/**
 * Group commit: concurrent sends gather while one batch is written, so load grows batches rather
 * than round trips or transactions. Each caller resolves only once its own item is durable.
 */
export interface Pending<T, R> {
  readonly item: T;
  resolve(value: R): void;
  reject(error: unknown): void;
}

export interface GroupCommit<T, R> {
  add(item: T): Promise<R>;
  /** Waits for the batches in flight and those waiting. */
  drain(): Promise<void>;
}

/** `flush` writes one batch and settles each of its items; if it throws, the items it left unsettled are rejected. */
export function groupCommit<T, R>(
  flush: (batch: Pending<T, R>[]) => Promise<void>,
  maxBatch: number,
  maxInFlight = 1,
): GroupCommit<T, R> {
  let waiting: Pending<T, R>[] = [];
  const inFlight = new Set<Promise<void>>();
  const pump = () => {
    while (inFlight.size < maxInFlight && waiting.length > 0) {
      const batch = waiting.slice(0, maxBatch);
      waiting = waiting.slice(batch.length);
      const running: Promise<void> = flush(batch)
        // A promise settles once: this rejects only the items flush had not settled.
        .catch((error) => batch.forEach((pending) => pending.reject(error)))
        .finally(() => {
          inFlight.delete(running);
          pump();
        });
      inFlight.add(running);
    }
  };
  return {
    add: (item) =>
      new Promise<R>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        pump();
      }),
    async drain() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}
