import { Queue } from '@cdktf/provider-cloudflare/lib/queue';
import { QueueConsumer } from '@cdktf/provider-cloudflare/lib/queue-consumer';
import { Construct } from 'constructs';

export interface CloudflareQueueProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly accountId: string;
  /** How long dead letters are kept, in days (default 14, the Queues maximum). */
  readonly deadLetterRetentionDays?: number;
}

/**
 * The jobs queue and its dead-letter queue. Dead letters are kept for inspection and redrive behind
 * an HTTP pull consumer (the runtime's dead-letter routes pull and acknowledge them); the Worker
 * consumer of the jobs queue is the worker capability's.
 */
export class CloudflareQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly deadLetterPull: QueueConsumer;

  constructor(scope: Construct, id: string, props: CloudflareQueueProps) {
    super(scope, id);
    this.queue = new Queue(this, 'jobs', {
      accountId: props.accountId,
      queueName: `${props.prefix}-jobs`,
      settings: { messageRetentionPeriod: 4 * 86400 },
    });
    this.deadLetterQueue = new Queue(this, 'dead-letters', {
      accountId: props.accountId,
      queueName: `${props.prefix}-jobs-dead-letters`,
      settings: { messageRetentionPeriod: (props.deadLetterRetentionDays ?? 14) * 86400 },
    });
    this.deadLetterPull = new QueueConsumer(this, 'dead-letter-pull', {
      accountId: props.accountId,
      queueId: this.deadLetterQueue.queueId,
      type: 'http_pull',
      settings: { batchSize: 100, maxRetries: 100, visibilityTimeoutMs: 60_000 },
    });
  }
}
