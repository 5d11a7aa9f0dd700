/**
 * The one contract suite every queue binding passes (store, BullMQ, and the cloud bindings of later
 * issues). Call it from a test file:
 *   queueBindingContract('store on PGlite', (shareWith) => make(shareWith), (b) => b.close());
 * `make()` returns a binding on a fresh, empty queue that uses CONTRACT_RETRY and CONTRACT_RANDOM;
 * `make(other)` returns a second, independent connection to `other`'s queue (another worker process).
 */
import { Job, LeaseLostError, QueueBinding, RetryPolicy } from './binding';

/** Fast retries so the suite runs in about a second per binding. */
export const CONTRACT_RETRY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 250, maxDelayMs: 250 };
/** Jitter pinned to its top, so every retry waits exactly min(max, base * 2^(n-1)). */
export const CONTRACT_RANDOM = () => 0.999999;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `fn` until it returns a value that `done` accepts; fails after `timeoutMs`. */
export async function eventually<T>(
  fn: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 8000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await sleep(everyMs);
  }
}

export function queueBindingContract(
  name: string,
  make: (shareWith?: QueueBinding) => Promise<QueueBinding>,
  cleanup: (binding: QueueBinding) => Promise<void>,
): void {
  describe(`queue binding contract: ${name}`, () => {
    const open: QueueBinding[] = [];
    const fresh = async (shareWith?: QueueBinding) => {
      const binding = await make(shareWith);
      open.push(binding);
      return binding;
    };
    afterEach(async () => {
      for (const binding of open.splice(0).reverse()) await cleanup(binding);
    });
    const claimOne = (binding: QueueBinding, leaseMs = 5000) =>
      eventually(
        () => binding.claim(1, leaseMs),
        (jobs) => jobs.length === 1,
      ).then((jobs) => jobs[0]);

    test('an enqueued job is durable: another connection claims it with kind, integration, payload and dedupe key intact', async () => {
      const producer = await fresh();
      const payload = { object: 'contacts', nested: { list: [1, 'two', null], unicode: 'Zoë ✓' } };
      const id = await producer.enqueue({ kind: 'sync', integration: 'crm-1', payload, dedupeKey: 'k1' });
      expect(typeof id).toBe('string');
      const consumer = await fresh(producer);
      const job = await claimOne(consumer);
      expect(job).toMatchObject({ id, kind: 'sync', integration: 'crm-1', payload, dedupeKey: 'k1', attempts: 1 });
      expect(job.enqueuedAt).toBeInstanceOf(Date);
      await consumer.ack(job);
    });

    test('claims each ready job once, oldest first, at most `max` at a time', async () => {
      const queue = await fresh();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await queue.enqueue({ kind: 'webhook', payload: { i } }));
      const first = await queue.claim(3, 5000);
      expect(first.map((j) => j.id)).toEqual(ids.slice(0, 3));
      const other = await fresh(queue);
      const second = await other.claim(10, 5000);
      expect(second.map((j) => j.id)).toEqual(ids.slice(3));
      expect(await queue.claim(10, 5000)).toEqual([]);
      expect(await queue.depth()).toEqual({ ready: 0, inFlight: 5, delayed: 0, dead: 0 });
      for (const job of first) await queue.ack(job);
      for (const job of second) await other.ack(job);
      expect(await queue.depth()).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 });
    });

    test('an acknowledged job is never delivered again, even after its lease would have expired', async () => {
      const queue = await fresh();
      await queue.enqueue({ kind: 'probe', payload: null });
      const job = await claimOne(queue, 100);
      await queue.ack(job);
      await sleep(300);
      expect(await queue.claim(5, 100)).toEqual([]);
      expect((await queue.depth()).inFlight).toBe(0);
    });

    test('a failed job is retried after an exponential backoff with jitter, then dead-lettered after maxAttempts', async () => {
      const queue = await fresh();
      const id = await queue.enqueue({ kind: 'sync', integration: 'erp', payload: { n: 1 } });
      for (let attempt = 1; attempt < CONTRACT_RETRY.maxAttempts; attempt++) {
        const job = await claimOne(queue);
        expect(job).toMatchObject({ id, attempts: attempt });
        expect(await queue.fail(job, `boom ${attempt}`)).toBe('retry');
        // Backed off: not claimable at once, counted as delayed.
        expect(await queue.claim(1, 5000)).toEqual([]);
        expect((await queue.depth()).delayed).toBe(1);
      }
      const last = await claimOne(queue);
      expect(last.attempts).toBe(CONTRACT_RETRY.maxAttempts);
      expect(await queue.fail(last, 'boom final')).toBe('dead');
      expect(await queue.depth()).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 1 });
      await sleep(CONTRACT_RETRY.maxDelayMs + 50);
      expect(await queue.claim(1, 5000)).toEqual([]);
      const dead = await queue.listDeadLetters();
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({
        id,
        kind: 'sync',
        integration: 'erp',
        payload: { n: 1 },
        lastError: 'boom final',
      });
      expect(dead[0].deadAt).toBeInstanceOf(Date);
    });

    test('dead letters are listed and redriven (all, or by id) with fresh attempts', async () => {
      const queue = await fresh();
      const ids = [
        await queue.enqueue({ kind: 'webhook', payload: 'a' }),
        await queue.enqueue({ kind: 'webhook', payload: 'b' }),
        await queue.enqueue({ kind: 'webhook', payload: 'c' }),
      ];
      let dead = 0;
      while (dead < 3) {
        for (const job of await queue.claim(3, 5000)) if ((await queue.fail(job, 'nope')) === 'dead') dead++;
        if (dead < 3) await sleep(50);
      }
      expect((await queue.listDeadLetters()).map((d) => d.id).sort()).toEqual([...ids].sort());
      expect(await queue.listDeadLetters(2)).toHaveLength(2);
      expect(await queue.redrive([ids[1], 'no-such-job'])).toBe(1);
      const redriven = await claimOne(queue);
      expect(redriven).toMatchObject({ id: ids[1], payload: 'b', attempts: 1 });
      await queue.ack(redriven);
      expect(await queue.redrive()).toBe(2);
      expect((await queue.depth()).dead).toBe(0);
      const rest = await eventually(
        () => queue.claim(5, 5000),
        (jobs) => jobs.length > 0,
      );
      const more = rest.length < 2 ? await claimOne(queue) : undefined;
      const all = more ? [...rest, more] : rest;
      expect(all.map((j) => j.id).sort()).toEqual([ids[0], ids[2]].sort());
      for (const job of all) await queue.ack(job);
      expect(await queue.redrive()).toBe(0);
    });

    test("a crashed worker's job is redelivered once its lease expires; the stale delivery can no longer ack or extend", async () => {
      const queue = await fresh();
      const id = await queue.enqueue({ kind: 'sync', integration: 'crm', payload: {} });
      const crashed = await claimOne(queue, 150);
      const survivor = await fresh(queue);
      const again = await claimOne(survivor, 5000);
      expect(again).toMatchObject({ id, attempts: 2 });
      await expect(queue.extend(crashed, 5000)).rejects.toBeInstanceOf(LeaseLostError);
      await queue.ack(crashed);
      expect((await survivor.depth()).inFlight).toBe(1);
      await survivor.ack(again);
      expect(await survivor.depth()).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 });
    });

    test('ackMany settles claimed jobs together: none is delivered again, a stale delivery among them changes nothing, their dedupe keys are free', async () => {
      const queue = await fresh();
      await queue.ackMany([]);
      const staleId = await queue.enqueue({ kind: 'webhook', integration: 'crm', payload: 'stale' });
      const crashed = await claimOne(queue, 150);
      const survivor = await fresh(queue);
      const again = await claimOne(survivor, 5000);
      expect(again).toMatchObject({ id: staleId, attempts: 2 });
      const ids = [
        await queue.enqueue({ kind: 'webhook', integration: 'crm', payload: 1 }),
        await queue.enqueue({ kind: 'webhook', integration: 'crm', payload: 2 }),
        await queue.enqueue({ kind: 'webhook', integration: 'crm', payload: 3, dedupeKey: 'hook:3' }),
      ];
      const claimed: Job[] = [];
      while (claimed.length < 3)
        claimed.push(
          ...(await eventually(
            () => queue.claim(3 - claimed.length, 1000),
            (jobs) => jobs.length > 0,
          )),
        );
      expect(claimed.map((j) => j.id).sort()).toEqual([...ids].sort());
      await queue.ackMany([...claimed, crashed]);
      // Only the survivor's delivery is left, and still its own to settle.
      expect(await queue.depth()).toEqual({ ready: 0, inFlight: 1, delayed: 0, dead: 0 });
      await sleep(1100);
      expect(await queue.claim(5, 5000)).toEqual([]);
      const next = await queue.enqueue({ kind: 'webhook', integration: 'crm', payload: 4, dedupeKey: 'hook:3' });
      expect(next).not.toBe(ids[2]);
      await survivor.ack(again);
      await queue.ack(await claimOne(queue));
      expect(await queue.depth()).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 });
    });

    test('extending a lease keeps the job from being redelivered', async () => {
      const queue = await fresh();
      await queue.enqueue({ kind: 'sync', payload: {} });
      const job = await claimOne(queue, 1000);
      await queue.extend(job, 10_000);
      await sleep(1300);
      const other = await fresh(queue);
      expect(await other.claim(1, 5000)).toEqual([]);
      await queue.ack(job);
    });

    test('a job whose worker crashes on every delivery is dead-lettered after maxAttempts deliveries', async () => {
      const queue = await fresh();
      const id = await queue.enqueue({ kind: 'pipeline', payload: {} });
      for (let attempt = 1; attempt <= CONTRACT_RETRY.maxAttempts; attempt++) {
        expect(await claimOne(queue, 100)).toMatchObject({ id, attempts: attempt });
      }
      await eventually(
        () => queue.claim(1, 100).then(async (jobs) => (jobs.length ? jobs : (await queue.depth()).dead)),
        (v) => v === 1,
      );
      const dead = await queue.listDeadLetters();
      expect(dead.map((d) => d.id)).toEqual([id]);
      expect(dead[0].lastError).toMatch(/lease expired/);
    });

    test('a dedupe key returns the pending job instead of a second one, and is free again once that job is done', async () => {
      const queue = await fresh();
      const first = await queue.enqueue({ kind: 'sync', integration: 'crm', payload: { n: 1 }, dedupeKey: 'sync:crm' });
      expect(await queue.enqueue({ kind: 'sync', integration: 'crm', payload: { n: 2 }, dedupeKey: 'sync:crm' })).toBe(
        first,
      );
      const other = await queue.enqueue({ kind: 'sync', integration: 'erp', payload: {}, dedupeKey: 'sync:erp' });
      expect(other).not.toBe(first);
      expect((await queue.depth()).ready).toBe(2);
      const jobs = await queue.claim(2, 5000);
      expect(jobs.find((j) => j.id === first)?.payload).toEqual({ n: 1 });
      for (const job of jobs) await queue.ack(job);
      const next = await queue.enqueue({ kind: 'sync', integration: 'crm', payload: { n: 3 }, dedupeKey: 'sync:crm' });
      expect(next).not.toBe(first);
      await queue.ack(await claimOne(queue));
    });

    test('a job handed back at shutdown is ready for another worker: at once with release(), else after its lease', async () => {
      const queue = await fresh();
      const id = await queue.enqueue({ kind: 'sync', payload: {} });
      const job = await claimOne(queue, queue.release ? 60_000 : 300);
      if (queue.release) await queue.release(job);
      const other = await fresh(queue);
      const again = await claimOne(other, 5000);
      expect(again.id).toBe(id);
      expect(again.attempts).toBeLessThanOrEqual(2);
      await other.ack(again);
    });

    test('concurrent enqueues each get their own job, except those sharing a dedupe key, which get the one pending job', async () => {
      const queue = await fresh();
      const [distinct, same] = await Promise.all([
        Promise.all(Array.from({ length: 20 }, (_, i) => queue.enqueue({ kind: 'webhook', payload: { i } }))),
        Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            queue.enqueue({ kind: 'sync', integration: 'crm', payload: { i }, dedupeKey: 'burst' }),
          ),
        ),
      ]);
      expect(new Set(distinct).size).toBe(20);
      expect(new Set(same).size).toBe(1);
      expect(distinct).not.toContain(same[0]);
      expect((await queue.depth()).ready).toBe(21);
      const claimed: Job[] = [];
      while (claimed.length < 21)
        claimed.push(
          ...(await eventually(
            () => queue.claim(21 - claimed.length, 5000),
            (jobs) => jobs.length > 0,
          )),
        );
      expect(claimed.map((j) => j.id).sort()).toEqual([...distinct, same[0]].sort());
      expect(
        claimed
          .filter((j) => j.kind === 'webhook')
          .map((j) => (j.payload as { i: number }).i)
          .sort((a, b) => a - b),
      ).toEqual(Array.from({ length: 20 }, (_, i) => i));
      for (const job of claimed) await queue.ack(job);
    });

    test('a delivery that reports progress does not count against maxAttempts; deliveries without it do', async () => {
      const queue = await fresh();
      const id = await queue.enqueue({ kind: 'sync', payload: {} });
      // A long sync whose deliveries each commit pages before a vendor fault ends them.
      for (let delivery = 1; delivery <= CONTRACT_RETRY.maxAttempts + 1; delivery++) {
        const job = await claimOne(queue);
        expect(job.id).toBe(id);
        await job.progress!();
        expect(await queue.fail(job, `cut off after a page (${delivery})`)).toBe('retry');
      }
      for (let stalled = 1; stalled <= CONTRACT_RETRY.maxAttempts; stalled++) {
        const job = await claimOne(queue);
        expect(await queue.fail(job, 'no page this time')).toBe(
          stalled < CONTRACT_RETRY.maxAttempts ? 'retry' : 'dead',
        );
      }
      expect((await queue.listDeadLetters()).map((d) => d.id)).toEqual([id]);
    });

    test('onDeadLetter hears of each job dead-lettered, with the reason: a last failure, and a lease that kept expiring', async () => {
      const queue = await fresh();
      const heard: { id: string; reason: string }[] = [];
      queue.onDeadLetter!((job, reason) => {
        heard.push({ id: job.id, reason });
      });
      const failing = await queue.enqueue({ kind: 'webhook', payload: 'a' });
      for (let attempt = 1; attempt <= CONTRACT_RETRY.maxAttempts; attempt++)
        await queue.fail(await claimOne(queue), `boom ${attempt}`);
      expect(heard).toEqual([{ id: failing, reason: `boom ${CONTRACT_RETRY.maxAttempts}` }]);
      const crashing = await queue.enqueue({ kind: 'pipeline', payload: {} });
      for (let attempt = 1; attempt <= CONTRACT_RETRY.maxAttempts; attempt++) await claimOne(queue, 100);
      await eventually(
        () => queue.claim(1, 100).then(() => heard.length),
        (n) => n === 2,
      );
      expect(heard[1]).toEqual({ id: crashing, reason: expect.stringMatching(/lease expired/) });
    });

    test('a delayed job is counted as delayed and claimable only after its delay', async () => {
      const queue = await fresh();
      const id = await queue.enqueue({ kind: 'sync', payload: {} }, { delayMs: 400 });
      expect(await queue.claim(1, 5000)).toEqual([]);
      expect(await queue.depth()).toEqual({ ready: 0, inFlight: 0, delayed: 1, dead: 0 });
      const job: Job = await claimOne(queue);
      expect(job.id).toBe(id);
      await queue.ack(job);
    });

    // Optional in the interface: bindings without it leave their runs unreconciled (engine/reconcile.ts).
    test('jobState tells a waiting, a claimed and a dead-lettered job from one the queue no longer holds', async () => {
      const queue = await fresh();
      if (!queue.jobState) return;
      const id = await queue.enqueue({ kind: 'sync', payload: {} });
      expect(await queue.jobState(id)).toBe('queued');
      const delayed = await queue.enqueue({ kind: 'sync', payload: {} }, { delayMs: 60_000 });
      expect(await queue.jobState(delayed)).toBe('queued');
      let job = await claimOne(queue);
      expect(await queue.jobState(id)).toBe('active');
      for (let attempt = 1; attempt < CONTRACT_RETRY.maxAttempts; attempt++) {
        expect(await queue.fail(job, 'broken')).toBe('retry');
        expect(await queue.jobState(id)).toBe('queued');
        job = await claimOne(queue);
      }
      expect(await queue.fail(job, 'broken')).toBe('dead');
      expect(await queue.jobState(id)).toBe('dead');
      await queue.redrive([id]);
      await queue.ack(await claimOne(queue));
      expect(await queue.jobState(id)).toBe('unknown');
      expect(await queue.jobState('999999999')).toBe('unknown');
    });
  });
}
