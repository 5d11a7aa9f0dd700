/**
 * The AWS container (ECS Fargate): the API puts jobs on SQS, where the Lambda worker (lambda.ts)
 * takes them.
 */
import { runProcess } from '../process';
import { sqsQueue } from '../queue/openers/sqs';
import { storeQueue } from '../queue/openers/store';

export const AWS_QUEUES = { store: storeQueue, sqs: sqsQueue } as const;

if (require.main === module) void runProcess({ queues: AWS_QUEUES });
