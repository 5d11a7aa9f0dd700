/**
 * Pending X account authorizations (OAuth 2.0 Authorization Code with PKCE): between the admin's
 * authorize call and X's redirect back to the callback, the PKCE verifier waits server-side under the
 * `state` sent through the person's browser. The state is the only credential the callback holds, so a
 * row is keyed by the state's hash (a database reader cannot complete someone else's authorization), its
 * verifier is sealed by the runtime's keyring, and taking it deletes it in the same statement: one use.
 */
import { createHash, randomBytes } from 'crypto';
import type { Db, Migration } from '@data-sync/pipelines/db';
import type { TokenStore } from '@data-sync/integrations/http/oauth-session';
import type { Sealer } from '@data-sync/integrations/http/sql-token-store';

/** X redirects the person's browser here (the redirect URI registered with the X app ends with it). */
export const X_CALLBACK_PATH = '/oauth/x/callback';

/** How long a person has to approve at X before the state is refused. */
export const X_AUTHORIZATION_TTL_MS = 10 * 60_000;

export const X_AUTHORIZATION_MIGRATIONS: readonly Migration[] = [
  {
    id: '460_x_authorization_states',
    sql: `
      -- An authorization waiting for X's redirect: by sha256(state), the sealed PKCE verifier and where it goes back.
      CREATE TABLE x_authorization_states (
        state_hash text PRIMARY KEY,
        integration_id text NOT NULL,
        code_verifier_sealed text NOT NULL,
        redirect_uri text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL
      );
      CREATE INDEX x_authorization_states_expiry ON x_authorization_states (expires_at)`,
  },
];

export interface PendingXAuthorization {
  readonly integrationId: string;
  readonly codeVerifier: string;
  readonly redirectUri: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

export interface XAuthorizationStore {
  /** Where a completed authorization's grant is stored: the token store the engine's X connectors read. */
  readonly grants: TokenStore;
  /** Keeps `pending` under a new random state (32 bytes, base64url) and returns the state. */
  begin(pending: PendingXAuthorization): Promise<string>;
  /** The authorization waiting under `state`, deleted as it is read (expired ones too); undefined when unknown. */
  take(state: string): Promise<PendingXAuthorization | undefined>;
  /** Deletes the authorizations that expired before `now`; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

const stateHash = (state: string) => createHash('sha256').update(state).digest('hex');

export function createXAuthorizationStore(db: Db, sealer: Sealer, grants: TokenStore): XAuthorizationStore {
  return {
    grants,
    async begin(pending) {
      const state = randomBytes(32).toString('base64url');
      await db.query(
        `INSERT INTO x_authorization_states (state_hash, integration_id, code_verifier_sealed, redirect_uri, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          stateHash(state),
          pending.integrationId,
          await sealer.seal(pending.codeVerifier),
          pending.redirectUri,
          new Date(pending.createdAt).toISOString(),
          new Date(pending.expiresAt).toISOString(),
        ],
      );
      return state;
    },
    async take(state) {
      const { rows } = await db.query<{
        integration_id: string;
        code_verifier_sealed: string;
        redirect_uri: string;
        created_at: string | Date;
        expires_at: string | Date;
      }>('DELETE FROM x_authorization_states WHERE state_hash = $1 RETURNING *', [stateHash(state)]);
      if (rows.length === 0) return undefined;
      const row = rows[0];
      return {
        integrationId: row.integration_id,
        codeVerifier: await sealer.unseal(row.code_verifier_sealed),
        redirectUri: row.redirect_uri,
        createdAt: new Date(row.created_at).getTime(),
        expiresAt: new Date(row.expires_at).getTime(),
      };
    },
    async purgeExpired(now) {
      const { rows } = await db.query<{ n: number }>(
        'WITH gone AS (DELETE FROM x_authorization_states WHERE expires_at < $1 RETURNING 1) SELECT count(*)::int AS n FROM gone',
        [new Date(now).toISOString()],
      );
      return rows[0].n;
    },
  };
}
