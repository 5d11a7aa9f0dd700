/**
 * The embedded default: events go to handlers in this process (tests, the demo, a single-process
 * deployment whose internal services are in-process). A handler's failure fails the delivery, so the
 * publisher retries it like a bus that refused.
 */
import type { CloudEvent, EventType } from '@data-sync/config/events';
import { eventTypeOf } from '@data-sync/config/events';
import type { EventBus } from './bus';

export type EventHandler = (event: CloudEvent) => void | Promise<void>;

export interface InProcessBus extends EventBus {
  /** Calls `handler` for every event of `types` (all when omitted); returns the unsubscribe. */
  subscribe(handler: EventHandler, types?: readonly EventType[]): () => void;
}

export function createInProcessBus(): InProcessBus {
  const subscribers = new Set<{ handler: EventHandler; types?: ReadonlySet<EventType> }>();
  return {
    kind: 'inprocess',
    subscribe(handler, types) {
      const entry = { handler, types: types && new Set(types) };
      subscribers.add(entry);
      return () => subscribers.delete(entry);
    },
    async publish(events) {
      for (const event of events)
        for (const { handler, types } of [...subscribers])
          if (!types || types.has(eventTypeOf(event))) await handler(event);
    },
    async close() {
      subscribers.clear();
    },
  };
}
