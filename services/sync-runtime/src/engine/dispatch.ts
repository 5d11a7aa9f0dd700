/** Job dispatch: every entry point hands its jobs to handle(), which checks them and runs their kind's handler. */
import { parseJobMessage } from '@data-sync/config/job-message';
import type { Job, JobKind } from '../queue/binding';

export type JobHandler = (job: Job) => Promise<void>;

export interface JobDispatch {
  /** The job handler the worker and the Lambda call; throws when the job must be retried. */
  handle(job: Job): Promise<void>;
  /** Adds (or replaces) the handler of a job kind ('webhook', 'pipeline', 'erasure'). */
  registerHandler(kind: JobKind, handler: JobHandler): void;
  /** The job kinds that have a handler. */
  kinds(): JobKind[];
}

export function createJobDispatch(initial: Partial<Record<JobKind, JobHandler>>): JobDispatch {
  const handlers = new Map(Object.entries(initial) as [JobKind, JobHandler][]);
  return {
    async handle(job) {
      // The payload is checked against the job-message contract once, here.
      parseJobMessage(
        { kind: job.kind, integration: job.integration, payload: job.payload },
        `${job.kind} job ${job.id}`,
      );
      const handler = handlers.get(job.kind);
      if (!handler) throw new Error(`no handler for job kind ${JSON.stringify(job.kind)} (job ${job.id})`);
      await handler(job);
    },
    registerHandler(kind, handler) {
      handlers.set(kind, handler);
    },
    kinds: () => [...handlers.keys()],
  };
}
