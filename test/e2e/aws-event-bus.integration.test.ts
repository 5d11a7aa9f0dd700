/**
 * The SNS bus against fauxqs (SNS and SQS), set up as the synthesized AWS stack declares it
 * (services/sync-runtime/test/support/aws-event-bus.ts): the topic, and each service's queue subscribed
 * with the stack's filter policy, scope and raw delivery. Events published from the outbox reach each
 * service's queue as raw CloudEvents, only its types; an event SNS cannot take stays in the outbox while
 * the others are marked published.
 */
import { SNSClient } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import pino from 'pino';
import {
  cloudEventSchema,
  EVENT_CONSUMERS,
  EVENT_TYPES,
  type CloudEvent,
  type EventConsumer,
} from '@data-sync/config/events';
import { migrate, openPostgres, type Db } from '@data-sync/pipelines/db';
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { startFauxqs } from '@data-sync/test-services/fauxqs';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { UndeliveredEventsError } from '@data-sync/sync-runtime/src/events/bus';
import { createEventPublisher } from '@data-sync/sync-runtime/src/events/publisher';
import { createSnsBus, SNS_MAX_BYTES } from '@data-sync/sync-runtime/src/events/sns';
import { MIGRATIONS } from '@data-sync/sync-runtime/src/store/migrations';
import { addEvent, createOutboxRepository } from '@data-sync/sync-runtime/src/store/outbox-repository';
import { declareAwsEventBus } from '@data-sync/sync-runtime/test/support/aws-event-bus';
import { stackOf } from '../boot/support/stack-boot';

const REGION = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

describeWithService('the SNS bus on fauxqs, subscribed as the AWS stack declares', TEST_DATABASE_URL, () => {
  const stack = stackOf('aws', 'dev');
  const scratch = scratchDatabase('sns_bus');
  let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
  let sns: SNSClient;
  let sqs: SQSClient;
  let db: Db;
  let topicArn: string;
  let queueUrls: Record<EventConsumer, string>;

  beforeAll(async () => {
    await scratch.create();
    db = openPostgres(scratch.url, { max: 2 });
    await migrate(db, MIGRATIONS);
    fauxqs = await startFauxqs();
    sns = new SNSClient({ region: REGION, endpoint: fauxqs.endpoint, credentials });
    sqs = new SQSClient({ region: REGION, endpoint: fauxqs.endpoint, credentials });
    ({ topicArn, queueUrls } = await declareAwsEventBus(stack, { sns, sqs }));
  }, 60_000);
  afterAll(async () => {
    sns?.destroy();
    sqs?.destroy();
    fauxqs?.stop();
    await db?.close();
    await scratch.drop();
  });

  /** Everything on `consumer`'s queue once `count` messages are there (long polls; then one more that finds none). */
  async function drainQueue(consumer: EventConsumer, count: number) {
    const messages: { body: string; attributes: Record<string, string> }[] = [];
    for (let polls = 0; polls < 20; polls++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrls[consumer],
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: messages.length >= count ? 0 : 1,
          MessageAttributeNames: ['All'],
        }),
      );
      for (const m of Messages)
        messages.push({
          body: m.Body!,
          attributes: Object.fromEntries(
            Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue!]),
          ),
        });
      if (messages.length >= count && !Messages.length) break;
    }
    return messages;
  }

  test('each service queue gets exactly its event types, as raw CloudEvents, in batches past 10 events', async () => {
    const outbox = createOutboxRepository(db);
    // Two of every type: 12 events, so more than one PublishBatch call.
    for (const type of [...EVENT_TYPES, ...EVENT_TYPES]) await addEvent(db, { type, subject: 'crm', data: { type } });
    const publisher = createEventPublisher({
      outbox,
      bus: createSnsBus({
        topicArn,
        client: new SNSClient({ region: REGION, endpoint: fauxqs.endpoint, credentials }),
      }),
      source: '/data-sync/test',
      logger: pino({ level: 'silent' }),
    });
    expect(await publisher.drain()).toBe(12);
    const { rows } = await db.query<{ id: string; type: string }>('SELECT id::text AS id, type FROM event_outbox');
    for (const consumer of Object.keys(EVENT_CONSUMERS) as EventConsumer[]) {
      const types: readonly string[] = EVENT_CONSUMERS[consumer].types;
      const expected = rows.filter((r) => types.includes(r.type));
      const messages = await drainQueue(consumer, expected.length);
      const received = messages.map((m) => cloudEventSchema.parse(JSON.parse(m.body)));
      expect({ consumer, ids: received.map((e) => e.id).sort() }).toEqual({
        consumer,
        ids: expected.map((r) => r.id).sort(),
      });
      // Raw delivery: the body is the envelope itself, and the filter's attribute rides along.
      for (const [i, m] of messages.entries()) expect(m.attributes).toEqual({ event_type: received[i].type });
    }
    expect(await outbox.pending()).toBe(0);
  }, 60_000);

  test('an event too big for SNS stays in the outbox with its reason; the others are published once', async () => {
    const outbox = createOutboxRepository(db);
    await addEvent(db, { type: 'sync.run.failed', subject: 'big', data: { log: 'x'.repeat(SNS_MAX_BYTES) } });
    await addEvent(db, { type: 'sync.run.failed', subject: 'small', data: {} });
    const publisher = createEventPublisher({
      outbox,
      bus: createSnsBus({
        topicArn,
        client: new SNSClient({ region: REGION, endpoint: fauxqs.endpoint, credentials }),
      }),
      source: '/data-sync/test',
      logger: pino({ level: 'silent' }),
    });
    await expect(publisher.drain()).rejects.toThrow(UndeliveredEventsError);
    const { rows } = await db.query<{ subject: string; published: boolean; last_error: string | null }>(
      "SELECT subject, published_at IS NOT NULL AS published, last_error FROM event_outbox WHERE subject IN ('big', 'small') ORDER BY subject",
    );
    expect(rows).toEqual([
      { subject: 'big', published: false, last_error: expect.stringMatching(/at most 262144/) },
      { subject: 'small', published: true, last_error: null },
    ]);
    const notified = await drainQueue('notifications', 1);
    expect(notified.map((m) => (JSON.parse(m.body) as CloudEvent).subject)).toEqual(['small']);
  }, 60_000);
});
