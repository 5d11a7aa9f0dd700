/**
 * AWS as deployed: EventBridge Scheduler puts the stack's schedule input on the SQS jobs queue, and the
 * Lambda worker (its real handler, booted from the environment the stack gives it, with the secrets it
 * names read from Secrets Manager) handles every message, including the pushes it queues itself.
 */
import { randomBytes } from 'crypto';
import pino from 'pino';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { AWS_QUEUES } from '@data-sync/sync-runtime/src/bundles/aws';
import { createLambdaHandler } from '@data-sync/sync-runtime/src/lambda';
import {
  startFakeSecretsManager,
  type FakeSecretsManager,
} from '@data-sync/sync-runtime/test/support/fake-secrets-manager';
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import {
  ENCRYPTION_KEY,
  expectNoEcho,
  expectPulledAndPushed,
  expectWebhookSync,
  report,
  startApi,
  startWorld,
  type World,
} from './support/scenario';
import { resolveReferences, resource, synthesizedStack } from './support/synthesized';
import { startFauxqs } from '@data-sync/test-services/fauxqs';

describeWithService('AWS: EventBridge schedule -> SQS -> Lambda worker', TEST_DATABASE_URL, () => {
  let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
  let sqs: SQSClient;
  let secrets: FakeSecretsManager;
  let world: World;
  let handler: ReturnType<typeof createLambdaHandler>;
  let queueUrl: string;
  let apiQueue: Record<string, string>;
  const stack = () => synthesizedStack('aws');

  beforeAll(async () => {
    process.env.AWS_ACCESS_KEY_ID ??= 'test';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
    fauxqs = await startFauxqs();
    const endpoint = fauxqs.endpoint;
    sqs = new SQSClient({ region: 'us-east-1', endpoint });
    const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'e2e-jobs-dlq' }))).QueueUrl!;
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'e2e-jobs' }))).QueueUrl!;
    world = await startWorld('aws');

    // The Lambda's environment exactly as synthesized; each Terraform reference gets its deployed value here.
    const variables: Record<string, string> = resource(stack(), 'aws_lambda_function', 'worker_function').environment
      .variables;
    const database = new URL(world.databaseUrl);
    const secretArn = (reference: string) =>
      `arn:aws:secretsmanager:us-east-1:123456789012:secret:${reference.split('.')[1]}`;
    const values: Record<string, string> = {};
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: '',
      DATA_SYNC_SQS_ENDPOINT: endpoint,
      // The vendors are fakes on loopback.
      DATA_SYNC_ALLOW_LOCAL_VENDORS: 'true',
    };
    for (const [name, raw] of Object.entries(variables)) {
      env[name] = resolveReferences(raw, (reference) => {
        if (reference.endsWith('.address')) return database.hostname;
        if (reference.endsWith('.db_name')) return database.pathname.slice(1);
        // The local server has no TLS, so no RDS CA to verify it against (an empty DATABASE_CA reads as unset).
        if (reference === 'var.rds_ca_certificate') return '';
        if (reference === 'aws_sqs_queue.queue_jobs_E9CBB996.url' || /queue_jobs_\w+\.url$/.test(reference))
          return queueUrl;
        if (/queue_dead-letters_\w+\.url$/.test(reference)) return dlqUrl;
        if (/master_user_secret/.test(reference) || reference.endsWith('.arn')) return secretArn(reference);
        throw new Error(`the e2e test does not know what ${reference} is once deployed`);
      });
    }
    // The local server has no TLS; RDS does (the stack asks for it). It has one login, which stands in for the
    // serving role (its DML-only grants are the boot test's and store/database-roles.integration.test.ts's).
    const url = new URL(env.DATABASE_URL.replace(/\?sslmode=[^&]+$/, ''));
    url.username = database.username || 'postgres';
    env.DATABASE_URL = url.toString();
    expect(variables.DATABASE_URL).toMatch(/^postgres:\/\/data_sync_app@.*sslmode=/);
    values[env.DATA_SYNC_ENCRYPTION_KEY_SECRET_ARN] = ENCRYPTION_KEY;
    values[env.DATABASE_PASSWORD_SECRET_ARN] = randomBytes(8).toString('hex');
    secrets = await startFakeSecretsManager(values);
    env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
    handler = createLambdaHandler(env, pino({ level: 'silent' }));
    // The API containers put webhook jobs on the same queue.
    apiQueue = {
      DATA_SYNC_QUEUE: 'sqs',
      DATA_SYNC_SQS_QUEUE_URL: queueUrl,
      DATA_SYNC_SQS_DLQ_URL: dlqUrl,
      DATA_SYNC_SQS_ENDPOINT: endpoint,
      AWS_REGION: 'us-east-1',
    };
  });

  afterAll(async () => {
    await handler?.close();
    await world?.close();
    await secrets?.close();
    sqs?.destroy();
    fauxqs?.stop();
  });

  /** The Lambda's SQS event source: batches of messages, deleted unless reported as failed; until the queue stays empty. */
  async function pollUntilIdle(): Promise<number> {
    let handled = 0;
    for (let idle = 0; idle < 2 && handled < 200;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 3,
          AttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) {
        idle++;
        continue;
      }
      idle = 0;
      const result = await handler({
        Records: Messages.map((m) => ({
          messageId: m.MessageId!,
          body: m.Body!,
          attributes: {
            ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount,
            SentTimestamp: m.Attributes?.SentTimestamp,
          },
        })),
      });
      const failed = new Set(result.batchItemFailures.map((f) => f.itemIdentifier));
      expect([...failed]).toEqual([]);
      for (const m of Messages)
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }));
      handled += Messages.length;
    }
    return handled;
  }

  test("the stack's schedule message runs a pull through the pipeline, the push reaches Mailchimp, and its echo changes nothing", async () => {
    const schedule = resource(stack(), 'aws_scheduler_schedule', 'schedules_salesforce').target;
    expect(schedule.arn).toMatch(/^\$\{aws_sqs_queue\.queue_jobs_\w+\.arn\}$/);
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: schedule.input }));
    expect(await pollUntilIdle()).toBeGreaterThanOrEqual(2);
    const figures = await expectPulledAndPushed(world, 'aws');

    const mailchimpSchedule = resource(stack(), 'aws_scheduler_schedule', 'schedules_mailchimp').target;
    await expectNoEcho(world, async () => {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: mailchimpSchedule.input }));
      await pollUntilIdle();
    });
    report(figures);
  });

  test('a Salesforce outbound message through the API goes over SQS to the Lambda, which pulls the edited contact in', async () => {
    const api = await startApi(world, apiQueue, AWS_QUEUES);
    try {
      await expectWebhookSync(world, api.post, () => pollUntilIdle());
    } finally {
      await api.stop();
    }
  });
});
