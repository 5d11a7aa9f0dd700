import type { Logger } from 'pino';
import { Job, LeaseLostError, QueueBinding } from '../queue/binding';
import type { SyncEngine } from './engine';
import type { EngineMetrics } from './types';

export interface WorkerDeps {
  readonly queue: QueueBinding;
  /** Runs the jobs; with batches and handleBatch, the jobs of a kind that batches are handled together. */
  readonly engine: Pick<SyncEngine, 'handle'> & Partial<Pick<SyncEngine, 'batches' | 'handleBatch'>>;
  /** Jobs (or batches of jobs) handled at once (default 4). */
  readonly concurrency?: number;
  /**
   * Most jobs of one kind and integration handled as one batch, and the most claimed at once while the
   * queue holds a backlog of such jobs: a crash leaves about two such batches to their lease, instead of
   * one job per slot (1 handles every job on its own). @default DEFAULT_BATCH_SIZE
   */
  readonly batchSize?: number;
  /** Lease per claim, renewed every third of it until the job is settled (default 30 s). */
  readonly leaseMs?: number;
  /** Wait between claims when the queue is empty (default 250 ms). */
  readonly pollMs?: number;
  readonly logger: Logger;
  /** Queue and dead-letter depth gauges, refreshed every `depthEveryMs` (default 15 s). */
  readonly metrics?: EngineMetrics;
  readonly depthEveryMs?: number;
}

/**
 * Webhook jobs per batch. Each batch pays a fixed few round trips (claim, lookup, trigger check, commit,
 * acknowledgement) and each job little: on 2 cores the store queue drained 5,200 jobs/s at 50, 10,200 at
 * 200 and 14,500 at 500, and BullMQ, which pays a script per job, 4,700, 5,800 and 7,000 (bench/webhook-ingest).
 */
export const DEFAULT_BATCH_SIZE = 500;

export interface Worker {
  start(): void;
  /**
   * Stops claiming and waits up to `deadlineMs` for in-flight jobs; those still running then, and those
   * claimed but not started, are released back to the queue (or, on bindings without release, left to
   * their lease).
   */
  stop(deadlineMs: number): Promise<void>;
}

/** A claimed job, its lease renewed from the claim until it is settled or released. */
interface Claimed {
  readonly job: Job;
  readonly heartbeat: NodeJS.Timeout;
  /** The job's logger, made when first used: most jobs never log, and a backlog claims hundreds at once. */
  log(): Logger;
  /** The handler is done with it (only the ack or fail is left): shutdown lets it settle. */
  handled: boolean;
  /** Handed back at shutdown: this process must no longer settle it or touch its lease. */
  released: boolean;
}

/** What one slot of the concurrency runs: one job, or a batch of jobs of one kind and integration. */
interface Unit {
  readonly jobs: readonly Claimed[];
  /** Its jobs are of a kind that batches. */
  readonly batch: boolean;
  /** The handler still runs (what is left is the acknowledgement). */
  handling: boolean;
  done: Promise<void>;
  finished: boolean;
}

/**
 * The queue worker loop: claim, handle with a renewed lease, ack; a failure goes back to the binding's
 * retry policy. While the queue holds a backlog of jobs whose kind batches (webhooks), the worker claims
 * up to `batchSize` at once and hands each kind and integration's jobs to the engine together, then
 * acknowledges them together; a batch that fails is handled again job by job, so each failure meets its
 * own job's retry policy and one bad job does not hold back the others. The next batch is claimed while
 * one is handled, and starts while the one before it is acknowledged.
 */
export function createWorker(deps: WorkerDeps): Worker {
  const { queue, engine, logger, metrics } = deps;
  const concurrency = Math.max(1, deps.concurrency ?? 4);
  const batchSize = engine.batches && engine.handleBatch ? Math.max(1, deps.batchSize ?? DEFAULT_BATCH_SIZE) : 1;
  const leaseMs = deps.leaseMs ?? 30_000;
  const pollMs = deps.pollMs ?? 250;
  const depthEveryMs = deps.depthEveryMs ?? 15_000;
  const batches = (job: Job) => batchSize > 1 && engine.batches!(job.kind);
  /** Claimed, waiting for a free slot (a wide claim can bring more than the free slots take). */
  const waiting: Claimed[] = [];
  const units = new Set<Unit>();
  let running = false;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let lastDepth = 0;
  /** The last claim was full and held jobs that batch: the backlog is worth claiming in bulk. */
  let wide = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  async function reportDepth() {
    if (!metrics || Date.now() - lastDepth < depthEveryMs) return;
    lastDepth = Date.now();
    const depth = await queue.depth();
    metrics.set('queueDepth', { state: 'ready' }, depth.ready);
    metrics.set('queueDepth', { state: 'in_flight' }, depth.inFlight);
    metrics.set('queueDepth', { state: 'delayed' }, depth.delayed);
    metrics.set('deadLetterDepth', {}, depth.dead);
  }

  function hold(job: Job): Claimed {
    let child: Logger | undefined;
    const log = () => (child ??= logger.child({ jobId: job.id, kind: job.kind, attempt: job.attempts }));
    const heartbeat = setInterval(
      () => {
        queue.extend(job, leaseMs).catch((error) => {
          clearInterval(heartbeat);
          if (error instanceof LeaseLostError)
            log().warn('lease lost while handling the job; another delivery owns it now');
          else log().error({ err: error }, 'could not extend the lease');
        });
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    return { job, heartbeat, log, handled: false, released: false };
  }

  /** Handles one job on its own and settles it: ack, or fail to its retry policy. */
  async function runOne(claimed: Claimed) {
    const { job, log } = claimed;
    try {
      await engine.handle(job);
      claimed.handled = true;
      if (!claimed.released) await queue.ack(job);
    } catch (error) {
      claimed.handled = true;
      const message = error instanceof Error ? error.message : String(error);
      if (claimed.released) return;
      const outcome = await queue.fail(job, message);
      log().warn(
        { err: message, outcome },
        outcome === 'dead' ? 'job failed for the last time: dead-lettered' : 'job failed: retried after backoff',
      );
    } finally {
      clearInterval(claimed.heartbeat);
    }
  }

  async function runBatch(jobs: readonly Claimed[], unit: Unit) {
    try {
      await engine.handleBatch!(jobs.map((c) => c.job));
    } catch (error) {
      logger.warn(
        { err: error instanceof Error ? error.message : String(error), jobs: jobs.length, kind: jobs[0].job.kind },
        'a batch of jobs failed: each is handled again on its own',
      );
      for (const claimed of jobs)
        if (claimed.released) clearInterval(claimed.heartbeat);
        else
          await runOne(claimed).catch((err) =>
            claimed.log().error({ err }, 'could not acknowledge or fail the job; it is redelivered after its lease'),
          );
      return;
    }
    for (const claimed of jobs) claimed.handled = true;
    // The next batch of its kind and integration may start while this one is acknowledged.
    unit.handling = false;
    wake?.();
    const done = jobs.filter((c) => !c.released);
    try {
      await queue.ackMany(done.map((c) => c.job));
    } finally {
      for (const claimed of jobs) clearInterval(claimed.heartbeat);
    }
  }

  function start(jobs: Claimed[]) {
    const unit: Unit = { jobs, batch: batches(jobs[0].job), handling: true, done: Promise.resolve(), finished: false };
    unit.done = (jobs.length === 1 ? runOne(jobs[0]) : runBatch(jobs, unit))
      .catch((error) =>
        logger.error(
          { err: error, jobIds: jobs.map((c) => c.job.id) },
          'could not acknowledge or fail the jobs; they are redelivered after their lease',
        ),
      )
      .finally(() => {
        unit.finished = true;
        units.delete(unit);
        wake?.();
      });
    units.add(unit);
  }

  const sameGroup = (a: Job, b: Job) => a.kind === b.kind && a.integration === b.integration;
  /** The oldest waiting job batches and a batch of its kind and integration is being handled: it waits for that one. */
  const heldBack = () =>
    batches(waiting[0].job) &&
    [...units].some((unit) => unit.batch && unit.handling && sameGroup(unit.jobs[0].job, waiting[0].job));

  /** The next unit from the waiting jobs: the oldest, with the jobs of its kind and integration when it batches. */
  function nextUnit(): Claimed[] {
    const first = waiting.shift()!;
    if (!batches(first.job)) return [first];
    const unit = [first];
    for (let i = 0; i < waiting.length && unit.length < batchSize;) {
      const { job } = waiting[i];
      if (sameGroup(job, first.job)) unit.push(...waiting.splice(i, 1));
      else i++;
    }
    return unit;
  }

  async function mainLoop() {
    while (running) {
      try {
        await reportDepth();
        const free = concurrency - units.size;
        let claimed = 0;
        // Wide, the next claim is taken while one batch runs and waits for it (batches of one kind and
        // integration run one after another): claiming overlaps handling, and what a crash leaves to the
        // lease stays about two batches.
        if (free > 0 && waiting.length === 0 && !(wide && [...units].filter((unit) => unit.batch).length > 1)) {
          const max = wide ? Math.max(free, batchSize) : free;
          const jobs = await queue.claim(max, leaseMs);
          wide = jobs.length === max && jobs.some(batches);
          claimed = jobs.length;
          // Stopped during the claim: these go straight back below, as the waiting ones do.
          waiting.push(...jobs.map(hold));
          if (!running) break;
        }
        while (units.size < concurrency && waiting.length > 0 && !heldBack()) start(nextUnit());
        if (claimed === 0 && running) await sleep(pollMs);
      } catch (error) {
        logger.error({ err: error }, 'claiming jobs failed; retrying');
        if (running) await sleep(Math.max(pollMs, 1000));
      }
    }
  }

  async function release(claimed: Claimed) {
    claimed.released = true;
    // A released job may be claimed again at once: this process must no longer touch its lease.
    clearInterval(claimed.heartbeat);
    if (queue.release)
      await queue
        .release(claimed.job)
        .catch((error) =>
          logger.error(
            { err: error, jobId: claimed.job.id },
            'could not release the job; it is redelivered after its lease',
          ),
        );
  }

  return {
    start() {
      if (running) return;
      running = true;
      loop = mainLoop();
    },

    async stop(deadlineMs) {
      running = false;
      wake?.();
      await loop;
      // Claimed but never started: handed back at once.
      for (const claimed of waiting.splice(0)) await release(claimed);
      const pending = [...units];
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), Math.max(0, deadlineMs));
      });
      const outcome = await Promise.race([
        Promise.all(pending.map((unit) => unit.done)).then(() => 'done' as const),
        deadline,
      ]);
      clearTimeout(timer);
      if (outcome === 'done') return;
      for (const unit of units) {
        if (unit.finished) continue;
        for (const claimed of unit.jobs) {
          if (claimed.handled || claimed.released) continue;
          await release(claimed);
          logger.warn({ jobId: claimed.job.id }, 'shutdown deadline reached: job released unfinished');
        }
      }
    },
  };
}
