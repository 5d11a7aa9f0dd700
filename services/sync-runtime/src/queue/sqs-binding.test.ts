import { randomUUID } from 'crypto';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { jobFromSqsRecord } from '../lambda';
import { QueueBinding } from './binding';
import { CONTRACT_RANDOM, CONTRACT_RETRY, queueBindingContract } from './contract';
import { ProcessDedupeRegistry } from './core/dedupe';
import { createSqsBinding } from './sqs-binding';
import { startFauxqs } from '@data-sync/test-services/fauxqs';

let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
let endpoint: string;
let admin: SQSClient;
const clientFor = () =>
  new SQSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

beforeAll(async () => {
  fauxqs = await startFauxqs();
  endpoint = fauxqs.endpoint;
  admin = clientFor();
});
afterAll(() => {
  admin?.destroy();
  fauxqs?.stop();
});

const prefix = `t${process.pid}-${randomUUID().slice(0, 6)}`;
let next = 0;
async function createQueues(options: { redriveMaxReceiveCount?: number } = {}) {
  const name = `${prefix}-${++next}`;
  const dlq = await admin.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqArn = (
    await admin.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  const main = await admin.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: options.redriveMaxReceiveCount
        ? {
            RedrivePolicy: JSON.stringify({
              deadLetterTargetArn: dlqArn,
              maxReceiveCount: options.redriveMaxReceiveCount,
            }),
          }
        : {},
    }),
  );
  return { queueUrl: main.QueueUrl!, deadLetterQueueUrl: dlq.QueueUrl! };
}

describe('SQS binding on fauxqs', () => {
  const queues = new Map<QueueBinding, { queueUrl: string; deadLetterQueueUrl: string }>();
  const dedupe = new ProcessDedupeRegistry();
  queueBindingContract(
    'SQS',
    async (shareWith) => {
      const urls = shareWith
        ? queues.get(shareWith)!
        : await createQueues({ redriveMaxReceiveCount: CONTRACT_RETRY.maxAttempts + 2 });
      const binding = createSqsBinding({
        ...urls,
        client: clientFor(),
        retry: CONTRACT_RETRY,
        random: CONTRACT_RANDOM,
        dedupe,
      });
      queues.set(binding, urls);
      return binding;
    },
    (binding) => binding.close(),
  );

  test('a message body is what the Lambda worker reads: the same id, kind, integration, payload and dedupe key', async () => {
    const urls = await createQueues();
    const binding = createSqsBinding({ ...urls, client: clientFor() });
    const id = await binding.enqueue({
      kind: 'webhook',
      integration: 'shop',
      payload: { order: 7 },
      dedupeKey: 'order-7',
    });
    const raw = await admin.send(
      new ReceiveMessageCommand({
        QueueUrl: urls.queueUrl,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
      }),
    );
    const message = raw.Messages![0];
    const job = jobFromSqsRecord({
      messageId: message.MessageId!,
      body: message.Body!,
      attributes: message.Attributes,
    });
    expect(job).toMatchObject({
      id,
      kind: 'webhook',
      integration: 'shop',
      payload: { order: 7 },
      dedupeKey: 'order-7',
      attempts: 1,
    });
    await binding.close();
  });

  test("a letter the queue's RedrivePolicy moved (no error recorded) is listed with a generic error and redriven", async () => {
    const urls = await createQueues({ redriveMaxReceiveCount: 1 });
    const binding = createSqsBinding({ ...urls, client: clientFor(), retry: CONTRACT_RETRY });
    const id = await binding.enqueue({ kind: 'sync', payload: { n: 1 } });
    // A consumer that is not the binding (the Lambda event source) receives it and never deletes it.
    await admin.send(new ReceiveMessageCommand({ QueueUrl: urls.queueUrl, VisibilityTimeout: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await binding.claim(1, 5000)).toEqual([]);
    const [dead] = await binding.listDeadLetters();
    expect(dead).toMatchObject({ id, payload: { n: 1 }, lastError: expect.stringMatching(/RedrivePolicy/) });
    expect(await binding.redrive()).toBe(1);
    const [job] = await binding.claim(1, 5000);
    expect(job).toMatchObject({ id, attempts: 1 });
    await binding.ack(job);
    await binding.close();
  });

  test('a message that is not a job goes to the dead letters with the reason, never to a worker', async () => {
    const urls = await createQueues();
    const binding = createSqsBinding({ ...urls, client: clientFor() });
    await admin.send(new SendMessageCommand({ QueueUrl: urls.queueUrl, MessageBody: '{"hello":' }));
    expect(await binding.claim(1, 5000)).toEqual([]);
    const [dead] = await binding.listDeadLetters();
    expect(dead.lastError).toMatch(/body is not JSON/);
    expect((await binding.depth()).dead).toBe(1);
    await binding.close();
  });

  test('bad input is refused with a message: a delay beyond 15 minutes, an oversized job, an unknown kind', async () => {
    const urls = await createQueues();
    const binding = createSqsBinding({ ...urls, client: clientFor() });
    await expect(binding.enqueue({ kind: 'sync', payload: {} }, { delayMs: 901_000 })).rejects.toThrow(/longest delay/);
    await expect(binding.enqueue({ kind: 'sync', payload: 'x'.repeat(300 * 1024) })).rejects.toThrow(/at most 262144/);
    await expect(binding.enqueue({ kind: 'nope' as 'sync', payload: {} })).rejects.toThrow(/kind: Invalid enum value/);
    expect(() => createSqsBinding({ ...urls, client: clientFor(), waitTimeSeconds: 21 })).toThrow(/waitTimeSeconds/);
    expect(await binding.depth()).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 });
    await binding.close();
  });
});
