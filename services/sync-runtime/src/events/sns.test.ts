/**
 * The SNS bus at the SDK boundary: batches of at most 10 events and 256 KiB, partial failures, and its
 * configuration. Against fauxqs, subscribed as the synthesized stack declares: test/e2e/aws-event-bus.
 */
import { randomUUID } from 'crypto';
import { cloudEvent, type CloudEvent, type EventType } from '@data-sync/config/events';
import { ConfigError } from '../config-error';
import { UndeliveredEventsError } from './bus';
import { eventBusOptionsFromEnv } from './open-bus';
import { createSnsBus, SNS_MAX_BYTES } from './sns';

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
