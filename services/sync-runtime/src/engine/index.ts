/** The sync engine, its worker loop and scheduler: what the API, the entry points and the Lambda use. */
export { createSyncEngine } from './engine';
export { toRunRecord } from '../store/runs-repository';
export type { JobHandler, SyncEngine, SyncEngineDeps } from './engine';
export { createWorker } from './worker';
export type { Worker, WorkerDeps } from './worker';
export { createScheduler } from './scheduler';
export type { Scheduler, SchedulerDeps } from './scheduler';
export { createStoreSink } from './sink';
export type { StoreSinkOptions } from './sink';
export * from './types';
