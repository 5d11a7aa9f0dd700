import type { Logger } from 'pino';
import { Job, LeaseLostError, QueueBinding } from '../queue/binding';
import type { SyncEngine } from './engine';
import type { EngineMetrics } from './types';

export interface WorkerDeps {
  readonly queue: QueueBinding;
  readonly engine: Pick<SyncEngine, 'handle'>;
  /** Jobs handled at once (default 4). */
  readonly concurrency?: number;
  /** Lease per claim, renewed every third of it while a job runs (default 30 s). */
  readonly leaseMs?: number;
  /** Wait between claims when the queue is empty (default 250 ms). */
  readonly pollMs?: number;
  readonly logger: Logger;
  /** Queue and dead-letter depth gauges, refreshed every `depthEveryMs` (default 15 s). */
  readonly metrics?: EngineMetrics;
  readonly depthEveryMs?: number;
}

export interface Worker {
  start(): void;
  /**
   * Stops claiming and waits up to `deadlineMs` for in-flight jobs; those still running then are
   * released back to the queue (or, on bindings without release, left to their lease).
   */
  stop(deadlineMs: number): Promise<void>;
}

/** The queue worker loop: claim, handle with a renewed lease, ack; a failure goes back to the binding's retry policy. */
export function createWorker(deps: WorkerDeps): Worker {
  const { queue, engine, logger, metrics } = deps;
  const concurrency = Math.max(1, deps.concurrency ?? 4);
  const leaseMs = deps.leaseMs ?? 30_000;
  const pollMs = deps.pollMs ?? 250;
  const depthEveryMs = deps.depthEveryMs ?? 15_000;
  const inFlight = new Map<
    string,
    { job: Job; done: Promise<void>; finished: boolean; released: boolean; heartbeat?: NodeJS.Timeout }
  >();
  let running = false;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let lastDepth = 0;

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

  function run(job: Job) {
    const key = `${job.id}:${job.attempts}`;
    const entry: { job: Job; done: Promise<void>; finished: boolean; released: boolean; heartbeat?: NodeJS.Timeout } = {
      job,
      done: Promise.resolve(),
      finished: false,
      released: false,
    };
    const log = logger.child({ jobId: job.id, kind: job.kind, attempt: job.attempts });
    const heartbeat = setInterval(
      () => {
        queue.extend(job, leaseMs).catch((error) => {
          clearInterval(heartbeat);
          if (error instanceof LeaseLostError)
            log.warn('lease lost while handling the job; another delivery owns it now');
          else log.error({ err: error }, 'could not extend the lease');
        });
      },
      Math.max(50, Math.floor(leaseMs / 3)),
    );
    entry.heartbeat = heartbeat;
    entry.done = (async () => {
      try {
        await engine.handle(job);
        entry.finished = true;
        if (!entry.released) await queue.ack(job);
      } catch (error) {
        entry.finished = true;
        const message = error instanceof Error ? error.message : String(error);
        if (entry.released) return;
        const outcome = await queue.fail(job, message);
        log.warn(
          { err: message, outcome },
          outcome === 'dead' ? 'job failed for the last time: dead-lettered' : 'job failed: retried after backoff',
        );
      } finally {
        clearInterval(heartbeat);
        inFlight.delete(key);
        wake?.();
      }
    })().catch((error) =>
      log.error({ err: error }, 'could not acknowledge or fail the job; it is redelivered after its lease'),
    );
    inFlight.set(key, entry);
  }

  async function mainLoop() {
    while (running) {
      try {
        await reportDepth();
        const free = concurrency - inFlight.size;
        const jobs = free > 0 ? await queue.claim(free, leaseMs) : [];
        for (const job of jobs) run(job);
        if (jobs.length === 0 && running) await sleep(pollMs);
      } catch (error) {
        logger.error({ err: error }, 'claiming jobs failed; retrying');
        if (running) await sleep(Math.max(pollMs, 1000));
      }
    }
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
      const pending = [...inFlight.values()];
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), Math.max(0, deadlineMs));
      });
      const outcome = await Promise.race([
        Promise.all(pending.map((p) => p.done)).then(() => 'done' as const),
        deadline,
      ]);
      clearTimeout(timer);
      if (outcome === 'done') return;
      for (const entry of inFlight.values()) {
        if (entry.finished) continue;
        entry.released = true;
        // A released job may be claimed again at once: this process must no longer touch its lease.
        clearInterval(entry.heartbeat);
        if (queue.release)
          await queue
            .release(entry.job)
            .catch((error) =>
              logger.error(
                { err: error, jobId: entry.job.id },
                'could not release the job; it is redelivered after its lease',
              ),
            );
        logger.warn({ jobId: entry.job.id }, 'shutdown deadline reached: job released unfinished');
      }
    },
  };
}
