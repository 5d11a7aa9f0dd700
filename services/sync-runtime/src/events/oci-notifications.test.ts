/**
 * The OCI Notifications binding against a local PublishMessage that checks OCI request signatures:
 * the outbox's events reach the topic as CloudEvents batches signed with the resource principal the
 * container instance's variables describe, and a refused signature leaves them in the outbox.
 */
import { generateKeyPairSync, randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import pino from 'pino';
import { cloudEventSchema, cloudEvent } from '@data-sync/config/events';
import { migrate, openPostgres, type Db } from '@data-sync/pipelines/db';
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { ConfigError } from '../config-error';
import { MIGRATIONS } from '../store/migrations';
import { addEvent, createOutboxRepository } from '../store/outbox-repository';
import { createOciNotificationsBus, ONS_MESSAGE_LIMIT_BYTES, onsMessage, packOnsMessages } from './oci-notifications';
import { resourcePrincipalKey } from '@data-sync/monitoring/oci-signing';
import { eventBusOptionsFromEnv } from './open-bus';
import { createEventPublisher } from './publisher';
import { type FakeOns, startFakeOns } from './testing/fake-ons';

const TOPIC = 'ocid1.onstopic.oc1.iad.aaaaaaaaexampletopic';

/** A container instance's resource principal: the session token and key as files, as OCI mounts them. */
function resourcePrincipal(dir: string) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const token = `rpst-${randomUUID()}`;
  fs.writeFileSync(path.join(dir, 'rpst.token'), token);
  fs.writeFileSync(path.join(dir, 'rpst.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const env = {
    OCI_RESOURCE_PRINCIPAL_VERSION: '2.2',
    OCI_RESOURCE_PRINCIPAL_RPST: path.join(dir, 'rpst.token'),
    OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM: path.join(dir, 'rpst.pem'),
    OCI_RESOURCE_PRINCIPAL_REGION: 'us-ashburn-1',
  };
  return { token, publicKey, env };
}

describeWithService('OCI Notifications bus (signature-checking PublishMessage)', TEST_DATABASE_URL, () => {
  const scratch = scratchDatabase('oci_notifications_bus');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oci-rp-'));
  const principal = resourcePrincipal(dir);
  let db: Db;
  let ons: FakeOns;

  beforeAll(async () => {
    await scratch.create();
    db = openPostgres(scratch.url, { max: 2 });
    await migrate(db, MIGRATIONS);
    ons = await startFakeOns({ token: principal.token, publicKey: principal.publicKey });
  });
  afterAll(async () => {
    await ons?.close();
    await db?.close();
    await scratch.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const publisherWith = (env: NodeJS.ProcessEnv) =>
    createEventPublisher({
      outbox: createOutboxRepository(db),
      bus: createOciNotificationsBus({
        topicId: TOPIC,
        endpoint: ons.url,
        signingKey: () => resourcePrincipalKey(env),
      }),
      source: '/data-sync/test',
      logger: pino({ level: 'silent' }),
    });

  test("the outbox's events reach the topic whole, as one RAW_TEXT CloudEvents batch signed by the resource principal", async () => {
    await db.transaction(async (tx) => {
      await addEvent(tx, { type: 'sync.run.failed', subject: 'crm', data: { runId: 'r1', error: 'boom' } });
      await addEvent(tx, { type: 'sync.records.changed', subject: 'crm', data: { model: 'contacts', count: 2 } });
    });
    expect(await publisherWith(principal.env).drain()).toBe(2);
    expect(ons.refused).toEqual([]);
    expect(ons.messages).toHaveLength(1);
    const [message] = ons.messages;
    expect({ topicId: message.topicId, messageType: message.messageType }).toEqual({
      topicId: TOPIC,
      messageType: 'RAW_TEXT',
    });
    for (const event of message.events) expect(cloudEventSchema.parse(event)).toEqual(event);
    expect(message.events.map((e) => [e.type, e.subject, e.data])).toEqual([
      ['com.datasync.sync.run.failed', 'crm', { runId: 'r1', error: 'boom' }],
      ['com.datasync.sync.records.changed', 'crm', { model: 'contacts', count: 2 }],
    ]);
    expect(await createOutboxRepository(db).pending()).toBe(0);
  });

  test('a renewed session token is used from the next publish on (the files are read again)', async () => {
    const mounted = resourcePrincipal(fs.mkdtempSync(path.join(dir, 'mounted-')));
    const renewed = resourcePrincipal(fs.mkdtempSync(path.join(dir, 'renewed-')));
    const topic = await startFakeOns({ token: renewed.token, publicKey: renewed.publicKey });
    try {
      await db.transaction((tx) => addEvent(tx, { type: 'sync.run.succeeded', subject: 'crm', data: { runId: 'r2' } }));
      const publisher = createEventPublisher({
        outbox: createOutboxRepository(db),
        bus: createOciNotificationsBus({
          topicId: TOPIC,
          endpoint: topic.url,
          signingKey: () => resourcePrincipalKey(mounted.env),
        }),
        source: '/data-sync/test',
        logger: pino({ level: 'silent' }),
      });
      await expect(publisher.drain()).rejects.toThrow(/answered 401: keyId is not the trusted session token/);
      // The platform rewrites the mounted files when it renews the principal.
      fs.copyFileSync(renewed.env.OCI_RESOURCE_PRINCIPAL_RPST, mounted.env.OCI_RESOURCE_PRINCIPAL_RPST);
      fs.copyFileSync(renewed.env.OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM, mounted.env.OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM);
      expect(await publisher.drain()).toBe(1);
      expect((await topic.events(1)).map((e) => e.data)).toEqual([{ runId: 'r2' }]);
    } finally {
      await topic.close();
    }
  });

  test('a signature the topic refuses fails the publish and leaves the events in the outbox', async () => {
    const stranger = resourcePrincipal(fs.mkdtempSync(path.join(dir, 'stranger-')));
    await db.transaction((tx) => addEvent(tx, { type: 'queue.dead_lettered', subject: 'crm', data: { jobId: 'j1' } }));
    await expect(publisherWith(stranger.env).drain()).rejects.toThrow(/OCI Notifications publish to .* answered 401/);
    expect(await createOutboxRepository(db).pending()).toBe(1);
  });

  test('outside a container instance (no resource principal) the publish fails naming the variable', async () => {
    await expect(publisherWith({}).drain()).rejects.toThrow(/OCI_RESOURCE_PRINCIPAL_VERSION is null, not "2.2"/);
    expect(await createOutboxRepository(db).pending()).toBe(1);
  });
});

describe('OCI Notifications message packing', () => {
  const big = (n: number) =>
    cloudEvent({
      id: randomUUID(),
      source: '/data-sync/test',
      type: 'sync.records.changed',
      time: new Date(),
      data: { blob: 'x'.repeat(n) },
    });

  test('events are packed into as few messages as fit 64 KiB, in order, none split', () => {
    const events = Array.from({ length: 10 }, () => big(15_000));
    const messages = packOnsMessages(events);
    expect(messages.length).toBe(3);
    expect(messages.flat()).toEqual(events);
    for (const m of messages) expect(Buffer.byteLength(onsMessage(m))).toBeLessThanOrEqual(ONS_MESSAGE_LIMIT_BYTES);
  });

  test('the size is counted exactly with escaped and multi-byte text: each message is full up to the next event', () => {
    const events = Array.from({ length: 40 }, (_, i) =>
      cloudEvent({
        id: randomUUID(),
        source: '/data-sync/test',
        type: 'sync.records.changed',
        time: new Date(),
        data: { text: `"quoted" \\ back\nslash é 漢字 ${'x'.repeat(1_000 + i * 97)}` },
      }),
    );
    const messages = packOnsMessages(events);
    expect(messages.flat()).toEqual(events);
    for (const [i, m] of messages.entries()) {
      expect(Buffer.byteLength(onsMessage(m))).toBeLessThanOrEqual(ONS_MESSAGE_LIMIT_BYTES);
      if (i + 1 < messages.length)
        expect(Buffer.byteLength(onsMessage([...m, messages[i + 1][0]]))).toBeGreaterThan(ONS_MESSAGE_LIMIT_BYTES);
    }
  });

  test('an event larger than a message is refused with its id', () => {
    const event = big(70_000);
    expect(() => packOnsMessages([event])).toThrow(`event ${event.id} is larger than an OCI Notifications message`);
  });
});

describe('OCI bus configuration', () => {
  const complete = {
    DATA_SYNC_EVENTS: 'oci',
    DATA_SYNC_EVENTS_TARGET: TOPIC,
    DATA_SYNC_OCI_NOTIFICATIONS_ENDPOINT: 'https://cell1.notification.us-ashburn-1.oci.oraclecloud.com',
  };

  test('the topic OCID and its endpoint open the bus', () => {
    expect(eventBusOptionsFromEnv(complete, 'prod')).toEqual({
      kind: 'oci',
      source: '/data-sync/prod',
      leaseMs: 30_000,
      topicId: TOPIC,
      endpoint: complete.DATA_SYNC_OCI_NOTIFICATIONS_ENDPOINT,
    });
  });

  test.each([
    [{ DATA_SYNC_EVENTS_TARGET: '' }, 'DATA_SYNC_EVENTS_TARGET', /is required when DATA_SYNC_EVENTS is "oci"/],
    [{ DATA_SYNC_OCI_NOTIFICATIONS_ENDPOINT: '' }, 'DATA_SYNC_OCI_NOTIFICATIONS_ENDPOINT', /topic's API endpoint/],
    [{ DATA_SYNC_OCI_NOTIFICATIONS_ENDPOINT: 'cell1' }, 'DATA_SYNC_OCI_NOTIFICATIONS_ENDPOINT', /https URL/],
  ])('%j is refused naming %s', (override, variable, message) => {
    let error: unknown;
    try {
      eventBusOptionsFromEnv({ ...complete, ...override });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message).toMatch(message);
  });
});
