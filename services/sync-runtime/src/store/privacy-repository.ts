/** Data subjects' rights in the store: GDPR erasure and CCPA opt-outs, through pipelines/compliance. */
import type { Db } from '@data-sync/pipelines/db';
import type { PipelinesApi } from '../api/deps';

export interface PrivacyRepository {
  /** Erases the subject from the store; queues one vendor erasure request per name in `vendors`. */
  erase(
    email: string,
    opts: { actor: string; vendors?: readonly string[] },
  ): Promise<{ erased: Record<string, number>; vendorErasures: string[] }>;
  optOut(email: string, opts: { actor: string }): Promise<void>;
  isOptedOut(email: string): Promise<boolean>;
}

export function createPrivacyRepository(
  db: Db,
  pipelines: Pick<PipelinesApi, 'eraseSubject' | 'optOut' | 'isOptedOut'>,
): PrivacyRepository {
  return {
    erase: (email, opts) => pipelines.eraseSubject(db, email, opts),
    optOut: (email, opts) => pipelines.optOut(db, email, opts),
    isOptedOut: (email) => pipelines.isOptedOut(db, email),
  };
}
