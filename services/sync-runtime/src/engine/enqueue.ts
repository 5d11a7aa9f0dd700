/** The one way a job with a record row (a sync run, a pipeline run) reaches the queue. */
import type { Db, Queryable } from '@data-sync/pipelines/db';
import type { NewJob, QueueBinding } from '../queue/binding';
import { describeError } from './runs';

/** The record a job belongs to, written through the caller's repository. */
export interface JobRecord {
  /** Writes the record, 'queued' (inside the enqueue's transaction when the queue lives in the store). */
  insert(tx: Queryable): Promise<void>;
  /** Remembers the job's id on the record. */
  attach(q: Queryable, jobId: string): Promise<void>;
  /** The job could not be enqueued: the record says so, rather than staying 'queued'. */
  fail(q: Queryable, reason: string): Promise<void>;
}

/**
 * Queues `job` for `record`. With a binding in the store, the record and its job commit together;
 * otherwise the record first (so a worker always finds it), then the job, and a failed enqueue fails
 * the record and rethrows. Returns the job id.
 */
export async function enqueueRecorded(db: Db, queue: QueueBinding, job: NewJob, record: JobRecord): Promise<string> {
  if (queue.enqueueWithin) {
    const enqueueWithin = queue.enqueueWithin.bind(queue);
    return db.transaction(async (tx) => {
      await record.insert(tx);
      const id = await enqueueWithin(tx, job);
      await record.attach(tx, id);
      return id;
    });
  }
  await db.transaction((tx) => record.insert(tx));
  let jobId: string;
  try {
    jobId = await queue.enqueue(job);
  } catch (error) {
    await record.fail(db, `could not enqueue: ${describeError(error)}`);
    throw error;
  }
  await record.attach(db, jobId);
  return jobId;
}
