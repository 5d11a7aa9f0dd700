import type { SqsOptions } from '../cloud-bindings';
import type { QueueOpener } from '../open-queue';
import { createSqsBinding } from '../sqs-binding';

/** Amazon SQS (DATA_SYNC_QUEUE=sqs), with the options config.ts read from the environment. */
export const sqsQueue: QueueOpener = (config) => createSqsBinding(config.cloudQueue as SqsOptions);
