import { newJobBody } from './core/body';
import { PubsubPushError, decodePubsubPush } from './pubsub-push';

const pushBody = (data: unknown, extra: object = {}) => ({
  message: {
    data: Buffer.from(JSON.stringify(data)).toString('base64'),
    attributes: {},
    messageId: '1',
    publishTime: '2026-01-02T03:04:05.000Z',
  },
  subscription: 'projects/p/subscriptions/jobs-push',
  ...extra,
});

describe('Pub/Sub push requests', () => {
  test('a push body decodes to the job it carries, with the delivery attempt Pub/Sub reports', () => {
    const body = newJobBody(
      { kind: 'webhook', integration: 'shop', payload: { order: 7 }, dedupeKey: 'order-7' },
      'job-1',
      1_700_000_000_000,
    );
    const { job, subscription, dueAt } = decodePubsubPush(pushBody(body, { deliveryAttempt: 3 }));
    expect(job).toEqual({
      id: 'job-1',
      kind: 'webhook',
      integration: 'shop',
      payload: { order: 7 },
      dedupeKey: 'order-7',
      attempts: 3,
      enqueuedAt: new Date(1_700_000_000_000),
    });
    expect(subscription).toBe('projects/p/subscriptions/jobs-push');
    expect(dueAt).toBeNull();
  });

  test('a delayed job pushed early says when it is due; a body without enqueuedAt takes the publish time', () => {
    const raw = pushBody({ id: 'j', kind: 'sync', payload: null });
    (raw.message.attributes as Record<string, string>).notBefore = '1800000000000';
    const { job, dueAt } = decodePubsubPush(raw);
    expect(job).toMatchObject({ id: 'j', attempts: 1, enqueuedAt: new Date('2026-01-02T03:04:05.000Z') });
    expect(dueAt).toEqual(new Date(1_800_000_000_000));
  });

  test.each([
    [null, /JSON object/],
    [[], /JSON object/],
    [{ subscription: 'projects/p/subscriptions/s' }, /"message" must be an object/],
    [{ message: {}, subscription: 'nope' }, /"subscription"/],
    [{ message: { data: 'e30=' }, subscription: 'projects/p/subscriptions/s' }, /messageId/],
    [{ message: { data: '***', messageId: '1' }, subscription: 'projects/p/subscriptions/s' }, /base64/],
    [
      { message: { data: 'e30=', messageId: '1', attributes: { a: 1 } }, subscription: 'projects/p/subscriptions/s' },
      /attributes/,
    ],
    [
      {
        message: { data: Buffer.from('{"id":"x","kind":"sync"}').toString('base64'), messageId: '1' },
        subscription: 'projects/p/subscriptions/s',
        deliveryAttempt: 0,
      },
      /deliveryAttempt/,
    ],
    [
      {
        message: { data: Buffer.from('not json').toString('base64'), messageId: '1' },
        subscription: 'projects/p/subscriptions/s',
      },
      /"message.data": message 1: body is not JSON/,
    ],
    [
      {
        message: { data: Buffer.from('{"id":"x","kind":"dance"}').toString('base64'), messageId: '1' },
        subscription: 'projects/p/subscriptions/s',
      },
      /not a job/,
    ],
  ])('a bad push body %j is refused naming the problem', (body, message) => {
    expect(() => decodePubsubPush(body)).toThrow(PubsubPushError);
    expect(() => decodePubsubPush(body)).toThrow(message);
  });
});
