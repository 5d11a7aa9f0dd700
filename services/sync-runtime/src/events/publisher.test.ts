/**
 * What the runtime tells the internal services, through the outbox onto the in-process bus: each event
 * type from the change that causes it, as a valid CloudEvents 1.0 envelope, and a bus that refuses gets
 * the same events (same ids) again.
 */
import { cloudEventSchema, type CloudEvent } from '@data-sync/config/events';
import { runBatch } from '@data-sync/pipelines/batch';
import { sfTime, toSalesforce } from '@data-sync/pipelines/testing/generate';
import { bearer, createHarness, type Harness } from '../api/testing/harness';
import { createOutboxRepository } from '../store/outbox-repository';
import { createInProcessBus } from './inprocess';
import { createEventPublisher } from './publisher';

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ logLevel: 'warn' });
});
afterAll(() => h.close());

/** Publishes everything pending to a fresh in-process bus and returns what it delivered. */
async function drainEvents(): Promise<CloudEvent[]> {
  const bus = createInProcessBus();
  const seen: CloudEvent[] = [];
  bus.subscribe((e) => void seen.push(e));
  const publisher = createEventPublisher({
    outbox: createOutboxRepository(h.db),
    bus,
    source: '/data-sync/test',
    logger: h.app.log as never,
  });
  await publisher.drain();
  return seen;
}

test('a run, a quarantine, a model change and a dead letter each publish their CloudEvent', async () => {
  await drainEvents();
  await h.inject({
    method: 'POST',
    url: '/api/integrations',
    headers: bearer(h.auth.admin),
    payload: {
      name: 'crm',
      system: 'demo',
      objects: ['contacts'],
      config: {
        baseUrl: 'http://127.0.0.1:1',
        apiKey: 'key-live-0123456789',
        webhookSecret: 'whsec-abcdefghijkl',
      },
    },
  });
  const { runId } = (
    await h.inject({ method: 'POST', url: '/api/sync/trigger/crm', headers: bearer(h.auth.operator), payload: {} })
  ).json();
  await h.drain();
  await runBatch(h.db, {
    integration: 'salesforce',
    mapping: 'salesforce_to_internal.Contact',
    records: [
      toSalesforce(
        {
          email: 'ok@example.com',
          first_name: 'a',
          last_name: 'b',
          phone: null,
          company_name: null,
          created_at: null,
          updated_at: sfTime(1),
        },
        1,
      ),
      toSalesforce(
        {
          email: 'not-an-email',
          first_name: 'a',
          last_name: 'b',
          phone: null,
          company_name: null,
          created_at: null,
          updated_at: sfTime(1),
        },
        2,
      ),
    ],
  });
  // A job that fails every delivery (the harness's queue allows two) is dead-lettered.
  await h.queue.enqueue({ kind: 'pipeline', payload: {} });
  while ((await h.db.query("SELECT 1 FROM event_outbox WHERE type = 'queue.dead_lettered'")).rows.length === 0)
    await h.drain();

  const events = await drainEvents();
  for (const e of events) expect(cloudEventSchema.safeParse(e).success).toBe(true);
  const types = new Set(events.map((e) => e.type));
  expect([...types].sort()).toEqual(
    [
      'com.datasync.pipeline.record.quarantined',
      'com.datasync.queue.dead_lettered',
      'com.datasync.sync.records.changed',
      'com.datasync.sync.run.succeeded',
    ].sort(),
  );
  const run = events.find((e) => e.type === 'com.datasync.sync.run.succeeded')!;
  expect(run).toMatchObject({
    specversion: '1.0',
    source: '/data-sync/test',
    subject: 'crm',
    data: { runId, integration: 'crm', status: 'succeeded' },
  });
  const changed = events.find((e) => e.type === 'com.datasync.sync.records.changed' && e.subject === 'contacts')!;
  expect(changed.data).toMatchObject({ entity: 'contacts', operation: 'insert', count: 1 });
  expect(JSON.stringify(events)).not.toContain('ok@example.com');
  expect(events.find((e) => e.type === 'com.datasync.queue.dead_lettered')!.data).toMatchObject({ kind: 'pipeline' });
  // Published once: nothing is left for the next drain.
  expect(await drainEvents()).toEqual([]);
});

test('a bus that refuses keeps the events, and the retry carries the same ids', async () => {
  await drainEvents();
  await h.db.query("INSERT INTO contacts (email) VALUES ('retry@example.com')");
  const refusing = createInProcessBus();
  const refused: string[] = [];
  refusing.subscribe((e) => {
    refused.push(e.id);
    throw new Error('consumer down');
  });
  const outbox = createOutboxRepository(h.db);
  const publisher = createEventPublisher({
    outbox,
    bus: refusing,
    source: '/data-sync/test',
    logger: h.app.log as never,
  });
  await expect(publisher.drain()).rejects.toThrow('consumer down');
  expect(await outbox.pending()).toBe(1);
  const delivered = await drainEvents();
  expect(delivered.map((e) => e.id)).toEqual(refused);
});
