/** Shared by the crash test and its worker process: retries generous enough that kills never dead-letter a job. */
export const CRASH_RETRY = { maxAttempts: 25, baseDelayMs: 20, maxDelayMs: 200 };
/** Lease of the worker process: a killed worker's jobs come back after this. */
export const CRASH_LEASE_MS = 1000;
