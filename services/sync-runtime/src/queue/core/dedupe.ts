/**
 * Dedupe keys for brokers that have no "one pending job per key" (SQS standard queues, Pub/Sub,
 * Service Bus outside sessions): `reserve` returns the pending job's id when the key is taken, else
 * records `id`; `release` frees the key when that job is acknowledged or dead-lettered.
 */
export interface DedupeRegistry {
  reserve(scope: string, key: string, id: string): Promise<string>;
  release(scope: string, key: string, id: string): Promise<void>;
}

/**
 * The default registry: shared by every binding in this process. It does not span processes, so two
 * processes enqueueing the same key at once can both enqueue; the runtime enqueues scheduled syncs on
 * one instance only, and sinks are idempotent, so a duplicate costs a redundant run, never wrong data.
 */
export class ProcessDedupeRegistry implements DedupeRegistry {
  private readonly keys = new Map<string, string>();
  async reserve(scope: string, key: string, id: string): Promise<string> {
    const k = `${scope}\u0000${key}`;
    const existing = this.keys.get(k);
    if (existing !== undefined) return existing;
    this.keys.set(k, id);
    return id;
  }
  async release(scope: string, key: string, id: string): Promise<void> {
    const k = `${scope}\u0000${key}`;
    if (this.keys.get(k) === id) this.keys.delete(k);
  }
}

export const processDedupe = new ProcessDedupeRegistry();
