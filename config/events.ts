/**
 * The event contract between the runtime (which publishes) and the stacks (which create the bus and one
 * subscription point per internal service): CloudEvents 1.0 envelopes, the event types, which service
 * subscribes to which, and the runtime variables that select and address the bus. Constructs import it
 * to name subscriptions and filters; the runtime builds and checks every envelope with it.
 */
import { z } from 'zod';

export const EVENT_TYPES = [
  'sync.run.succeeded',
  'sync.run.failed',
  'sync.records.changed',
  'pipeline.record.quarantined',
  'queue.dead_lettered',
  'compliance.erasure.completed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The internal services of the design's "Integration Points" that consume the bus, and what each receives. */
export const EVENT_CONSUMERS = {
  notifications: {
    title: 'Notifications Service',
    types: ['sync.run.succeeded', 'sync.run.failed', 'pipeline.record.quarantined', 'queue.dead_lettered'],
  },
  kpi_engine: { title: 'KPI Engine', types: ['sync.run.succeeded', 'sync.records.changed'] },
  ai_advisor: { title: 'AI Advisor Service', types: ['sync.records.changed', 'compliance.erasure.completed'] },
} as const satisfies Record<string, { title: string; types: readonly EventType[] }>;
export type EventConsumer = keyof typeof EVENT_CONSUMERS;
export const EVENT_CONSUMER_NAMES = Object.keys(EVENT_CONSUMERS) as EventConsumer[];

/** Where the runtime publishes (DATA_SYNC_EVENTS), one binding per cloud plus the local ones. */
export const EVENT_BUSES = [
  'inprocess',
  'webhook',
  'eventbridge',
  'sns',
  'pubsub',
  'servicebus',
  'cloudflare',
  'oci',
  'ibm',
] as const;
export type EventBusKind = (typeof EVENT_BUSES)[number];

/** The runtime variables a stack sets for its bus: the names every cloud uses (config.ts reads them). */
export const EVENT_ENV = {
  bus: 'DATA_SYNC_EVENTS',
  /** ARN, topic id, topic name or queue id of the bus, by cloud. */
  target: 'DATA_SYNC_EVENTS_TARGET',
  /** The CloudEvents `source` of every event. */
  source: 'DATA_SYNC_EVENTS_SOURCE',
} as const;

/** The prefix of every event type on the wire (`com.datasync.sync.run.failed`), so a shared bus can filter ours. */
export const EVENT_TYPE_PREFIX = 'com.datasync.';

export const cloudEventSchema = z
  .object({
    specversion: z.literal('1.0'),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.enum(EVENT_TYPES.map((t) => EVENT_TYPE_PREFIX + t) as [string, ...string[]]),
    subject: z.string().optional(),
    time: z.string().datetime({ offset: true }),
    datacontenttype: z.literal('application/json'),
    data: z.record(z.unknown()),
  })
  .strict();
/** A CloudEvents 1.0 envelope in structured JSON mode. */
export type CloudEvent = z.infer<typeof cloudEventSchema>;

/** The envelope of one event; `id` is the outbox row's, so a redelivery carries the same id. */
export function cloudEvent(input: {
  id: string;
  source: string;
  type: EventType;
  subject?: string | null;
  time: Date;
  data: Record<string, unknown>;
}): CloudEvent {
  return cloudEventSchema.parse({
    specversion: '1.0',
    id: input.id,
    source: input.source,
    type: EVENT_TYPE_PREFIX + input.type,
    ...(input.subject ? { subject: input.subject } : {}),
    time: input.time.toISOString(),
    datacontenttype: 'application/json',
    data: input.data,
  });
}

/** The event type without the wire prefix. */
export function eventTypeOf(event: CloudEvent): EventType {
  return event.type.slice(EVENT_TYPE_PREFIX.length) as EventType;
}
