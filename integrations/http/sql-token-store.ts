/**
 * The TokenStore on the runtime's database (PostgreSQL or PGlite): one row per grant holding its
 * tokens sealed by the runtime's keyring, and a transaction-scoped advisory lock per grant so one
 * process at a time refreshes, across every worker. New tokens are committed before the lock is
 * released and before any caller sees them, so a rotated refresh token is never used unstored.
 */
import type { Db, Queryable } from '@data-sync/pipelines/db';
import type { StoredTokens, TokenStore } from './oauth-session';

/** Encrypts and decrypts the tokens at rest (the runtime passes its Keyring's encrypt/decrypt). */
export interface Sealer {
  seal(plaintext: string): string | Promise<string>;
  unseal(sealed: string): string | Promise<string>;
}

export class SqlTokenStore implements TokenStore {
  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
  ) {}

  async get(key: string): Promise<StoredTokens | undefined> {
    return this.read(this.db, key);
  }

  locked(
    key: string,
    update: (current: StoredTokens | undefined) => Promise<StoredTokens | undefined>,
  ): Promise<StoredTokens | undefined> {
    return this.db.transaction(async (tx) => {
      // Two 32-bit halves of the key's hash, namespaced so they meet no other advisory lock of the runtime.
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('integration_oauth_tokens'), hashtext($1))", [key]);
      const current = await this.read(tx, key);
      const next = await update(current);
      if (!next) return current;
      const sealed = await this.sealer.seal(JSON.stringify(next));
      await tx.query(
        `INSERT INTO integration_oauth_tokens (key, sealed, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (key) DO UPDATE SET sealed = EXCLUDED.sealed, updated_at = now()`,
        [key, sealed],
      );
      return next;
    });
  }

  private async read(q: Queryable, key: string): Promise<StoredTokens | undefined> {
    const { rows } = await q.query<{ sealed: string }>('SELECT sealed FROM integration_oauth_tokens WHERE key = $1', [
      key,
    ]);
    if (rows.length === 0) return undefined;
    return JSON.parse(await this.sealer.unseal(rows[0].sealed)) as StoredTokens;
  }
}
