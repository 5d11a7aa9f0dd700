/** Records the pipeline quarantined (invalid rows with their reasons), listed and replayed through pipelines/. */
import type { Db } from '@data-sync/pipelines/db';
import type { BatchCounts, PipelinesApi } from '../api/deps';

export interface QuarantineRepository {
  /** A page of quarantined records with their errors, of one integration or all. */
  list(query: {
    integration?: string;
    limit: number;
    offset: number;
  }): Promise<{ items: readonly unknown[]; total: number }>;
  /** Runs quarantined records (the given ids, or all) through the pipeline again with the current rules. */
  replay(ids?: readonly string[]): Promise<BatchCounts>;
}

export function createQuarantineRepository(
  db: Db,
  pipelines: Pick<PipelinesApi, 'listQuarantine' | 'replayQuarantine'>,
): QuarantineRepository {
  return {
    list: (query) => pipelines.listQuarantine(db, query),
    replay: (ids) => pipelines.replayQuarantine(db, ids),
  };
}
