/**
 * Each bus binding against what can run here: the Pub/Sub emulator (per-service filtered subscriptions),
 * Miniflare's Queues (one queue per service), Service Bus at the SDK boundary (no emulator runs here),
 * and the signed webhook against a local receiver.
 */
import { createHmac, randomUUID } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { Miniflare } from 'miniflare';
import { ServiceBusClient, type ServiceBusMessage, type ServiceBusMessageBatch } from '@azure/service-bus';
import { type ServiceBusFake, startServiceBusFake } from '@data-sync/test-services';
import { cloudEvent, EVENT_CONSUMERS, type CloudEvent, type EventType } from '@data-sync/config/events';
import { ConfigError } from '../config-error';
import { cloudflareEventBinding, createCloudflareQueueBus, type QueueProducer } from './cloudflare';
import { eventBusOptionsFromEnv } from './open-bus';
import { createPubsubBus } from './pubsub';
import { createServiceBusBus } from './servicebus';
import { createWebhookBus } from './webhook';
import { describeWithPubsubEmulator, startPubsubEmulator } from '@data-sync/test-services/pubsub-emulator';

const event = (type: EventType, data: Record<string, unknown> = {}): CloudEvent =>
  cloudEvent({ id: randomUUID(), source: '/data-sync/test', type, subject: 'crm', time: new Date(), data });

/** A local HTTP server that records JSON bodies and resolves waiters once `n` have come. */
async function startRecorder(answer = 200) {
  const bodies: { path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  let waiters: { n: number; resolve: () => void }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push({ path: req.url!, headers: req.headers, body });
      waiters = waiters.filter((w) => (bodies.length >= w.n ? (w.resolve(), false) : true));
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    received: (n: number) =>
      new Promise<void>((resolve) => (bodies.length >= n ? resolve() : waiters.push({ n, resolve }))),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('webhook bus', () => {
  test('each service gets a signed batch of only its types; a refusal fails the delivery', async () => {
    const recorder = await startRecorder();
    const secret = 'a-signing-secret-of-length';
    const bus = createWebhookBus({
      secret,
      now: () => 1_700_000_000_000,
      targets: [
        { consumer: 'notifications', url: `${recorder.url}/notify` },
        { consumer: 'ai_advisor', url: `${recorder.url}/advisor` },
      ],
    });
    const failed = event('sync.run.failed', { runId: 'r1' });
    const changed = event('sync.records.changed', { entity: 'contacts' });
    await bus.publish([failed, changed]);
    expect(recorder.bodies.map((b) => [b.path, JSON.parse(b.body).map((e: CloudEvent) => e.id)])).toEqual([
      ['/notify', [failed.id]],
      ['/advisor', [changed.id]],
    ]);
    const { headers, body } = recorder.bodies[0];
    expect(headers['content-type']).toBe('application/cloudevents-batch+json');
    const mac = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(headers['x-data-sync-signature']).toBe(`t=1700000000,v1=${mac}`);
    await recorder.close();

    const refusing = await startRecorder(503);
    const down = createWebhookBus({ secret, targets: [{ consumer: 'notifications', url: refusing.url }] });
    await expect(down.publish([failed])).rejects.toThrow('webhook notifications answered 503');
    await refusing.close();
  });
});

describe('Service Bus bus (SDK boundary)', () => {
  test('events go as structured CloudEvents with the event id as message id and the type as subject, split into batches that fit', async () => {
    const sent: ServiceBusMessage[][] = [];
    const MAX = 2;
    interface FakeBatch {
      messages: ServiceBusMessage[];
      readonly count: number;
      tryAddMessage(m: ServiceBusMessage): boolean;
    }
    const sender = {
      async createMessageBatch(): Promise<FakeBatch> {
        const messages: ServiceBusMessage[] = [];
        return {
          messages,
          get count() {
            return messages.length;
          },
          tryAddMessage(m: ServiceBusMessage) {
            if (messages.length >= MAX) return false;
            messages.push(m);
            return true;
          },
        };
      },
      async sendMessages(batch: FakeBatch) {
        sent.push(batch.messages);
      },
      close: async () => undefined,
    };
    const events = [event('sync.run.succeeded'), event('sync.run.failed'), event('queue.dead_lettered')];
    await createServiceBusBus<FakeBatch>({ sender }).publish(events);
    expect(sent.map((b) => b.length)).toEqual([2, 1]);
    expect(sent.flat().map((m) => [m.messageId, m.subject, (m.body as CloudEvent).id])).toEqual(
      events.map((e) => [e.id, e.type, e.id]),
    );
    expect(sent[0][0].contentType).toMatch(/^application\/cloudevents\+json/);
  });
});

describe('Service Bus bus through @azure/service-bus against the AMQP fake', () => {
  let fake: ServiceBusFake;
  beforeAll(async () => {
    fake = await startServiceBusFake();
  });
  afterAll(() => fake.close());

  test("events reach the subscriptions whose correlation rules name their type, as CloudEvents the topic's duplicate detection keeps once", async () => {
    fake.createTopic('events', { duplicateDetectionMs: 60_000 });
    for (const [consumer, { types }] of Object.entries(EVENT_CONSUMERS))
      fake.createSubscription('events', consumer, { subjects: types.map((t) => `com.datasync.${t}`) });
    const client = new ServiceBusClient(fake.connectionString);
    const bus = createServiceBusBus<ServiceBusMessageBatch>({
      sender: client.createSender('events'),
      close: () => client.close(),
    });
    const events = [event('sync.run.succeeded'), event('sync.records.changed'), event('queue.dead_lettered')];
    await bus.publish(events);
    // A redelivery from the outbox carries the same event ids.
    await bus.publish(events.slice(0, 1));
    await bus.close();
    for (const [consumer, { types }] of Object.entries(EVENT_CONSUMERS)) {
      const wanted = events.filter((e) => (types as readonly string[]).includes(e.type.replace('com.datasync.', '')));
      const got = fake.messages(`events/Subscriptions/${consumer}`);
      expect({ consumer, got: got.map((m) => [m.messageId, m.subject, (m.body as CloudEvent).id]) }).toEqual({
        consumer,
        got: wanted.map((e) => [e.id, e.type, e.id]),
      });
      for (const m of got)
        expect(m.applicationProperties).toMatchObject({
          'cloudEvents:specversion': '1.0',
          'cloudEvents:id': m.messageId,
        });
    }
  });
});

describe('Cloudflare Queues bus (Miniflare)', () => {
  let mf: Miniflare;
  let recorder: Awaited<ReturnType<typeof startRecorder>>;
  const consumers = Object.keys(EVENT_CONSUMERS) as (keyof typeof EVENT_CONSUMERS)[];
  beforeAll(async () => {
    recorder = await startRecorder();
    mf = new Miniflare({
      modules: true,
      compatibilityDate: '2024-09-23',
      script: `export default {
        async fetch() { return new Response('ok'); },
        async queue(batch, env) {
          for (const m of batch.messages) {
            await fetch(env.SINK + '/' + batch.queue, { method: 'POST', body: JSON.stringify(m.body) });
            m.ack();
          }
        },
      };`,
      bindings: { SINK: recorder.url },
      queueProducers: Object.fromEntries(consumers.map((c) => [cloudflareEventBinding(c), `events-${c}`])),
      queueConsumers: Object.fromEntries(consumers.map((c) => [`events-${c}`, { maxBatchTimeout: 0.05 }])),
    });
    await mf.ready;
  }, 60_000);
  afterAll(async () => {
    await mf?.dispose();
    await recorder?.close();
  });

  test("each service's queue receives the events of its types", async () => {
    const producers = Object.fromEntries(
      await Promise.all(consumers.map(async (c) => [c, await mf.getQueueProducer(cloudflareEventBinding(c))])),
    ) as Record<(typeof consumers)[number], QueueProducer>;
    const failed = event('sync.run.failed');
    const changed = event('sync.records.changed');
    await createCloudflareQueueBus(producers).publish([failed, changed]);
    // notifications: failed; kpi_engine: changed; ai_advisor: changed.
    await recorder.received(3);
    const got = recorder.bodies.map((b) => [b.path, (JSON.parse(b.body) as CloudEvent).id]).sort();
    expect(got).toEqual(
      [
        ['/events-ai_advisor', changed.id],
        ['/events-kpi_engine', changed.id],
        ['/events-notifications', failed.id],
      ].sort(),
    );
  });
});

describeWithPubsubEmulator('Pub/Sub bus (emulator)', () => {
  let emulator: Awaited<ReturnType<typeof startPubsubEmulator>>;
  let apiEndpoint: string;
  beforeAll(async () => {
    emulator = await startPubsubEmulator();
    apiEndpoint = emulator.apiEndpoint;
  }, 60_000);
  afterAll(() => {
    emulator?.stop();
  });

  test('events reach the topic in binary mode: the data as the body, the envelope as ce- attributes', async () => {
    const admin = new PubSub({ projectId: 'events-test', apiEndpoint });
    const [topic] = await admin.createTopic(`events-${process.pid}`);
    // The emulator ignores subscription filters (measured: a filtered subscription got every message), so the
    // stacks' filters are checked in their synth tests; here the envelope's transport is.
    const [subscription] = await topic.createSubscription(`all-${process.pid}`);
    const received: Message[] = [];
    const got = new Promise<void>((resolve) =>
      subscription.on('message', (m: Message) => {
        received.push(m);
        m.ack();
        if (received.length === 2) resolve();
      }),
    );
    const bus = createPubsubBus({ topic: topic.name.split('/').pop()!, projectId: 'events-test', apiEndpoint });
    const changed = event('sync.records.changed');
    const failed = event('sync.run.failed', { runId: 'r9' });
    await bus.publish([changed, failed]);
    await got;
    const byId = new Map(received.map((m) => [m.attributes['ce-id'], m]));
    expect([...byId.keys()].sort()).toEqual([changed.id, failed.id].sort());
    expect(byId.get(failed.id)!.attributes).toEqual({
      'ce-id': failed.id,
      'ce-type': 'com.datasync.sync.run.failed',
      'ce-specversion': '1.0',
      'ce-source': '/data-sync/test',
      'ce-subject': 'crm',
      'ce-time': failed.time,
      'content-type': 'application/json',
      event_type: 'com.datasync.sync.run.failed',
    });
    expect(JSON.parse(byId.get(failed.id)!.data.toString())).toEqual({ runId: 'r9' });
    await subscription.close();
    await bus.close();
    await admin.close();
  }, 60_000);
});

describe('bus configuration', () => {
  test.each([
    [{ DATA_SYNC_EVENTS: 'kafka' }, 'DATA_SYNC_EVENTS', /must be one of inprocess, webhook/],
    [{ DATA_SYNC_EVENTS: 'pubsub' }, 'DATA_SYNC_EVENTS_TARGET', /is required when DATA_SYNC_EVENTS is "pubsub"/],
    [{ DATA_SYNC_EVENTS: 'webhook' }, 'DATA_SYNC_EVENTS_WEBHOOK_SECRET', /at least 16 characters/],
    [
      {
        DATA_SYNC_EVENTS: 'webhook',
        DATA_SYNC_EVENTS_WEBHOOK_SECRET: 'x'.repeat(20),
        DATA_SYNC_EVENTS_WEBHOOKS: '{"billing":"http://x"}',
      },
      'DATA_SYNC_EVENTS_WEBHOOKS',
      /unknown service "billing"/,
    ],
    [{ DATA_SYNC_EVENTS: 'servicebus', DATA_SYNC_EVENTS_TARGET: 'events' }, 'DATA_SYNC_SERVICEBUS_HOST', /is required/],
    [{ DATA_SYNC_EVENTS: 'sns' }, 'DATA_SYNC_EVENTS_TARGET', /is required when DATA_SYNC_EVENTS is "sns"/],
    [{ DATA_SYNC_EVENTS: 'eventbridge' }, 'DATA_SYNC_EVENTS', /@aws-sdk\/client-eventbridge/],
    [{ DATA_SYNC_EVENTS_LEASE_MS: '5' }, 'DATA_SYNC_EVENTS_LEASE_MS', /milliseconds/],
  ])('%j is refused naming %s', (env, variable, message) => {
    let error: unknown;
    try {
      eventBusOptionsFromEnv(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message).toMatch(message);
  });

  test('the default is the in-process bus with the environment as source', () => {
    expect(eventBusOptionsFromEnv({}, 'prod')).toEqual({
      kind: 'inprocess',
      source: '/data-sync/prod',
      leaseMs: 30_000,
    });
  });
});
