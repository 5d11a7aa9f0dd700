/**
 * The AWS container (ECS Fargate): the API puts jobs on SQS, where the Lambda worker (lambda.ts)
 * takes them.
 */
import { BASE_EVENT_BUSES } from '../events/openers';
import { snsEventBus } from '../events/openers/sns';
import { runProcess } from '../process';
import { sqsQueue } from '../queue/openers/sqs';
import { storeQueue } from '../queue/openers/store';

export const AWS_QUEUES = { store: storeQueue, sqs: sqsQueue } as const;
/** Events go to the stack's SNS topic; the Lambda worker does not drain the outbox, so only this bundle carries it. */
export const AWS_EVENT_BUSES = { ...BASE_EVENT_BUSES, sns: snsEventBus } as const;

if (require.main === module) void runProcess({ queues: AWS_QUEUES, eventBuses: AWS_EVENT_BUSES });
