import { Queue } from '@cdktf/provider-cloudflare/lib/queue';
import { QueueConsumer } from '@cdktf/provider-cloudflare/lib/queue-consumer';
import { Construct } from 'constructs';
import { EVENT_CONSUMER_NAMES, type EventConsumer } from '@data-sync/config/events';

export interface CloudflareEventBusProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly accountId: string;
}

/**
 * The event bus on Cloudflare: a Queue per internal service (a Queue has one consumer, so the Worker
 * fans out: its producer binding EVENTS_<SERVICE> per queue is the only way to send to it). Each service
 * pulls its queue over HTTP (a pull consumer; the service's API token needs Queues read and write); what it
 * fails 10 times goes to one dead-letter queue, itself pulled for inspection. `bindings` are the Worker's
 * queue bindings.
 */
export class CloudflareEventBus extends Construct {
  readonly queues: Record<EventConsumer, Queue>;
  readonly deadLetterQueue: Queue;
  readonly bindings: { type: 'queue'; name: string; queueName: string }[];

  constructor(scope: Construct, id: string, props: CloudflareEventBusProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'dead-letters', {
      accountId: props.accountId,
      queueName: `${props.prefix}-events-dead-letters`,
      settings: { messageRetentionPeriod: 14 * 86400 },
    });
    new QueueConsumer(this, 'dead-letter-pull', {
      accountId: props.accountId,
      queueId: this.deadLetterQueue.queueId,
      type: 'http_pull',
      settings: { batchSize: 100, maxRetries: 100, visibilityTimeoutMs: 60_000 },
    });
    this.queues = {} as Record<EventConsumer, Queue>;
    for (const consumer of EVENT_CONSUMER_NAMES) {
      const queue = new Queue(this, `queue-${consumer}`, {
        accountId: props.accountId,
        queueName: `${props.prefix}-events-${consumer.replace(/_/g, '-')}`,
        settings: { messageRetentionPeriod: 4 * 86400 },
      });
      new QueueConsumer(this, `pull-${consumer}`, {
        accountId: props.accountId,
        queueId: queue.queueId,
        type: 'http_pull',
        deadLetterQueue: this.deadLetterQueue.queueName,
        settings: { batchSize: 100, maxRetries: 10, visibilityTimeoutMs: 60_000 },
      });
      this.queues[consumer] = queue;
    }
    this.bindings = EVENT_CONSUMER_NAMES.map((consumer) => ({
      type: 'queue' as const,
      name: `EVENTS_${consumer.toUpperCase()}`,
      queueName: this.queues[consumer].queueName,
    }));
  }
}
