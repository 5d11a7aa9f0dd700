/** API tokens in the store: only their SHA-256 hashes are kept; the token itself is shown once. */
import { randomUUID } from 'crypto';
import type { Queryable } from '@data-sync/pipelines/db';
import { Role, generateToken, hashToken } from '../security/tokens';

export interface TokenInfo {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

interface TokenRow {
  id: string;
  name: string;
  role: Role;
  created_at: Date | string;
  revoked_at: Date | string | null;
}

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());
const toInfo = (r: TokenRow): TokenInfo => ({
  id: r.id,
  name: r.name,
  role: r.role,
  createdAt: iso(r.created_at)!,
  revokedAt: iso(r.revoked_at),
});

export class TokenNameTaken extends Error {
  constructor(name: string) {
    super(`a token named "${name}" already exists`);
    this.name = 'TokenNameTaken';
  }
}

export function createTokenStore(db: Queryable) {
  return {
    /** Creates a token; the plain token is returned here only. */
    async create(name: string, role: Role): Promise<{ token: string; info: TokenInfo }> {
      const token = generateToken();
      const { rows } = await db.query<TokenRow>(
        `INSERT INTO api_tokens (id, name, token_hash, role) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO NOTHING RETURNING id, name, role, created_at, revoked_at`,
        [randomUUID(), name, hashToken(token), role],
      );
      if (rows.length === 0) throw new TokenNameTaken(name);
      return { token, info: toInfo(rows[0]) };
    },
    /** The live token matching `token`, or null. */
    async verify(token: string): Promise<TokenInfo | null> {
      const { rows } = await db.query<TokenRow>(
        'SELECT id, name, role, created_at, revoked_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
        [hashToken(token)],
      );
      return rows.length ? toInfo(rows[0]) : null;
    },
    async list(): Promise<TokenInfo[]> {
      const { rows } = await db.query<TokenRow>(
        'SELECT id, name, role, created_at, revoked_at FROM api_tokens ORDER BY created_at, name',
      );
      return rows.map(toInfo);
    },
    /** Revokes a token; false when no live token has that id. */
    async revoke(id: string): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL',
        [id],
      );
      return rowCount > 0;
    },
    /**
     * The deployed environments' admin token, read from the secret manager (DATA_SYNC_ADMIN_TOKEN): stored as
     * the `admin` token's hash. A new value in the secret replaces the old hash at the next start (rotation);
     * an unchanged one leaves the token as it is, revoked or not.
     */
    async ensureAdmin(token: string): Promise<void> {
      await db.query(
        `INSERT INTO api_tokens (id, name, token_hash, role) VALUES ($1, 'admin', $2, 'admin')
         ON CONFLICT (name) DO UPDATE SET token_hash = EXCLUDED.token_hash, role = 'admin', revoked_at = NULL
         WHERE api_tokens.token_hash <> EXCLUDED.token_hash`,
        [randomUUID(), hashToken(token)],
      );
    },
    /**
     * On first start (no token at all), creates an admin token and returns it so it can be printed
     * once; afterwards returns null. Development only: deployed environments use ensureAdmin.
     */
    async bootstrapAdmin(): Promise<string | null> {
      const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM api_tokens');
      if (Number(rows[0].n) > 0) return null;
      try {
        return (await this.create('admin', 'admin')).token;
      } catch (error) {
        if (error instanceof TokenNameTaken) return null;
        throw error;
      }
    },
  };
}

export type TokenStore = ReturnType<typeof createTokenStore>;
