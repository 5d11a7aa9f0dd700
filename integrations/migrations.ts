/**
 * Tables the integrations keep in the runtime's database; the runtime applies them with its own
 * (pipelines/db `migrate`). Ids start at 400 so they sort after and never meet the pipelines' ones.
 */
import type { Migration } from '@data-sync/pipelines/db';

export const INTEGRATION_MIGRATIONS: readonly Migration[] = [
  {
    id: '400_integration_oauth_tokens',
    sql: `
      -- One OAuth grant's tokens (refresh token, access token, expiry), sealed by the runtime's keyring.
      CREATE TABLE integration_oauth_tokens (
        key text PRIMARY KEY,
        sealed text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
  },
];
