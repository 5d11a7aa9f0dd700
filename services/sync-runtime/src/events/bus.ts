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
