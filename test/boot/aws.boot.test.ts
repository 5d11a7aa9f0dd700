/**
 * AWS as deployed: the ECS services' API containers (one per blue-green slot) put jobs on SQS
 * (fauxqs here), and the Lambda worker, its deployment package's handler with the function's
 * environment and its secrets read from Secrets Manager (a fake), takes them, logged in as a role with
 * only the grants the containers' migration run (as the owner) gives the serving role. The containers
 * drain the event outbox onto the stack's SNS topic (fauxqs too, subscribed as the stack declares): an
 * event lands in the Notifications Service's queue as its CloudEvent.
 */
import * as path from 'path';
import { SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { openPostgres } from '@data-sync/pipelines/db';
import { addEvent } from '@data-sync/sync-runtime/src/store/outbox-repository';
import { RUNTIME_ROLE } from '../../constructs/database/roles';
import { LAMBDA_HANDLER_MODULE } from '../../constructs/worker/aws';
import { lambdaNodeArgs } from '@data-sync/config';
import {
  startFakeSecretsManager,
  type FakeSecretsManager,
} from '@data-sync/sync-runtime/test/support/fake-secrets-manager';
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { localValue } from './support/boot';
import { awsContainers, awsLambda } from './support/aws';
import { declareAwsEventBus } from '@data-sync/sync-runtime/test/support/aws-event-bus';
import { pollQueue, startLambda } from './support/lambda';
import {
  ENVIRONMENTS,
  expectReadyAndJobTaken,
  expectVariablesWired,
  stackDirOf,
  stackOf,
  withBootedStack,
} from './support/stack-boot';
import { startFauxqs } from '@data-sync/test-services/fauxqs';

const AWS = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'boot-test', AWS_SECRET_ACCESS_KEY: 'boot-test' };

describeWithService('AWS runtime processes boot with what the stack gives them', TEST_DATABASE_URL, () => {
  let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
  let endpoint: string;
  let sqs: SQSClient;
  let sns: SNSClient;
  beforeAll(async () => {
    fauxqs = await startFauxqs();
    endpoint = fauxqs.endpoint;
    const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
    sqs = new SQSClient({ region: AWS.AWS_REGION, endpoint, credentials });
    sns = new SNSClient({ region: AWS.AWS_REGION, endpoint, credentials });
  });
  afterAll(() => {
    sqs?.destroy();
    sns?.destroy();
    fauxqs?.stop();
  });

  /** The first message on `queueUrl` whose CloudEvent has `id` (long polls, each waiting for a message). */
  async function receiveEvent(queueUrl: string, id: string): Promise<{ id: string; type: string }> {
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }),
      );
      const found = Messages.map((m) => JSON.parse(m.Body!) as { id: string; type: string }).find((e) => e.id === id);
      if (found) return found;
    }
  }

  test.each(ENVIRONMENTS)(
    '%s: the API containers are ready, the Lambda takes the probe job they put on SQS, and they publish events to SNS',
    async (environment) => {
      const stack = stackOf('aws', environment);
      const processes = awsContainers(stack);
      expect(processes.map((p) => p.name.replace(/_task_[0-9A-F]+/, ''))).toEqual([
        'aws_ecs_task_definition.runtime_blue/app',
        'aws_ecs_task_definition.runtime_green/app',
      ]);
      expect(processes.map((p) => p.command)).toEqual(processes.map(() => ['node', 'dist/runtime/aws.js']));
      expectVariablesWired(processes);
      const name = `boot-${environment}-${process.pid}`;
      const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }))).QueueUrl!;
      const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
      const bus = await declareAwsEventBus(stack, { sns, sqs });
      const queue = {
        variables: {
          DATA_SYNC_SQS_QUEUE_URL: queueUrl,
          DATA_SYNC_SQS_DLQ_URL: dlqUrl,
          DATA_SYNC_EVENTS_TARGET: bus.topicArn,
        },
        // The SDK reads AWS_ENDPOINT_URL_SNS itself (service-specific endpoints).
        extra: { ...AWS, DATA_SYNC_SQS_ENDPOINT: endpoint, AWS_ENDPOINT_URL_SNS: endpoint },
      };
      let secrets: FakeSecretsManager | undefined;
      await withBootedStack(
        `aws-${environment}`,
        processes,
        async (boot) => {
          // The function's environment as synthesized; it names its secrets by ARN (read at cold start).
          const fn = awsLambda(stack);
          // It serves as the DML-only role and only checks the schema the API containers (the owner) migrated.
          expect(fn.env.DATABASE_URL).toMatch(new RegExp(`^postgres://${RUNTIME_ROLE}@`));
          expect(fn.env.DATA_SYNC_MIGRATIONS).toBe('check');
          const env: Record<string, string> = { ...AWS, DATA_SYNC_SQS_ENDPOINT: endpoint };
          for (const [variable, value] of Object.entries(fn.env))
            env[variable] = localValue(variable, value, boot.local);
          expect(env.DATABASE_URL).toBe(boot.local.servingUrl);
          secrets = await startFakeSecretsManager({
            [env.DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN]: boot.local.encryptionKey,
            // The local server trusts loopback: any password is accepted.
            [env.DATABASE_PASSWORD_SECRET_ARN]: 'boot-test-password',
          });
          env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
          expect(fn.handler).toBe(`${path.basename(LAMBDA_HANDLER_MODULE, '.js')}.handler`);
          // The deployment package the stack uploads, started with the Node flags Lambda uses for its memory:
          // the bundle is compiled from the code cache the build made for exactly that.
          const lambda = await startLambda(
            path.join(stackDirOf('aws', environment), fn.filename),
            fn.handler,
            env,
            lambdaNodeArgs(fn.memoryMb),
          );
          expect(lambda.codeCache).toBe('used');
          const mapping = pollQueue(sqs, queueUrl, lambda);
          try {
            await expectReadyAndJobTaken(boot);
            // An event committed to the outbox (as a run's outcome is) is published by the containers.
            const db = openPostgres(boot.local.databaseUrl, { max: 1 });
            try {
              const subject = `boot-${environment}`;
              await addEvent(db, { type: 'sync.run.failed', subject, data: { integration: subject } });
              const { rows } = await db.query<{ id: string }>(
                'SELECT id::text AS id FROM event_outbox WHERE subject = $1',
                [subject],
              );
              const received = await receiveEvent(bus.queueUrls.notifications, rows[0].id);
              expect(received.type).toBe('com.datasync.sync.run.failed');
              for (;;) {
                const published = await db.query(
                  'SELECT 1 FROM event_outbox WHERE id = $1 AND published_at IS NOT NULL',
                  [rows[0].id],
                );
                if (published.rows.length) break;
                await new Promise((resolve) => setTimeout(resolve, 100));
              }
            } finally {
              await db.close();
            }
          } catch (error) {
            throw new Error(`${(error as Error).message}\n--- the Lambda\n${lambda.output().slice(-3000)}`, {
              cause: error,
            });
          } finally {
            await mapping.stop();
            lambda.stop();
            await secrets?.close();
          }
        },
        queue,
        { servingRole: true },
      );
    },
    180_000,
  );
});
