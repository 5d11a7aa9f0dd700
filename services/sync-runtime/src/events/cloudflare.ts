/**
 * Cloudflare: a Queue per internal service (Queues have one consumer each, so the fan-out is the
 * producer's): each event is sent to the queue of every service whose types include it, through the
 * Worker's producer bindings (EVENTS_NOTIFICATIONS, EVENTS_KPI_ENGINE, EVENTS_AI_ADVISOR). Structured
 * CloudEvents JSON bodies.
 */
import {
  EVENT_CONSUMERS,
  EVENT_CONSUMER_NAMES,
  eventTypeOf,
  type CloudEvent,
  type EventConsumer,
} from '@data-sync/config/events';
import type { EventBus } from './bus';

/** The part of a Workers Queue producer binding this uses. */
export interface QueueProducer {
  sendBatch(messages: Iterable<{ body: unknown; contentType?: 'json' }>): Promise<void>;
}

/** The Worker binding name of a consumer's queue. */
export const cloudflareEventBinding = (consumer: EventConsumer) => `EVENTS_${consumer.toUpperCase()}`;

/** The Worker's event queue producers from its bindings; throws naming a binding that is missing. */
export function cloudflareEventQueues(
  bindings: Readonly<Record<string, unknown>>,
): Record<EventConsumer, QueueProducer> {
  return Object.fromEntries(
    EVENT_CONSUMER_NAMES.map((consumer) => {
      const name = cloudflareEventBinding(consumer);
      const binding = bindings[name] as Partial<QueueProducer> | undefined;
      if (typeof binding?.sendBatch !== 'function')
        throw new Error(`the ${name} queue binding (the ${EVENT_CONSUMERS[consumer].title}'s events) is missing`);
      return [consumer, binding as QueueProducer];
    }),
  ) as Record<EventConsumer, QueueProducer>;
}

/** Queues take at most 100 messages per sendBatch. */
const BATCH = 100;

export function createCloudflareQueueBus(queues: Readonly<Record<EventConsumer, QueueProducer>>): EventBus {
  return {
    kind: 'cloudflare',
    async publish(events: readonly CloudEvent[]) {
      for (const [consumer, queue] of Object.entries(queues) as [EventConsumer, QueueProducer][]) {
        const wanted = new Set<string>(EVENT_CONSUMERS[consumer].types);
        const mine = events.filter((e) => wanted.has(eventTypeOf(e)));
        for (let i = 0; i < mine.length; i += BATCH)
          await queue.sendBatch(mine.slice(i, i + BATCH).map((body) => ({ body, contentType: 'json' as const })));
      }
    },
    async close() {},
  };
}
