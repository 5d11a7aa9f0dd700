import pino from 'pino';
import { ConnectorContext, ConnectorModule, IntegrationError } from '@data-sync/integrations/connector';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { FakeSource, fakeConnector, startFakeSource } from '../../test/support/fake-source';
import { TestStore, openTestPglite, openTestPostgres } from '../../test/support/store';
import { Job, QueueBinding } from '../queue/binding';
import { eventually } from '../queue/contract';
import { createStoreBinding } from '../queue/store-binding';
import {
  EngineMetrics,
  IntegrationInfo,
  RunRecord,
  SyncEngine,
  UnknownIntegrationError,
  createScheduler,
  createStoreSink,
  createSyncEngine,
  createWorker,
} from '.';

const logger = pino({ level: 'silent' });
const FAST_RETRY = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 20 };

function recordingMetrics() {
  const values = new Map<string, number>();
  const key = (metric: string, labels: Record<string, string>) => `${metric}${JSON.stringify(labels)}`;
  const metrics: EngineMetrics = {
    inc: (metric, labels, value = 1) =>
      void values.set(key(metric, labels), (values.get(key(metric, labels)) ?? 0) + value),
    observe: (metric, labels) => void values.set(key(metric, labels), (values.get(key(metric, labels)) ?? 0) + 1),
    set: (metric, labels, value) => void values.set(key(metric, labels), value),
  };
  return { metrics, get: (metric: string, labels: Record<string, string>) => values.get(key(metric, labels)) ?? 0 };
}

const record = (id: number, version = 1, extra: Record<string, unknown> = {}) => ({
  id: `r${id}`,
  name: `record ${id} v${version}`,
  updated_at: new Date(Date.UTC(2024, 0, 1, 0, version, id)).toISOString(),
  ...extra,
});

function engineSuite(open: () => Promise<TestStore>) {
  let store: TestStore;
  let source: FakeSource;
  let queueNo = 0;
  beforeAll(async () => {
    [store, source] = await Promise.all([open(), startFakeSource()]);
  });
  afterAll(async () => {
    await source.close();
    await store.drop();
  });

  /** A fresh integration (own dataset), queue and engine per test. */
  function setup(
    options: {
      objects?: string[];
      pageSize?: number;
      token?: string;
      connector?: ConnectorModule;
      config?: unknown;
      connectorContext?: (i: IntegrationInfo) => ConnectorContext;
    } = {},
  ) {
    const name = `int${++queueNo}`;
    const integration: IntegrationInfo = {
      name,
      system: 'fake-http',
      config: options.config ?? {
        baseUrl: source.url,
        dataset: name,
        token: options.token ?? 'secret',
        pageSize: options.pageSize ?? 10,
      },
      objects: options.objects ?? ['contacts', 'deals'],
    };
    const registry = new Map<string, IntegrationInfo>([[name, integration]]);
    const integrations = {
      get: async (n: string) => registry.get(n) ?? null,
      list: async () => [...registry.values()],
    };
    const queue = createStoreBinding({ db: store.db, queue: `engine-${name}`, retry: FAST_RETRY });
    const recorded = recordingMetrics();
    const engine = createSyncEngine({
      db: store.db,
      queue,
      integrations,
      connectors: (system) => (system === 'fake-http' ? (options.connector ?? fakeConnector) : undefined),
      logger,
      metrics: recorded.metrics,
      connectorContext: options.connectorContext,
    });
    return { name, integration, registry, integrations, queue, engine, recorded };
  }

  /** Handles every ready job like a worker would, until the queue has nothing ready or delayed. */
  async function drain(queue: QueueBinding, engine: SyncEngine) {
    for (;;) {
      const jobs = await queue.claim(10, 10_000);
      if (jobs.length === 0) {
        const depth = await queue.depth();
        if (depth.delayed === 0 && depth.ready === 0) return;
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      for (const job of jobs) {
        try {
          await engine.handle(job);
          await queue.ack(job);
        } catch (error) {
          await queue.fail(job, (error as Error).message);
        }
      }
    }
  }

  const run = async (engine: SyncEngine, runId: string): Promise<RunRecord> =>
    (await engine.history({ limit: 1000, offset: 0 })).runs.find((r) => r.id === runId)!;
  const records = async (integration: string, object: string) =>
    (
      await store.db.query<{ external_id: string; data: any; deleted: boolean }>(
        'SELECT external_id, data, deleted FROM synced_records WHERE integration = $1 AND object = $2 ORDER BY external_id',
        [integration, object],
      )
    ).rows;

  test('a full sync pulls every page, upserts it and commits cursor, run counters and audit entries', async () => {
    const { name, engine, queue, recorded } = setup();
    source.upsert(
      name,
      'contacts',
      Array.from({ length: 25 }, (_, i) => record(i)),
    );
    source.upsert(
      name,
      'deals',
      Array.from({ length: 12 }, (_, i) => record(i)),
    );
    const { runId, jobId } = await engine.trigger(name, { actor: 'alice' });
    expect(await run(engine, runId)).toMatchObject({ status: 'queued', jobId, actor: 'alice', full: false });
    await drain(queue, engine);
    expect(await run(engine, runId)).toMatchObject({
      status: 'succeeded',
      pages: 5,
      received: 37,
      accepted: 37,
      duplicates: 0,
      quarantined: 0,
      attempts: 1,
      error: null,
    });
    expect(await records(name, 'contacts')).toHaveLength(25);
    expect((await records(name, 'deals'))[0]).toMatchObject({ external_id: 'r0', data: record(0), deleted: false });
    const [status] = (await engine.status()).filter((s) => s.integration === name);
    expect(status).toMatchObject({
      cursors: { contacts: '25', deals: '12' },
      running: false,
      lastRun: { id: runId, status: 'succeeded' },
    });
    const audit = await store.db.query<{ action: string; outcome: string; actor: string }>(
      `SELECT action, outcome, actor FROM audit_log WHERE target = $1 ORDER BY id`,
      [name],
    );
    expect(audit.rows.map((a) => `${a.action}:${a.outcome}`)).toEqual([
      'sync.trigger:queued',
      ...Array(5).fill('sync.page:committed'),
      'sync.run:succeeded',
    ]);
    expect(audit.rows.every((a) => a.actor === 'alice')).toBe(true);
    expect(recorded.get('syncRuns', { integration: name, status: 'succeeded' })).toBe(1);
    expect(recorded.get('recordsProcessed', { integration: name, outcome: 'accepted' })).toBe(37);
    expect(recorded.get('apiRequests', { integration: name })).toBe(5);
  });

  test('the next run resumes from the stored cursor: only changes are pulled; older versions never overwrite newer ones; deletes leave tombstones', async () => {
    const { name, engine, queue } = setup({ objects: ['contacts'] });
    source.upsert(
      name,
      'contacts',
      Array.from({ length: 20 }, (_, i) => record(i, 2)),
    );
    await engine.trigger(name, { actor: 'a' });
    await drain(queue, engine);
    const before = source.requests;
    source.upsert(name, 'contacts', [record(1, 3), record(2, 1), record(20, 1)]);
    source.delete(name, 'contacts', ['r3']);
    const { runId } = await engine.trigger(name, { actor: 'a' });
    await drain(queue, engine);
    expect(source.requests - before).toBe(1);
    expect(await run(engine, runId)).toMatchObject({
      status: 'succeeded',
      pages: 1,
      received: 3,
      accepted: 2,
      duplicates: 1,
      deleted: 1,
    });
    const rows = await records(name, 'contacts');
    expect(rows).toHaveLength(21);
    expect(rows.find((r) => r.external_id === 'r1')!.data.name).toBe('record 1 v3');
    expect(rows.find((r) => r.external_id === 'r2')!.data.name).toBe('record 2 v2');
    expect(rows.find((r) => r.external_id === 'r3')!.deleted).toBe(true);
  });

  test("reset clears the cursors so the next run is a full pull; with purge it also removes only that integration's records", async () => {
    const a = setup({ objects: ['contacts'] });
    const b = setup({ objects: ['contacts'] });
    for (const s of [a, b]) {
      source.upsert(
        s.name,
        'contacts',
        Array.from({ length: 15 }, (_, i) => record(i)),
      );
      await s.engine.trigger(s.name, { actor: 'a' });
      await drain(s.queue, s.engine);
    }
    expect(await a.engine.reset(a.name, { actor: 'bob', purge: false })).toEqual({
      cursorsCleared: 1,
      purgedRecords: 0,
    });
    expect((await a.engine.status()).find((s) => s.integration === a.name)!.cursors).toEqual({ contacts: null });
    const again = await a.engine.trigger(a.name, { actor: 'a' });
    await drain(a.queue, a.engine);
    expect(await run(a.engine, again.runId)).toMatchObject({
      status: 'succeeded',
      received: 15,
      accepted: 0,
      duplicates: 15,
    });
    expect(await a.engine.reset(a.name, { actor: 'bob', purge: true })).toEqual({
      cursorsCleared: 1,
      purgedRecords: 15,
    });
    expect(await records(a.name, 'contacts')).toHaveLength(0);
    expect(await records(b.name, 'contacts')).toHaveLength(15);
    const audit = await store.db.query(
      `SELECT action, details FROM audit_log WHERE target = $1 AND action LIKE 'sync.reset%' ORDER BY id`,
      [a.name],
    );
    expect(audit.rows).toEqual([
      { action: 'sync.reset', details: { cursorsCleared: 1, purgedRecords: 0 } },
      { action: 'sync.reset.purge', details: { cursorsCleared: 1, purgedRecords: 15 } },
    ]);
    await expect(a.engine.reset('nope', { actor: 'bob', purge: true })).rejects.toBeInstanceOf(UnknownIntegrationError);
    await expect(a.engine.trigger('nope', { actor: 'bob' })).rejects.toBeInstanceOf(UnknownIntegrationError);
  });

  test('a full run starts from the beginning once, and a redelivered full run continues from its own progress', async () => {
    let pulls = 0;
    let crashAt = 2;
    const crashing: ConnectorModule = {
      ...fakeConnector,
      create: (config, ctx) => {
        const inner = fakeConnector.create(config, ctx);
        return {
          ...inner,
          pull: async (object, cursor) => {
            if (++pulls === crashAt) throw new Error('worker died');
            return inner.pull(object, cursor);
          },
        };
      },
    };
    const { name, engine, queue } = setup({ objects: ['contacts'], connector: crashing });
    source.upsert(
      name,
      'contacts',
      Array.from({ length: 30 }, (_, i) => record(i)),
    );
    crashAt = 0;
    await engine.trigger(name, { actor: 'a' });
    await drain(queue, engine);
    pulls = 0;
    crashAt = 3;
    const { runId } = await engine.trigger(name, { actor: 'a', full: true });
    await drain(queue, engine);
    // Two pages before the failure, then the redelivery continues with the last one: 3 pages, not 2 + 3.
    expect(await run(engine, runId)).toMatchObject({
      status: 'succeeded',
      full: true,
      attempts: 2,
      pages: 3,
      received: 30,
      accepted: 0,
      duplicates: 30,
    });
  });

  test('a job redelivered after the run finished, or delivered twice at once, changes nothing twice', async () => {
    const { name, engine, queue } = setup({ objects: ['contacts'], pageSize: 5 });
    source.upsert(
      name,
      'contacts',
      Array.from({ length: 40 }, (_, i) => record(i)),
    );
    const { runId } = await engine.trigger(name, { actor: 'a' });
    const [job] = await queue.claim(1, 10_000);
    const twin: Job = { ...job, attempts: job.attempts + 1 };
    source.delayMs = 5;
    // Two deliveries race (a worker whose lease expired while it still ran): each page commits once.
    await Promise.all([engine.handle(job), engine.handle(twin)]);
    source.delayMs = 0;
    const after = await run(engine, runId);
    expect(after).toMatchObject({ status: 'succeeded', pages: 8, received: 40, accepted: 40, duplicates: 0 });
    const audit = await store.db.query(
      `SELECT action, count(*)::int AS n FROM audit_log WHERE target = $1 GROUP BY action ORDER BY action`,
      [name],
    );
    expect(audit.rows).toEqual([
      { action: 'sync.page', n: 8 },
      { action: 'sync.run', n: 1 },
      { action: 'sync.trigger', n: 1 },
    ]);
    await engine.handle(job);
    expect(await run(engine, runId)).toEqual(after);
    await queue.ack(job);
  });

  test('a connector error fails the run with a clear message and is retried; an auth error fails it without retry', async () => {
    const { name, engine, queue, recorded } = setup({ objects: ['contacts'] });
    source.upsert(name, 'contacts', [record(1)]);
    const { runId } = await engine.trigger(name, { actor: 'a' });
    const [job] = await queue.claim(1, 10_000);
    source.failNext(1, 503);
    await expect(engine.handle(job)).rejects.toThrow(/HTTP 503/);
    expect(await run(engine, runId)).toMatchObject({
      status: 'failed',
      error: `unavailable (HTTP 503): ${name}: the source answered HTTP 503`,
    });
    expect(recorded.get('apiErrors', { integration: name, code: '503' })).toBe(1);
    expect(await queue.fail(job, 'x')).toBe('retry');
    await drain(queue, engine);
    expect(await run(engine, runId)).toMatchObject({ status: 'succeeded', error: null, attempts: 2, accepted: 1 });

    const revoked = setup({ objects: ['contacts'], token: `revoked-${name}` });
    source.revoke(`revoked-${name}`);
    const failed = await revoked.engine.trigger(revoked.name, { actor: 'a' });
    const [authJob] = await revoked.queue.claim(1, 10_000);
    await expect(revoked.engine.handle(authJob)).resolves.toBeUndefined();
    expect(await run(revoked.engine, failed.runId)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/^auth \(HTTP 401\): .*rejected the token/),
    });
    expect(revoked.recorded.get('syncRuns', { integration: revoked.name, status: 'failed' })).toBe(1);
  });

  test('an invalid config, a missing connector or a deleted integration fails the run without retry; an unknown job kind is retried', async () => {
    const bad = setup({ config: { baseUrl: 'not a url', dataset: 'x', token: 't' } });
    const { runId } = await bad.engine.trigger(bad.name, { actor: 'a' });
    const [job] = await bad.queue.claim(1, 10_000);
    await bad.engine.handle(job);
    expect((await run(bad.engine, runId)).error).toMatch(/^invalid config for int\d+: baseUrl: Invalid url/);
    bad.registry.delete(bad.name);
    await bad.engine.handle(job);
    expect((await run(bad.engine, runId)).error).toMatch(/no longer exists/);
    await expect(bad.engine.handle({ ...job, kind: 'erasure', payload: {} })).rejects.toThrow(
      'no handler for job kind "erasure"',
    );
  });

  test("the connector gets the runtime's context (rate limiter, observers) next to the engine's metrics", async () => {
    const calls: string[] = [];
    const { name, engine, queue, recorded } = setup({
      objects: ['contacts'],
      connectorContext: (integration) => ({
        acquire: async () => void calls.push(`acquire:${integration.name}`),
        observe: (call) => void calls.push(`observe:${call.status}`),
      }),
    });
    source.upsert(
      name,
      'contacts',
      Array.from({ length: 12 }, (_, i) => record(i)),
    );
    await engine.trigger(name, { actor: 'a' });
    await drain(queue, engine);
    expect(calls).toEqual([`acquire:${name}`, 'observe:200', `acquire:${name}`, 'observe:200']);
    expect(recorded.get('apiRequests', { integration: name })).toBe(2);
  });

  test('registered handlers receive their job kinds', async () => {
    const { engine, queue } = setup();
    const seen: unknown[] = [];
    engine.registerHandler('webhook', async (job) => void seen.push(job.payload));
    await queue.enqueue({
      kind: 'webhook',
      integration: 'x',
      payload: {
        events: [{ id: 'e1', type: 'contact.updated', payload: { event: 1 } }],
        receivedAt: '2026-01-01T00:00:00Z',
      },
    });
    await drain(queue, engine);
    expect(seen).toEqual([
      { events: [{ id: 'e1', type: 'contact.updated', payload: { event: 1 } }], receivedAt: '2026-01-01T00:00:00Z' },
    ]);
    // A payload that is not the contract's is refused where the job is handled, naming the field.
    await expect(
      engine.handle({
        id: 'j',
        kind: 'webhook',
        integration: 'x',
        payload: { event: 1 },
        attempts: 1,
        enqueuedAt: new Date(),
      }),
    ).rejects.toThrow('payload.events: Required');
  });

  test('history filters by integration and status, pages with limit and offset, newest first', async () => {
    const a = setup({ objects: ['contacts'] });
    const b = setup({ objects: ['contacts'], token: `revoked-${a.name}-b` });
    source.revoke(`revoked-${a.name}-b`);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await a.engine.trigger(a.name, { actor: 'a' })).runId);
    await drain(a.queue, a.engine);
    const queued = (await a.engine.trigger(a.name, { actor: 'a' })).runId;
    const failed = (await b.engine.trigger(b.name, { actor: 'a' })).runId;
    await drain(b.queue, b.engine);
    const all = await a.engine.history({ integration: a.name, limit: 10, offset: 0 });
    expect(all.total).toBe(4);
    expect(all.runs[0].id).toBe(queued);
    const succeeded = await a.engine.history({ integration: a.name, status: 'succeeded', limit: 2, offset: 1 });
    expect(succeeded.total).toBe(3);
    expect(succeeded.runs.map((r) => r.id)).toEqual([ids[1], ids[0]]);
    expect(
      (await a.engine.history({ integration: b.name, status: 'failed', limit: 5, offset: 0 })).runs.map((r) => r.id),
    ).toEqual([failed]);
    expect(
      (await a.engine.history({ integration: a.name, status: 'queued', limit: 5, offset: 0 })).runs.map((r) => r.id),
    ).toEqual([queued]);
    expect((await a.engine.history({ integration: a.name, limit: 5, offset: 10 })).runs).toEqual([]);
    // Nonsense paging falls back to the defaults instead of reaching the SQL.
    expect((await a.engine.history({ integration: a.name, limit: NaN, offset: -3 })).runs).toHaveLength(4);
  });

  test('the probe goes through queue, worker and store and answers with timings; without a worker it reports failure', async () => {
    const { engine, queue } = setup();
    const lonely = await engine.probe({ timeoutMs: 300 });
    expect(lonely).toMatchObject({ ok: false, error: 'no worker processed the probe job within 300 ms' });
    await drain(queue, engine);
    const worker = createWorker({ queue, engine, logger, pollMs: 10, leaseMs: 5000 });
    worker.start();
    const result = await engine.probe();
    await worker.stop(1000);
    expect(result.ok).toBe(true);
    for (const value of Object.values(result.timings)) expect(value).toBeGreaterThanOrEqual(0);
    expect(result.timings.totalMs).toBeGreaterThanOrEqual(result.timings.enqueueMs);
    expect((await queue.depth()).inFlight).toBe(0);
  });

  test('a long sync whose every delivery commits a page before a vendor fault ends it is not dead-lettered: it finishes', async () => {
    // Each delivery's connector answers one page, then its next request is cut off (a retryable vendor fault).
    const cutOff: ConnectorModule = {
      ...fakeConnector,
      create: (config, context) => {
        const inner = fakeConnector.create(config, context);
        const connector = Object.create(inner);
        let pulls = 0;
        connector.pull = (object: string, cursor: string | null) => {
          if (++pulls > 1) throw new IntegrationError('flaky', 'vendor_error', 'the response body was cut off');
          return inner.pull(object, cursor);
        };
        return connector;
      },
    };
    const { name, engine, queue } = setup({ objects: ['contacts'], pageSize: 2, connector: cutOff });
    source.upsert(
      name,
      'contacts',
      Array.from({ length: 10 }, (_, i) => record(i)),
    );
    const { runId } = await engine.trigger(name, { actor: 'a' });
    await drain(queue, engine);
    // Five pages took more deliveries than FAST_RETRY.maxAttempts allows deliveries without progress.
    expect(await run(engine, runId)).toMatchObject({ status: 'succeeded', pages: 5, received: 10 });
    expect((await run(engine, runId)).attempts).toBeGreaterThan(FAST_RETRY.maxAttempts);
    expect((await queue.depth()).dead).toBe(0);
    expect(await records(name, 'contacts')).toHaveLength(10);
  });

  test('the worker handles jobs concurrently, retries failures through the binding and dead-letters after maxAttempts', async () => {
    const { name, engine, queue, recorded } = setup({ objects: ['contacts'] });
    source.upsert(name, 'contacts', [record(1)]);
    const ok = await engine.trigger(name, { actor: 'a' });
    let calls = 0;
    engine.registerHandler('pipeline', async () => {
      calls++;
      throw new Error('always broken');
    });
    await queue.enqueue({
      kind: 'pipeline',
      integration: 'x',
      payload: { runId: 'p1', mapping: 'salesforce_to_internal.Contact', records: [] },
    });
    const worker = createWorker({
      queue,
      engine,
      logger,
      pollMs: 10,
      leaseMs: 5000,
      concurrency: 2,
      metrics: recorded.metrics,
      depthEveryMs: 0,
    });
    worker.start();
    await eventually(
      () => queue.depth(),
      (d) => d.dead === 1 && d.ready + d.inFlight + d.delayed === 0,
    );
    // The worker's depth gauges catch up on its next loop.
    await eventually(
      async () => recorded.get('deadLetterDepth', {}),
      (n) => n === 1,
    );
    await worker.stop(1000);
    expect(calls).toBe(FAST_RETRY.maxAttempts);
    expect((await queue.listDeadLetters())[0].lastError).toBe('always broken');
    expect((await run(engine, ok.runId)).status).toBe('succeeded');
    expect(recorded.get('queueDepth', { state: 'ready' })).toBe(0);
  });

  test('stopping the worker releases a job that outlives the deadline, so another worker takes it at once', async () => {
    const { engine, queue } = setup();
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    engine.registerHandler('pipeline', async () => {
      started = true;
      await blocked;
    });
    const id = await queue.enqueue({
      kind: 'pipeline',
      integration: 'x',
      payload: { runId: 'p1', mapping: 'salesforce_to_internal.Contact', records: [] },
    });
    const worker = createWorker({ queue, engine, logger, pollMs: 10, leaseMs: 60_000 });
    worker.start();
    await eventually(async () => started, Boolean);
    await worker.stop(50);
    const [again] = await queue.claim(1, 5000);
    expect(again).toMatchObject({ id, attempts: 1 });
    release();
    await queue.ack(again);
  });

  const webhookJob = (integration: string, id: string) => ({
    kind: 'webhook' as const,
    integration,
    payload: { events: [{ id, type: 'contact.updated', payload: {} }], receivedAt: new Date().toISOString() },
  });
  const eventOf = (job: Job) => (job.payload as { events: { id: string }[] }).events[0].id;

  test('the worker hands a backlog of one kind and integration to the batch handler and acknowledges it together; a failed batch is handled job by job, each failure to its own retry policy', async () => {
    const { engine, queue } = setup();
    const batchSizes: number[] = [];
    const done = new Map<string, number>();
    const succeed = (job: Job) => done.set(eventOf(job), (done.get(eventOf(job)) ?? 0) + 1);
    let poisonCalls = 0;
    const one = async (job: Job) => {
      if (eventOf(job) === 'poison') {
        poisonCalls++;
        throw new Error('poisoned');
      }
      succeed(job);
    };
    engine.registerHandler(
      'webhook',
      Object.assign(one, {
        batch: async (jobs: readonly Job[]) => {
          batchSizes.push(jobs.length);
          if (jobs.some((job) => eventOf(job) === 'poison')) throw new Error('a poisoned batch');
          jobs.forEach(succeed);
        },
      }),
    );
    const good = Array.from({ length: 60 }, (_, i) => `e${i}`);
    for (const [i, id] of good.entries()) {
      await queue.enqueue(webhookJob(i % 2 ? 'x' : 'y', id));
      if (i === 30) await queue.enqueue(webhookJob('x', 'poison'));
    }
    const worker = createWorker({ queue, engine, logger, pollMs: 10, leaseMs: 5000, concurrency: 2 });
    worker.start();
    await eventually(
      () => queue.depth(),
      (d) => d.dead === 1 && d.ready + d.inFlight + d.delayed === 0,
    );
    await worker.stop(1000);
    // Each good job done once, though one batch failed around the poisoned one.
    expect([...done.keys()].sort()).toEqual([...good].sort());
    expect([...done.values()].every((n) => n === 1)).toBe(true);
    expect(Math.max(...batchSizes)).toBeGreaterThan(10);
    expect(batchSizes.length).toBeLessThan(good.length / 5);
    expect(poisonCalls).toBe(FAST_RETRY.maxAttempts);
    expect((await queue.listDeadLetters()).map(eventOf)).toEqual(['poison']);
  });

  test('stopping the worker hands back at once the jobs it claimed but had not started, and at the deadline the batches still running', async () => {
    const { engine, queue } = setup();
    let unblock!: () => void;
    const blocked = new Promise<void>((resolve) => (unblock = resolve));
    const started: string[] = [];
    const handle = async (jobs: readonly Job[]) => {
      started.push(...jobs.map(eventOf));
      // The first integration's jobs finish, so that the worker sees a backlog and claims wide.
      if (jobs[0].integration !== 'first') await blocked;
    };
    engine.registerHandler(
      'webhook',
      Object.assign((job: Job) => handle([job]), { batch: handle }),
    );
    await queue.enqueue(webhookJob('first', 'f1'));
    await queue.enqueue(webhookJob('first', 'f2'));
    const later: string[] = [];
    for (const integration of ['a', 'b', 'c'])
      for (let i = 0; i < 3; i++) {
        later.push(`${integration}${i}`);
        await queue.enqueue(webhookJob(integration, `${integration}${i}`));
      }
    const worker = createWorker({ queue, engine, logger, pollMs: 10, leaseMs: 60_000, concurrency: 2 });
    worker.start();
    await eventually(
      async () => started.length,
      (n) => n === 8,
    );
    // Two integrations' batches run; the third's jobs wait for a slot.
    expect((await queue.depth()).inFlight).toBe(9);
    await worker.stop(50);
    const again = await queue.claim(20, 5000);
    expect(again.map(eventOf).sort()).toEqual(later);
    expect(again.every((job) => job.attempts === 1)).toBe(true);
    unblock();
    await queue.ackMany(again);
  });

  test('while a backlog batch is handled the worker claims the next, and starts it once the first is handled, before its acknowledgement returns; batches of one integration never overlap', async () => {
    const { engine, queue } = setup();
    const gates: (() => void)[] = [];
    let handling = 0;
    let overlapped = false;
    const batchesSeen: string[][] = [];
    const handle = async (jobs: readonly Job[]) => {
      overlapped ||= handling > 0;
      handling++;
      batchesSeen.push(jobs.map(eventOf));
      // Every batch waits for the test, so what the worker does meanwhile can be seen.
      await new Promise<void>((resolve) => gates.push(resolve));
      handling--;
    };
    engine.registerHandler(
      'webhook',
      Object.assign((job: Job) => handle([job]), { batch: handle }),
    );
    let releaseAck!: () => void;
    const ackHeld = new Promise<void>((resolve) => (releaseAck = resolve));
    let acksStarted = 0;
    const slowAcks: QueueBinding = {
      ...queue,
      async ackMany(jobs) {
        acksStarted++;
        await ackHeld;
        return queue.ackMany(jobs);
      },
    };
    const ids = Array.from({ length: 14 }, (_, i) => `e${i}`);
    for (const id of ids) await queue.enqueue(webhookJob('x', id));
    const worker = createWorker({
      queue: slowAcks,
      engine,
      logger,
      pollMs: 10,
      leaseMs: 60_000,
      concurrency: 2,
      batchSize: 4,
    });
    worker.start();
    // The first claim takes a slot's worth (2) and comes back full, so the next is wide (4) and taken
    // while the first batch is still being handled.
    await eventually(
      async () => ({ batches: batchesSeen.length, depth: await queue.depth() }),
      (s) => s.batches === 1 && s.depth.inFlight === 6,
    );
    expect(batchesSeen[0]).toEqual(['e0', 'e1']);
    // The first batch is handled; its acknowledgement is held, and the claimed batch starts meanwhile.
    gates.shift()!();
    await eventually(
      async () => batchesSeen.length,
      (n) => n === 2,
    );
    expect(acksStarted).toBe(1);
    expect(batchesSeen[1]).toEqual(['e2', 'e3', 'e4', 'e5']);
    releaseAck();
    while (batchesSeen.flat().length < ids.length || gates.length > 0) {
      gates.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await eventually(
      () => queue.depth(),
      (d) => d.ready + d.inFlight === 0,
    );
    await worker.stop(1000);
    expect(batchesSeen.flat()).toEqual(ids);
    expect(overlapped).toBe(false);
  });

  test('schedulers on several instances queue each due run exactly once and do not pile runs on a queued one', async () => {
    const { name, engine, integrations, queue } = setup({ objects: ['contacts'] });
    const other = setup({ objects: ['contacts'] });
    const both = {
      get: async (n: string) => (await integrations.get(n)) ?? (await other.integrations.get(n)),
      list: async () => [...(await integrations.list()), ...(await other.integrations.list())],
    };
    const intervals = (n: string) => (n === name ? 60 : undefined);
    const schedulers = [0, 1, 2].map(() =>
      createScheduler({ db: store.db, engine, integrations: both, intervals, logger }),
    );
    const t0 = new Date('2030-01-01T00:00:00Z');
    const first = await Promise.all(schedulers.map((s) => s.tick(t0)));
    expect(first.flat()).toEqual([name]);
    expect((await engine.history({ integration: name, limit: 10, offset: 0 })).runs).toMatchObject([
      { actor: 'scheduler', status: 'queued' },
    ]);
    expect((await Promise.all(schedulers.map((s) => s.tick(new Date(t0.getTime() + 59 * 60_000))))).flat()).toEqual([]);
    // Due again, but the first run is still queued: the slot passes without a second run.
    expect((await schedulers[0].tick(new Date(t0.getTime() + 60 * 60_000))).flat()).toEqual([]);
    await drain(queue, engine);
    const later = await Promise.all(schedulers.map((s) => s.tick(new Date(t0.getTime() + 120 * 60_000))));
    expect(later.flat()).toEqual([name]);
    expect((await engine.history({ integration: other.name, limit: 10, offset: 0 })).total).toBe(0);
  });

  test('a due schedule does not stack a pull on one awaiting redelivery, and queues again once that one is dead-lettered', async () => {
    const failing: ConnectorModule = {
      ...fakeConnector,
      create: (config, context) => {
        const connector = Object.create(fakeConnector.create(config, context));
        connector.pull = () => {
          throw new IntegrationError('flaky', 'vendor_error', 'the vendor is down');
        };
        return connector;
      },
    };
    const { name, engine, integrations, queue } = setup({ objects: ['contacts'], connector: failing });
    const scheduler = createScheduler({ db: store.db, engine, integrations, intervals: () => 60, logger });
    const t0 = new Date('2031-01-01T00:00:00Z');
    expect(await scheduler.tick(t0)).toEqual([name]);
    const [job] = await queue.claim(1, 10_000);
    await expect(engine.handle(job)).rejects.toThrow('the vendor is down');
    await queue.fail(job, 'the vendor is down');
    // The run failed this delivery, but its job waits for the next one: the due slot passes.
    expect(await scheduler.tick(new Date(t0.getTime() + 60 * 60_000))).toEqual([]);
    await drain(queue, engine);
    expect((await queue.depth()).dead).toBe(1);
    expect(await scheduler.tick(new Date(t0.getTime() + 120 * 60_000))).toEqual([name]);
    expect((await engine.history({ integration: name, limit: 10, offset: 0 })).runs).toMatchObject([
      { actor: 'scheduler', status: 'queued' },
      { actor: 'scheduler', status: 'failed' },
    ]);
  });

  test('the store sink quarantines records without an id, keeps the newest of in-page duplicates and compares data when there are no timestamps', async () => {
    const sink = createStoreSink();
    const target = { integration: `sink-${queueNo++}`, object: 'things', runId: 'r' };
    const first = await store.db.transaction((tx) =>
      sink.upsert(
        tx,
        target,
        [
          { id: 1, v: 'a', updated_at: '2024-01-01T00:00:00Z' },
          { id: 1, v: 'b', updated_at: '2024-01-02T00:00:00Z' },
          { id: 1, v: 'old', updated_at: '2023-01-01T00:00:00Z' },
          { name: 'no id' },
          { Id: 'n', v: 1 },
        ],
        [],
      ),
    );
    expect(first).toEqual({ received: 5, accepted: 2, quarantined: 1, duplicates: 2 });
    const second = await store.db.transaction((tx) =>
      sink.upsert(
        tx,
        target,
        [
          { Id: 'n', v: 1 },
          { Id: 'n', v: 2 },
        ],
        ['1'],
      ),
    );
    expect(second).toEqual({ received: 2, accepted: 1, quarantined: 0, duplicates: 1 });
    const rows = await records(target.integration, 'things');
    expect(rows).toEqual([
      { external_id: '1', data: { id: 1, v: 'b', updated_at: '2024-01-02T00:00:00Z' }, deleted: true },
      { external_id: 'n', data: { Id: 'n', v: 2 }, deleted: false },
    ]);
    expect(
      await store.db.transaction((tx) =>
        sink.upsert(tx, target, [{ id: 1, v: 'b', updated_at: '2024-01-02T00:00:00Z' }], []),
      ),
    ).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(
      await store.db.transaction((tx) =>
        sink.upsert(tx, target, [{ id: 1, v: 'c', updated_at: '2024-01-03T00:00:00Z' }], []),
      ),
    ).toMatchObject({ accepted: 1 });
    expect((await records(target.integration, 'things'))[0]).toMatchObject({ deleted: false, data: { v: 'c' } });
  });
}

describe('sync engine on PGlite', () => engineSuite(openTestPglite));
describeWithService('sync engine on PostgreSQL', TEST_DATABASE_URL, () =>
  engineSuite(() => openTestPostgres('engine')),
);
