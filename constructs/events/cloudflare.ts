import { Queue } from '@cdktf/provider-cloudflare/lib/queue';
import { Construct } from 'constructs';
import { EVENT_CONSUMER_NAMES, type EventConsumer } from '@data-sync/config/events';

export interface CloudflareEventBusProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly accountId: string;
}

/**
 * The event bus on Cloudflare: a Queue per internal service (a Queue has one consumer, so the Worker
 * fans out: its producer binding EVENTS_<SERVICE> per queue is the only way to send to it). `bindings`
 * are the Worker's queue bindings.
 */
export class CloudflareEventBus extends Construct {
  readonly queues: Record<EventConsumer, Queue>;
  readonly bindings: { type: 'queue'; name: string; queueName: string }[];

  constructor(scope: Construct, id: string, props: CloudflareEventBusProps) {
    super(scope, id);
    this.queues = {} as Record<EventConsumer, Queue>;
    for (const consumer of EVENT_CONSUMER_NAMES)
      this.queues[consumer] = new Queue(this, `queue-${consumer}`, {
        accountId: props.accountId,
        queueName: `${props.prefix}-events-${consumer.replace(/_/g, '-')}`,
        settings: { messageRetentionPeriod: 4 * 86400 },
      });
    this.bindings = EVENT_CONSUMER_NAMES.map((consumer) => ({
      type: 'queue' as const,
      name: `EVENTS_${consumer.toUpperCase()}`,
      queueName: this.queues[consumer].queueName,
    }));
  }
}
