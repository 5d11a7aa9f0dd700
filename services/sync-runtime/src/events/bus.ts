/**
 * An event bus the outbox publisher delivers CloudEvents to: one binding per cloud (one file each in this
 * folder), chosen by DATA_SYNC_EVENTS (open-bus.ts). A binding resolves `publish` only once the bus has
 * taken every event; it throws otherwise, and the publisher delivers the events again with the same ids.
 */
import type { CloudEvent, EventBusKind } from '@data-sync/config/events';

export interface EventBus {
  readonly kind: EventBusKind;
  publish(events: readonly CloudEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** The attributes every binding that carries metadata beside the body sets (CloudEvents binary mode names). */
export function eventAttributes(event: CloudEvent): Record<string, string> {
  return {
    'ce-specversion': event.specversion,
    'ce-id': event.id,
    'ce-source': event.source,
    'ce-type': event.type,
    'ce-time': event.time,
    ...(event.subject ? { 'ce-subject': event.subject } : {}),
    // A name without a hyphen, for subscription filters (Pub/Sub filters, SNS filter policies).
    event_type: event.type,
  };
}

/** Thrown by `publish` when the bus took some events and refused others: only the refused ones are retried. */
export class UndeliveredEventsError extends Error {
  /** The refused events' ids, each with the bus's reason. */
  readonly undelivered: ReadonlyMap<string, string>;

  constructor(undelivered: ReadonlyMap<string, string>) {
    const [first] = undelivered.values();
    super(`${undelivered.size} event(s) were not taken, e.g. ${first}`);
    this.name = 'UndeliveredEventsError';
    this.undelivered = undelivered;
  }
}
