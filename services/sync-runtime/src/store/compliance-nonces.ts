/**
 * Nonces of the signed compliance webhooks, in the store so every instance sees them: a nonce is claimed once;
 * claimed again within the signature's skew window it is a replay. Older ones are pruned, as the timestamp
 * check already refuses their requests.
 */
import type { Queryable } from '@data-sync/pipelines/db';
import { SKEW_SECONDS } from '../security/compliance-signature';

export interface ComplianceNonces {
  /** True the first time `nonce` is seen for `endpoint`, false for a replay. */
  claim(endpoint: string, nonce: string): Promise<boolean>;
}

export function createComplianceNonces(db: Queryable): ComplianceNonces {
  return {
    async claim(endpoint, nonce) {
      // Twice the window: a timestamp may be up to SKEW_SECONDS ahead of this clock as well as behind it.
      await db.query(`DELETE FROM compliance_nonces WHERE seen_at < now() - make_interval(secs => $1)`, [
        2 * SKEW_SECONDS,
      ]);
      const { rowCount } = await db.query(
        'INSERT INTO compliance_nonces (endpoint, nonce) VALUES ($1, $2) ON CONFLICT DO NOTHING',
        [endpoint, nonce],
      );
      return rowCount > 0;
    },
  };
}
