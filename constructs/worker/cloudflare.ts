import { QueueConsumer } from '@cdktf/provider-cloudflare/lib/queue-consumer';
import { WorkersScript, WorkersScriptBindings } from '@cdktf/provider-cloudflare/lib/workers-script';
import { Construct } from 'constructs';
import type { CloudflareQueue } from '../queue/cloudflare';
import { KEEP_DEPLOYED_CODE, WORKER_COMPATIBILITY, workerModule } from '../runtime/cloudflare';

export interface CloudflareConsumerProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly accountId: string;
  readonly queue: CloudflareQueue;
  /** Deliveries retried before a message goes to the dead-letter queue (max_retries). */
  readonly maxRetries: number;
  /** Seconds before a retried message is delivered again. */
  readonly retryDelaySeconds: number;
  /** Version label of the code it runs (the active slot's). */
  readonly version: string;
  /** Upload the current bundle (true when the deploying slot is the active one); otherwise keep the deployed code. */
  readonly deployCode: boolean;
  /** Bindings shared with the runtime scripts (queue producer, Durable Object, Hyperdrive, settings). */
  readonly bindings: readonly WorkersScriptBindings[];
}

/**
 * The queue worker: a consumer script (the bundle's `queue()` handler) attached to the jobs queue
 * with `max_retries` and the dead-letter queue. It runs the active slot's code: the current bundle is
 * uploaded only when the deploying slot is the active one, i.e. when traffic switches to it.
 */
export class CloudflareConsumer extends Construct {
  readonly script: WorkersScript;
  readonly consumer: QueueConsumer;

  constructor(scope: Construct, id: string, props: CloudflareConsumerProps) {
    super(scope, id);
    this.script = new WorkersScript(this, 'script', {
      accountId: props.accountId,
      scriptName: `${props.prefix}-consumer`,
      ...workerModule(),
      ...WORKER_COMPATIBILITY,
      bindings: [
        ...props.bindings,
        { type: 'plain_text', name: 'DATA_SYNC_ROLE', text: 'worker' },
        { type: 'plain_text', name: 'DATA_SYNC_VERSION', text: props.version },
      ],
      keepBindings: ['secret_text'],
      observability: { enabled: true, headSamplingRate: 1 },
      lifecycle: props.deployCode ? undefined : KEEP_DEPLOYED_CODE,
    });
    this.consumer = new QueueConsumer(this, 'consumer', {
      accountId: props.accountId,
      queueId: props.queue.queue.queueId,
      scriptName: this.script.scriptName,
      type: 'worker',
      deadLetterQueue: props.queue.deadLetterQueue.queueName,
      settings: {
        batchSize: 10,
        maxRetries: props.maxRetries,
        maxWaitTimeMs: 5000,
        retryDelay: props.retryDelaySeconds,
        maxConcurrency: 10,
      },
    });
  }
}
