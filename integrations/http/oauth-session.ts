/**
 * OAuth2 refresh-token sessions that survive restarts and share one grant across processes.
 * Vendors that rotate refresh tokens (Constant Contact: each works once) invalidate the old one on
 * every refresh, so the new one must be stored before anything uses it, and two workers must never
 * refresh at the same time with the same token. The session keeps the tokens in a TokenStore,
 * refreshes under the store's lock (re-reading first: another process may have just refreshed),
 * refreshes ahead of expiry, and turns a revoked grant into an `auth` IntegrationError.
 */
import { IntegrationError } from '../connector';

export interface StoredTokens {
  /** The refresh token to present next (rotating vendors: the newest one issued). */
  readonly refreshToken: string;
  readonly accessToken?: string;
  /** When the access token expires, epoch ms. */
  readonly expiresAt?: number;
  /** The data centre / instance the access token is for, where the vendor says (Zoho's api_domain). */
  readonly apiDomain?: string;
}

/** Where sessions keep their tokens; the runtime passes a store-backed one shared by every process. */
export interface TokenStore {
  get(key: string): Promise<StoredTokens | undefined>;
  /**
   * Runs `update` holding `key`'s lock, which one caller in every process holds at a time; `update`
   * sees the tokens stored when the lock was taken and returns those to store (undefined: keep them).
   * The new tokens are stored before `locked` resolves.
   */
  locked(
    key: string,
    update: (current: StoredTokens | undefined) => Promise<StoredTokens | undefined>,
  ): Promise<StoredTokens | undefined>;
}

/** A process-local store: what a connector uses when the runtime passes none. */
export class MemoryTokenStore implements TokenStore {
  private readonly tokens = new Map<string, StoredTokens>();
  private readonly queues = new Map<string, Promise<unknown>>();

  async get(key: string): Promise<StoredTokens | undefined> {
    return this.tokens.get(key);
  }

  locked(
    key: string,
    update: (current: StoredTokens | undefined) => Promise<StoredTokens | undefined>,
  ): Promise<StoredTokens | undefined> {
    const run = (this.queues.get(key) ?? Promise.resolve()).then(async () => {
      const next = await update(this.tokens.get(key));
      if (next) this.tokens.set(key, next);
      return this.tokens.get(key);
    });
    this.queues.set(
      key,
      run.catch(() => undefined),
    );
    return run;
  }
}

/** The process-wide default store, so instances in one process share a rotated token without a runtime store. */
export const processTokenStore = new MemoryTokenStore();

/** What a vendor's token endpoint answered. */
export interface Grant {
  readonly accessToken: string;
  /** A rotated refresh token; absent when the vendor keeps the old one. */
  readonly refreshToken?: string;
  readonly expiresInMs: number;
  readonly apiDomain?: string;
}

/** Thrown by a session's `refresh` when the vendor refuses the refresh token itself (invalid_grant). */
export class GrantRevoked extends Error {
  constructor(readonly vendorMessage: string) {
    super(vendorMessage);
    this.name = 'GrantRevoked';
  }
}

export interface OAuthSessionOptions {
  readonly integration: string;
  /** Identifies the grant (application and account), e.g. a hash of client id and the configured refresh token. */
  readonly key: string;
  /** The refresh token from the config: used until the store holds a newer one. */
  readonly initialRefreshToken: string;
  readonly store?: TokenStore;
  /** Calls the token endpoint; throws GrantRevoked when the refresh token is refused. */
  readonly refresh: (refreshToken: string) => Promise<Grant>;
  /** Refresh this long before the access token expires (default 5 minutes). */
  readonly refreshAheadMs?: number;
  readonly now?: () => number;
}

export class OAuthSession {
  private readonly store: TokenStore;
  private readonly now: () => number;
  private readonly aheadMs: number;
  private current?: StoredTokens;
  private pending?: Promise<StoredTokens>;

  constructor(private readonly options: OAuthSessionOptions) {
    this.store = options.store ?? processTokenStore;
    this.now = options.now ?? Date.now;
    this.aheadMs = options.refreshAheadMs ?? 5 * 60_000;
  }

  /** A usable access token (and its api domain): cached, else stored by any process, else refreshed. */
  async tokens(): Promise<StoredTokens & { accessToken: string }> {
    if (this.usable(this.current)) return this.current;
    this.pending ??= this.obtain(undefined).finally(() => {
      this.pending = undefined;
    });
    return (await this.pending) as StoredTokens & { accessToken: string };
  }

  async accessToken(): Promise<string> {
    return (await this.tokens()).accessToken;
  }

  /** The vendor refused `accessToken` (401): the next call takes a newer one, refreshing if nobody has. */
  async rejected(accessToken: string): Promise<void> {
    if (this.current?.accessToken === accessToken) this.current = undefined;
    this.pending ??= this.obtain(accessToken).finally(() => {
      this.pending = undefined;
    });
    await this.pending;
  }

  private usable(
    tokens: StoredTokens | undefined,
    rejected?: string,
  ): tokens is StoredTokens & { accessToken: string } {
    return Boolean(
      tokens?.accessToken && tokens.accessToken !== rejected && (tokens.expiresAt ?? 0) - this.aheadMs > this.now(),
    );
  }

  private async obtain(rejected: string | undefined): Promise<StoredTokens> {
    const stored = await this.store.get(this.options.key);
    if (this.usable(stored, rejected)) return (this.current = stored);
    const result = await this.store.locked(this.options.key, async (latest) => {
      // Another process may have refreshed while this one waited for the lock.
      if (this.usable(latest, rejected)) return undefined;
      const refreshToken = latest?.refreshToken ?? this.options.initialRefreshToken;
      let grant: Grant;
      try {
        grant = await this.options.refresh(refreshToken);
      } catch (error) {
        if (error instanceof GrantRevoked) {
          throw new IntegrationError(
            this.options.integration,
            'auth',
            `the refresh token was refused (${error.vendorMessage}): the grant was revoked, expired, or a rotated token was lost; reauthorize the application`,
            400,
          );
        }
        throw error;
      }
      return {
        refreshToken: grant.refreshToken ?? refreshToken,
        accessToken: grant.accessToken,
        expiresAt: this.now() + grant.expiresInMs,
        apiDomain: grant.apiDomain ?? latest?.apiDomain,
      };
    });
    if (!result?.accessToken)
      throw new IntegrationError(this.options.integration, 'auth', 'no access token after refreshing');
    return (this.current = result);
  }
}
