/** Job dispatch: every entry point hands its jobs to handle(), which checks them and runs their kind's handler. */
import { parseJobMessage } from '@data-sync/config/job-message';
import type { Job, JobKind } from '../queue/binding';

export type JobHandler = ((job: Job) => Promise<void>) & {
  /** Optional: handles several jobs of the kind as one call; throws when each must be handled again on its own. */
  readonly batch?: (jobs: readonly Job[]) => Promise<void>;
};

export interface JobDispatch {
  /** The job handler the worker and the Lambda call; throws when the job must be retried. */
  handle(job: Job): Promise<void>;
  /** Whether jobs of `kind` can be handed to handleBatch together (their handler has a batch form). */
  batches(kind: JobKind): boolean;
  /**
   * Handles jobs of one kind that batches() as one call. Throws when any of them fails the check or the
   * handler: then none is done, and the caller hands each to handle() on its own.
   */
  handleBatch(jobs: readonly Job[]): Promise<void>;
  /** Adds (or replaces) the handler of a job kind ('webhook', 'pipeline', 'erasure'). */
  registerHandler(kind: JobKind, handler: JobHandler): void;
  /** The job kinds that have a handler. */
  kinds(): JobKind[];
}

export function createJobDispatch(initial: Partial<Record<JobKind, JobHandler>>): JobDispatch {
  const handlers = new Map(Object.entries(initial) as [JobKind, JobHandler][]);
  // The payload is checked against the job-message contract once, here.
  const check = (job: Job) =>
    parseJobMessage(
      { kind: job.kind, integration: job.integration, payload: job.payload },
      `${job.kind} job ${job.id}`,
    );
  const handlerOf = (job: Job) => {
    const handler = handlers.get(job.kind);
    if (!handler) throw new Error(`no handler for job kind ${JSON.stringify(job.kind)} (job ${job.id})`);
    return handler;
  };
  return {
    async handle(job) {
      check(job);
      await handlerOf(job)(job);
    },
    batches: (kind) => handlers.get(kind)?.batch !== undefined,
    async handleBatch(jobs) {
      if (jobs.length === 0) return;
      jobs.forEach(check);
      const handler = handlerOf(jobs[0]);
      const other = jobs.find((job) => job.kind !== jobs[0].kind);
      if (other) throw new Error(`a batch holds ${jobs[0].kind} and ${other.kind} jobs (job ${other.id})`);
      if (!handler.batch) throw new Error(`${jobs[0].kind} jobs have no batch handler`);
      await handler.batch(jobs);
    },
    registerHandler(kind, handler) {
      handlers.set(kind, handler);
    },
    kinds: () => [...handlers.keys()],
  };
}
