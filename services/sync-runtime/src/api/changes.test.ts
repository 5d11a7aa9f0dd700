import { runBatch } from '@data-sync/pipelines/batch';
import { replaceMetricDays } from '@data-sync/pipelines/analytics';
import { migrate, openPostgres, type Db } from '@data-sync/pipelines/db';
import { sfTime, toSalesforce } from '@data-sync/pipelines/testing/generate';
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';
import { createChangesRepository } from '../store/changes-repository';
import { MIGRATIONS } from '../store/migrations';
import { bearer, createHarness, type Harness } from './testing/harness';
import { streamChanges, type SseSink } from './routes/change-stream';

const contact = (email: string, first: string, minute: number) =>
  toSalesforce(
    {
      email,
      first_name: first,
      last_name: 'L',
      phone: '+4912345',
      company_name: null,
      created_at: null,
      updated_at: sfTime(minute),
    },
    minute,
  );
const upsert = (db: Db, records: Record<string, unknown>[]) =>
  runBatch(db, { integration: 'salesforce', mapping: 'salesforce_to_internal.Contact', records });

/** Reads SSE events from a streaming response until `count` change events came. */
async function readEvents(body: ReadableStream<Uint8Array>, count: number) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const events: { id: number; data: any }[] = [];
  let buffer = '';
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const id = /^id: (\d+)$/m.exec(block);
      const data = /^data: (.*)$/m.exec(block);
      if (id && data && events.length < count) events.push({ id: Number(id[1]), data: JSON.parse(data[1]) });
    }
  }
  await reader.cancel();
  return events;
}

describe('the change feed', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ logLevel: 'warn' });
  });
  afterAll(() => h.close());

  test('every insert, update and delete of the internal model gets the next position, PII masked below operator', async () => {
    const start = (await h.inject({ method: 'GET', url: '/api/changes', headers: bearer(h.auth.viewer) })).json().next;
    await upsert(h.db, [contact('ada@example.com', 'ada', 1)]);
    await upsert(h.db, [contact('ada@example.com', 'ada', 2)]);
    await replaceMetricDays(h.db, 'google_analytics', [
      { date: '20260101', dimensions: { country: 'DE' }, metrics: { activeUsers: '5' }, pullId: 'p1' },
    ]);
    await h.db.query("DELETE FROM contacts WHERE email = 'ada@example.com'");

    const viewer = await h.inject({
      method: 'GET',
      url: `/api/changes?after=${start}`,
      headers: bearer(h.auth.viewer),
    });
    expect(viewer.statusCode).toBe(200);
    const { items, next } = viewer.json();
    expect(items.map((c: any) => [c.entity, c.op])).toEqual([
      ['contacts', 'insert'],
      ['contacts', 'update'],
      ['metrics_daily', 'insert'],
      ['contacts', 'delete'],
    ]);
    expect(items.map((c: any) => c.position)).toEqual([start + 1, start + 2, start + 3, start + 4]);
    expect(next).toBe(start + 4);
    expect(items[0].key.email).not.toBe('ada@example.com');
    expect(items[0].data.email).toMatch(/\*\*\*/);
    expect(items[0].data.phone).toMatch(/\*\*\*/);
    expect(items[2].key).toMatchObject({ source: 'google_analytics', metric: 'activeUsers' });

    const operator = await h.inject({
      method: 'GET',
      url: `/api/changes?after=${start}&limit=1`,
      headers: bearer(h.auth.operator),
    });
    expect(operator.json().items).toHaveLength(1);
    expect(operator.json().items[0].data).toMatchObject({ email: 'ada@example.com', first_name: 'Ada' });
  });

  test('an erasure removes the subject from the feed and leaves the others', async () => {
    await upsert(h.db, [contact('grace@example.com', 'grace', 1), contact('edsger@example.com', 'edsger', 1)]);
    const erased = await h.inject({
      method: 'POST',
      url: '/api/compliance/erasure',
      headers: bearer(h.auth.admin),
      payload: { email: 'Grace@Example.com' },
    });
    expect(erased.statusCode).toBe(202);
    const { items } = (
      await h.inject({ method: 'GET', url: '/api/changes?limit=1000', headers: bearer(h.auth.operator) })
    ).json();
    expect(JSON.stringify(items)).not.toContain('grace@example.com');
    expect(items.some((c: any) => c.key.email === 'edsger@example.com')).toBe(true);
    const outbox = await h.db.query(
      "SELECT subject, data FROM event_outbox WHERE type = 'compliance.erasure.completed'",
    );
    expect(JSON.stringify(outbox.rows)).not.toContain('grace');
    expect(outbox.rows).toHaveLength(1);
  });

  test('bad paging input is a 400 with the reason', async () => {
    const bad = await h.inject({ method: 'GET', url: '/api/changes?after=-1', headers: bearer(h.auth.viewer) });
    expect(bad.statusCode).toBe(400);
    const header = await h.inject({
      method: 'GET',
      url: '/api/changes/stream',
      headers: { ...bearer(h.auth.viewer), 'last-event-id': 'abc' },
    });
    expect(header.statusCode).toBe(400);
    expect(header.json().message).toMatch(/Last-Event-ID/);
    const anonymous = await h.inject({ method: 'GET', url: '/api/changes' });
    expect(anonymous.statusCode).toBe(401);
  });

  test('the stream resumes from Last-Event-ID with no gap and no repeat', async () => {
    const head = (
      await h.inject({ method: 'GET', url: '/api/changes?limit=1000', headers: bearer(h.auth.viewer) })
    ).json().next;
    await upsert(
      h.db,
      [1, 2, 3].map((i) => contact(`s${i}@example.com`, `s${i}`, 1)),
    );
    const first = await fetch(`${h.url}/api/changes/stream?after=${head}`, { headers: bearer(h.auth.viewer) });
    expect(first.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const seen = await readEvents(first.body!, 2);
    expect(seen.map((e) => e.id)).toEqual([head + 1, head + 2]);

    // Changes while the client is away, then the reconnect: the third, then the new ones, in order.
    await upsert(
      h.db,
      [4, 5].map((i) => contact(`s${i}@example.com`, `s${i}`, 1)),
    );
    const again = await fetch(`${h.url}/api/changes/stream`, {
      headers: { ...bearer(h.auth.viewer), 'last-event-id': String(seen[1].id) },
    });
    const rest = await readEvents(again.body!, 3);
    expect(rest.map((e) => e.id)).toEqual([head + 3, head + 4, head + 5]);
    expect(rest.map((e) => e.data.op)).toEqual(['insert', 'insert', 'insert']);

    // Live: a change committed while the stream is open arrives on it.
    const live = await fetch(`${h.url}/api/changes/stream`, {
      headers: { ...bearer(h.auth.viewer), 'last-event-id': String(head + 5) },
    });
    const arriving = readEvents(live.body!, 1);
    await upsert(h.db, [contact('s6@example.com', 's6', 1)]);
    expect((await arriving).map((e) => e.id)).toEqual([head + 6]);
  });
});

describe('the change stream under a slow client', () => {
  test('reads no further page while the socket buffer is full, and continues on drain', async () => {
    let reads = 0;
    let written = 0;
    const listeners = new Map<string, () => void>();
    let stalled!: () => void;
    let stall = new Promise<void>((resolve) => (stalled = resolve));
    const sink: SseSink = {
      write: () => (++written, false),
      once(event, listener) {
        listeners.set(event, listener);
        if (event === 'drain') stalled();
      },
      removeListener: (event) => listeners.delete(event),
    };
    const list = async (after: number, limit: number) => {
      reads++;
      return Array.from({ length: limit }, (_, i) => ({
        position: after + i + 1,
        entity: 'contacts' as const,
        op: 'insert' as const,
        key: {},
        data: {},
        changedAt: '2026-01-01T00:00:00.000Z',
      }));
    };
    const done = streamChanges(sink, { list, present: (c) => ({ ...c }) }, 0, { pageSize: 10 });
    await stall;
    expect({ reads, written }).toEqual({ reads: 1, written: 10 });
    stall = new Promise<void>((resolve) => (stalled = resolve));
    listeners.get('drain')!();
    await stall;
    expect({ reads, written }).toEqual({ reads: 2, written: 20 });
    listeners.get('close')!();
    await done;
    expect(reads).toBe(2);
  });
});

describeWithService('the change feed on PostgreSQL', TEST_DATABASE_URL, () => {
  const scratch = scratchDatabase('change_feed');
  let db: Db;
  beforeAll(async () => {
    await scratch.create();
    db = openPostgres(scratch.url);
    await migrate(db, MIGRATIONS);
  });
  afterAll(async () => {
    await db?.close();
    await scratch.drop();
  });

  test('a transaction that commits later than a newer one is not skipped by a reader that read past the newer one', async () => {
    const changes = createChangesRepository(db);
    let releaseSlow!: () => void;
    const slowMayCommit = new Promise<void>((resolve) => (releaseSlow = resolve));
    let slowWrote!: () => void;
    const slowHasWritten = new Promise<void>((resolve) => (slowWrote = resolve));
    const slow = db.transaction(async (tx) => {
      await tx.query("INSERT INTO contacts (email, first_name) VALUES ('slow@example.com', 'Slow')");
      slowWrote();
      await slowMayCommit;
    });
    await slowHasWritten;
    await db.query("INSERT INTO contacts (email, first_name) VALUES ('fast@example.com', 'Fast')");
    const before = await changes.list(0, 100);
    expect(before.map((c) => [c.position, c.key.email])).toEqual([[1, 'fast@example.com']]);
    releaseSlow();
    await slow;
    const after = await changes.list(before[0].position, 100);
    expect(after.map((c) => [c.position, c.key.email])).toEqual([[2, 'slow@example.com']]);
  });
});
