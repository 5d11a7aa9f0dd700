/**
 * The IBM Event Notifications binding against local stand-ins of IAM and Send Notifications: the
 * outbox's events arrive as CloudEvents with the source id and severity the service routes on, under a
 * bearer token obtained once for the service ID's API key and renewed only when due.
 */
import pino from 'pino';
import { EVENT_TYPE_PREFIX } from '@data-sync/config/events';
import { migrate, openPostgres, type Db } from '@data-sync/pipelines/db';
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { ConfigError } from '../config-error';
import { MIGRATIONS } from '../store/migrations';
import { addEvent, createOutboxRepository } from '../store/outbox-repository';
import { createIbmEventNotificationsBus } from './ibm-event-notifications';
import { ibmIamToken } from './ibm-iam-token';
import { eventBusOptionsFromEnv } from './open-bus';
import { createEventPublisher } from './publisher';
import { type FakeIbmCloud, startFakeIbmCloud } from './testing/fake-ibm-cloud';

const INSTANCE = '3f2c9a4e-0d1b-4c6e-9a7f-2b8d5e1c0a94';
const SOURCE_ID = 'c7a1e0b2-5d3f-4e8a-b9c6-1f2e3d4c5b6a:api';
const API_KEY = 'service-id-api-key-for-tests';

describeWithService('IBM Event Notifications bus (local IAM and Send Notifications)', TEST_DATABASE_URL, () => {
  const scratch = scratchDatabase('ibm_event_notifications_bus');
  let db: Db;
  let ibm: FakeIbmCloud;

  beforeAll(async () => {
    await scratch.create();
    db = openPostgres(scratch.url, { max: 2 });
    await migrate(db, MIGRATIONS);
    ibm = await startFakeIbmCloud({ apiKey: API_KEY });
  });
  afterAll(async () => {
    await ibm?.close();
    await db?.close();
    await scratch.drop();
  });

  const publisherWith = (token: () => Promise<string>) =>
    createEventPublisher({
      outbox: createOutboxRepository(db),
      bus: createIbmEventNotificationsBus({ instanceId: INSTANCE, sourceId: SOURCE_ID, url: ibm.enUrl, token }),
      source: '/data-sync/test',
      logger: pino({ level: 'silent' }),
    });

  test("the outbox's events arrive as CloudEvents with the API source id and a severity, under one IAM token", async () => {
    await db.transaction(async (tx) => {
      await addEvent(tx, { type: 'sync.run.failed', subject: 'crm', data: { runId: 'r1', error: 'boom' } });
      await addEvent(tx, { type: 'sync.run.succeeded', subject: 'crm', data: { runId: 'r2' } });
    });
    const token = ibmIamToken({ apiKey: API_KEY, iamUrl: ibm.iamUrl });
    expect(await publisherWith(token).drain()).toBe(2);
    await db.transaction((tx) => addEvent(tx, { type: 'sync.records.changed', subject: 'crm', data: { count: 1 } }));
    expect(await publisherWith(token).drain()).toBe(1);

    expect(ibm.tokensIssued()).toBe(1);
    expect(ibm.notifications.map((n) => n.instanceId)).toEqual([INSTANCE, INSTANCE, INSTANCE]);
    const [failed, succeeded, changed] = ibm.notifications.map((n) => n.body);
    expect(failed).toEqual({
      specversion: '1.0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      source: '/data-sync/test',
      type: `${EVENT_TYPE_PREFIX}sync.run.failed`,
      subject: 'crm',
      time: expect.any(String),
      datacontenttype: 'application/json',
      data: { runId: 'r1', error: 'boom' },
      ibmensourceid: SOURCE_ID,
      ibmenseverity: 'HIGH',
      ibmendefaultshort: `${EVENT_TYPE_PREFIX}sync.run.failed`,
      ibmendefaultlong: `${EVENT_TYPE_PREFIX}sync.run.failed (crm) from /data-sync/test`,
    });
    expect([succeeded.ibmenseverity, changed.ibmenseverity]).toEqual(['LOW', 'LOW']);
    expect(await createOutboxRepository(db).pending()).toBe(0);
  });

  test('a token past 80% of its lifetime is renewed before the next send', async () => {
    let now = Date.now();
    const token = ibmIamToken({ apiKey: API_KEY, iamUrl: ibm.iamUrl, now: () => now });
    const before = ibm.tokensIssued();
    const first = await token();
    now += 2_879_000; // 3600 s x 0.8, less a second
    expect(await token()).toBe(first);
    now += 2_000;
    expect(await token()).not.toBe(first);
    expect(ibm.tokensIssued()).toBe(before + 2);
  });

  test('a key IAM refuses fails the publish with its message and leaves the events in the outbox', async () => {
    await db.transaction((tx) => addEvent(tx, { type: 'queue.dead_lettered', subject: 'crm', data: { jobId: 'j1' } }));
    const token = ibmIamToken({ apiKey: 'a-deleted-key', iamUrl: ibm.iamUrl });
    await expect(publisherWith(token).drain()).rejects.toThrow(
      'IBM Cloud IAM answered 400: Provided API key could not be found.',
    );
    expect(await createOutboxRepository(db).pending()).toBe(1);
  });

  test('a token Event Notifications refuses fails the publish and leaves the events in the outbox', async () => {
    await expect(publisherWith(async () => 'forged-token').drain()).rejects.toThrow(
      /IBM Event Notifications answered 401 for event .*: token not issued here/,
    );
    expect(await createOutboxRepository(db).pending()).toBe(1);
  });
});

describe('IBM bus configuration', () => {
  const complete = {
    DATA_SYNC_EVENTS: 'ibm',
    DATA_SYNC_EVENTS_TARGET: INSTANCE,
    DATA_SYNC_IBM_EN_SOURCE_ID: SOURCE_ID,
    DATA_SYNC_IBM_EN_API_KEY: API_KEY,
    DATA_SYNC_IBM_EN_URL: 'https://us-south.event-notifications.cloud.ibm.com/event-notifications',
  };

  test('the stack-given variables open the bus; IAM is the public one unless overridden', () => {
    expect(eventBusOptionsFromEnv(complete, 'prod')).toEqual({
      kind: 'ibm',
      source: '/data-sync/prod',
      leaseMs: 30_000,
      instanceId: INSTANCE,
      sourceId: SOURCE_ID,
      apiKey: API_KEY,
      url: complete.DATA_SYNC_IBM_EN_URL,
    });
  });

  test.each([
    [{ DATA_SYNC_EVENTS_TARGET: 'events' }, 'DATA_SYNC_EVENTS_TARGET', /instance GUID/],
    [{ DATA_SYNC_IBM_EN_SOURCE_ID: '' }, 'DATA_SYNC_IBM_EN_SOURCE_ID', /API source id/],
    [{ DATA_SYNC_IBM_EN_API_KEY: '' }, 'DATA_SYNC_IBM_EN_API_KEY', /events service ID/],
    [{ DATA_SYNC_IBM_EN_URL: 'us-south' }, 'DATA_SYNC_IBM_EN_URL', /must be an https URL/],
    [{ DATA_SYNC_IBM_IAM_URL: 'iam' }, 'DATA_SYNC_IBM_IAM_URL', /must be an https URL/],
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
