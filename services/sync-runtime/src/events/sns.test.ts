/**
 * The SNS bus against fauxqs (SNS and SQS), set up as the synthesized AWS stack declares it (run
 * `npm run synth` first; test/support/aws-event-bus.ts): the topic, and each service's queue
 * subscribed with the stack's filter policy, scope and raw delivery. Events published from the outbox reach each service's queue as raw CloudEvents,
 * only its types; an event SNS cannot take stays in the outbox while the others are marked published.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomUUID } from 'crypto';
import { SNSClient } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import pino from 'pino';
import {
  cloudEvent,
  cloudEventSchema,
  EVENT_CONSUMERS,
  EVENT_TYPES,
  type CloudEvent,
  type EventConsumer,
  type EventType,
} from '@data-sync/config/events';
import { migrate, openPostgres, type Db } from '@data-sync/pipelines/db';
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { startFauxqs } from '@data-sync/test-services/fauxqs';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { declareAwsEventBus } from '../../test/support/aws-event-bus';
import { ConfigError } from '../config-error';
import { MIGRATIONS } from '../store/migrations';
import { addEvent, createOutboxRepository } from '../store/outbox-repository';
import { UndeliveredEventsError } from './bus';
import { eventBusOptionsFromEnv } from './open-bus';
import { createEventPublisher } from './publisher';
import { createSnsBus, SNS_MAX_BYTES } from './sns';

const ROOT = path.resolve(__dirname, '../../../..');
const REGION = 'us-east-1';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The synthesized AWS stack (the first environment's) from cdktf.out. */
function synthesizedAwsStack(): unknown {
  const stacks = path.join(ROOT, 'cdktf.out', 'stacks');
  const stack = fs.existsSync(stacks) ? fs.readdirSync(stacks).find((s) => s.startsWith('data-sync-aws-')) : undefined;
  if (!stack) throw new Error(`no AWS stack under ${stacks}: run \`npm run synth\` first`);
  return JSON.parse(fs.readFileSync(path.join(stacks, stack, 'cdk.tf.json'), 'utf8'));
}

const event = (type: EventType, data: Record<string, unknown> = {}): CloudEvent =>
  cloudEvent({ id: randomUUID(), source: '/data-sync/test', type, subject: 'crm', time: new Date(), data });

describe('the SNS bus at the SDK boundary', () => {
  const fakeClient = (answer: (entries: { Id?: string }[], call: number) => unknown) => {
    const calls: { Id?: string; Message?: string }[][] = [];
    return {
      calls,
      client: {
        send: async (command: { input: { PublishBatchRequestEntries: { Id?: string; Message?: string }[] } }) => {
          calls.push(command.input.PublishBatchRequestEntries);
          return answer(command.input.PublishBatchRequestEntries, calls.length);
        },
        destroy: () => undefined,
      } as never,
    };
  };

  test('publishes in calls of at most 10 entries and 256 KiB, in order', async () => {
    const { calls, client } = fakeClient((entries) => ({ Successful: entries.map((e) => ({ Id: e.Id })) }));
    const small = Array.from({ length: 13 }, (_, i) => event('sync.records.changed', { i }));
    const large = Array.from({ length: 5 }, (_, i) => event('sync.run.succeeded', { i, blob: 'x'.repeat(100_000) }));
    await createSnsBus({ topicArn: 'arn:aws:sns:us-east-1:123456789012:t', client }).publish([...small, ...large]);
    expect(calls.map((c) => c.length)).toEqual([10, 5, 2, 1]);
    for (const call of calls)
      expect(call.reduce((n, e) => n + Buffer.byteLength(e.Message!), 0)).toBeLessThanOrEqual(SNS_MAX_BYTES);
    expect(calls.flat().map((e) => e.Id)).toEqual([...small, ...large].map((e) => e.id));
  });

  test('names only the entries SNS refused, and a failed call its own and the later batches', async () => {
    const events = Array.from({ length: 25 }, () => event('sync.run.failed'));
    const { client } = fakeClient((entries, call) => {
      if (call === 2) throw new Error('Rate exceeded');
      return {
        Successful: entries.slice(1).map((e) => ({ Id: e.Id })),
        Failed: [{ Id: entries[0].Id, Code: 'InternalError', Message: 'try again', SenderFault: false }],
      };
    });
    const error = await createSnsBus({ topicArn: 'arn:aws:sns:us-east-1:123456789012:t', client })
      .publish(events)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UndeliveredEventsError);
    const undelivered = (error as UndeliveredEventsError).undelivered;
    expect([...undelivered.keys()]).toEqual([events[0].id, ...events.slice(10).map((e) => e.id)]);
    expect(undelivered.get(events[0].id)).toMatch(/InternalError: try again/);
    expect(undelivered.get(events[10].id)).toMatch(/Rate exceeded/);
  });
});

describe('DATA_SYNC_EVENTS=sns', () => {
  test('takes the topic ARN and publishes in its region', () => {
    const arn = 'arn:aws:sns:eu-central-1:123456789012:data-sync-prod-events';
    expect(eventBusOptionsFromEnv({ DATA_SYNC_EVENTS: 'sns', DATA_SYNC_EVENTS_TARGET: arn }, 'prod')).toMatchObject({
      kind: 'sns',
      topicArn: arn,
      region: 'eu-central-1',
      source: '/data-sync/prod',
    });
  });

  test.each([undefined, 'data-sync-prod-events', 'arn:aws:sqs:us-east-1:123456789012:q'])(
    'refuses the target %p, naming the variable',
    (target) => {
      expect(() => eventBusOptionsFromEnv({ DATA_SYNC_EVENTS: 'sns', DATA_SYNC_EVENTS_TARGET: target })).toThrow(
        ConfigError,
      );
      expect(() => eventBusOptionsFromEnv({ DATA_SYNC_EVENTS: 'sns', DATA_SYNC_EVENTS_TARGET: target })).toThrow(
        /DATA_SYNC_EVENTS_TARGET/,
      );
    },
  );
});

describeWithService('the SNS bus on fauxqs, subscribed as the AWS stack declares', TEST_DATABASE_URL, () => {
  const stack = synthesizedAwsStack();
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
