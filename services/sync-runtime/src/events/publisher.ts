/**
 * Drains the outbox onto the bus, at least once: events are leased, published, then marked published.
 * A crash between publish and mark (or before publish) leaves them unmarked, and once their lease runs
 * out this or another instance publishes them again with the same CloudEvents id, which is the outbox
 * row's: consumers deduplicate by id.
 */
import type { Logger } from 'pino';
import { cloudEvent, type CloudEvent } from '@data-sync/config/events';
import type { OutboxEvent, OutboxRepository } from '../store/outbox-repository';
import { type EventBus, UndeliveredEventsError } from './bus';

export interface EventPublisherOptions {
  readonly outbox: OutboxRepository;
  readonly bus: EventBus;
  /** The CloudEvents `source` (DATA_SYNC_EVENTS_SOURCE). */
  readonly source: string;
  readonly logger: Logger;
  /** Events per claim and publish. @default 100 */
  readonly batchSize?: number;
  /** How long a claimed event is kept from other publishers. @default 30000 ms */
  readonly leaseMs?: number;
  /** How often an idle publisher looks for new events. @default 200 ms */
  readonly pollMs?: number;
  /** The pause after a failed delivery before the next try. @default 2000 ms */
  readonly retryMs?: number;
}

export interface EventPublisher {
  /** Publishes until the outbox has nothing claimable; how many events it published. Throws what the bus threw. */
  drain(): Promise<number>;
  /** Drains in the background until stop(). */
  start(): void;
  stop(): Promise<void>;
}

export function toCloudEvent(event: OutboxEvent, source: string): CloudEvent {
  return cloudEvent({
    id: event.id,
    source,
    type: event.type,
    subject: event.subject,
    time: event.createdAt,
    data: event.data,
  });
}

export function createEventPublisher(options: EventPublisherOptions): EventPublisher {
  const { outbox, bus, source, logger } = options;
  const batchSize = options.batchSize ?? 100;
  const leaseMs = options.leaseMs ?? 30_000;
  let running: Promise<void> | null = null;
  let stopped = false;
  let wake: (() => void) | null = null;

  async function drain(): Promise<number> {
    let published = 0;
    for (;;) {
      const claimed = await outbox.claim(batchSize, leaseMs);
      if (!claimed.length) return published;
      const ids = claimed.map((e) => e.id);
      try {
        await bus.publish(claimed.map((e) => toCloudEvent(e, source)));
      } catch (error) {
        // The events the bus did take are published: marking them keeps a partial failure from resending them.
        const refused = error instanceof UndeliveredEventsError ? error.undelivered : null;
        if (refused) {
          await outbox.markPublished(ids.filter((id) => !refused.has(id)));
          const byReason = new Map<string, string[]>();
          for (const [id, reason] of refused) byReason.set(reason, [...(byReason.get(reason) ?? []), id]);
          for (const [reason, refusedIds] of byReason) await outbox.release(refusedIds, reason);
        } else await outbox.release(ids, (error as Error).message);
        throw error;
      }
      await outbox.markPublished(ids);
      published += claimed.length;
    }
  }

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function loop(): Promise<void> {
    while (!stopped) {
      let delay = options.pollMs ?? 200;
      try {
        await drain();
      } catch (error) {
        logger.warn({ err: error, bus: bus.kind }, 'event delivery failed; the events stay in the outbox');
        delay = options.retryMs ?? 2000;
      }
      if (!stopped) await pause(delay);
    }
  }

  return {
    drain,
    start() {
      if (running) return;
      stopped = false;
      running = loop();
    },
    async stop() {
      stopped = true;
      wake?.();
      await running;
      running = null;
    },
  };
}
