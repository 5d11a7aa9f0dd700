/**
 * X OAuth 2.0 user context: Authorization Code with PKCE (S256) to obtain the first grant, then
 * short-lived access tokens (2 hours) renewed with refresh tokens that X rotates (each refresh token
 * works once, `offline.access` scope). The grant lives in the connector context's TokenStore (sealed
 * in the runtime's database, as Constant Contact's rotating tokens are), so every process and a restart
 * present the newest refresh token, and refreshes are serialized by the store's lock.
 */
import { createHash, randomBytes } from 'crypto';
import { IntegrationError, type ConnectorContext } from '../../connector';
import { GrantRevoked, OAuthSession, processTokenStore, type Grant } from '../../http/oauth-session';
import { VendorHttp } from '../../http/vendor-http';
import type { XConfig } from './config';

/** Scopes read by the connector; `offline.access` is what makes X issue a refresh token. */
export const X_USER_SCOPES = ['tweet.read', 'users.read', 'follows.read', 'offline.access'] as const;

export interface PkcePair {
  /** Kept by the service until the code comes back; never sent to the browser. */
  readonly verifier: string;
  readonly challenge: string;
  readonly method: 'S256';
}

/** RFC 7636: a 43-character verifier from 32 random bytes, and its S256 challenge. */
export function createPkce(): PkcePair {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: s256(verifier), method: 'S256' };
}

export const s256 = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url');

/** Client id and secret of the OAuth 2.0 app, or a clear error naming what is missing. */
function client(config: XConfig): { clientId: string; clientSecret?: string } {
  if (!config.clientId)
    throw new IntegrationError(
      'x',
      'invalid_config',
      'clientId (the OAuth 2.0 client id) is required for user context',
    );
  return { clientId: config.clientId, clientSecret: config.clientSecret };
}

/** Where the person is sent to approve the app. */
export function xAuthorizeUrl(
  config: XConfig,
  options: { redirectUri: string; state: string; challenge: string; scopes?: readonly string[] },
): string {
  const url = new URL(config.authorizeUrl);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: client(config).clientId,
    redirect_uri: options.redirectUri,
    scope: (options.scopes ?? X_USER_SCOPES).join(' '),
    state: options.state,
    code_challenge: options.challenge,
    code_challenge_method: 'S256',
  }).toString();
  return url.toString();
}

/** The store key of a grant: the app and the account, so an authorization is found without any config token. */
export const xGrantKey = (config: XConfig): string =>
  `x:oauth2:${createHash('sha256')
    .update(`${client(config).clientId}\n${config.userId}`)
    .digest('hex')}`;

interface TokenAnswer {
  access_token?: string;
  expires_in?: number;
  refresh_token?: string;
  error?: string;
  error_description?: string;
}

const tokenMessage = (body: unknown) => {
  const b = body as TokenAnswer | undefined;
  return b && typeof b === 'object'
    ? [b.error, b.error_description].filter(Boolean).join(': ') || undefined
    : undefined;
};

/** The token endpoint: confidential clients authenticate with Basic, public ones send client_id. */
async function tokenCall(config: XConfig, context: ConnectorContext, form: Record<string, string>): Promise<Grant> {
  const { clientId, clientSecret } = client(config);
  const http = new VendorHttp({ integration: 'x', baseUrl: config.tokenUrl, context, errorMessage: tokenMessage });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (clientSecret) headers.authorization = `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
  const response = await http.request<TokenAnswer>({
    method: 'POST',
    path: config.tokenUrl,
    body: new URLSearchParams({ ...form, client_id: clientId }).toString(),
    headers,
    accept: [400, 401],
  });
  // X answers a used, revoked or unknown refresh token or code with 400 invalid_request / invalid_grant.
  if (
    response.status === 400 &&
    (response.body?.error === 'invalid_request' || response.body?.error === 'invalid_grant')
  )
    throw new GrantRevoked(tokenMessage(response.body) ?? 'invalid_request');
  if (response.status !== 200 || !response.body?.access_token)
    throw new IntegrationError(
      'x',
      'auth',
      `token endpoint answered ${response.status}: ${tokenMessage(response.body) ?? 'no access token'}`,
      response.status,
    );
  return {
    accessToken: response.body.access_token,
    refreshToken: response.body.refresh_token,
    expiresInMs: (response.body.expires_in ?? 7200) * 1000,
  };
}

/**
 * Exchanges the authorization code (with the verifier whose challenge went to the authorize URL) and
 * stores the grant under the account's key before returning, so the first refresh token is durable.
 */
export async function completeXAuthorization(
  config: XConfig,
  context: ConnectorContext,
  options: { code: string; verifier: string; redirectUri: string },
): Promise<void> {
  let grant: Grant;
  try {
    grant = await tokenCall(config, context, {
      grant_type: 'authorization_code',
      code: options.code,
      redirect_uri: options.redirectUri,
      code_verifier: options.verifier,
    });
  } catch (error) {
    if (error instanceof GrantRevoked)
      throw new IntegrationError('x', 'auth', `the authorization code was refused (${error.vendorMessage})`, 400);
    throw error;
  }
  if (!grant.refreshToken)
    throw new IntegrationError('x', 'auth', 'X issued no refresh token: the authorization must include offline.access');
  const now = context.now?.() ?? Date.now();
  await (context.tokenStore ?? processTokenStore).locked(xGrantKey(config), async () => ({
    refreshToken: grant.refreshToken!,
    accessToken: grant.accessToken,
    expiresAt: now + grant.expiresInMs,
  }));
}

/** The session of the authorized account: access tokens refreshed ahead of expiry, rotations stored. */
export function xUserSession(config: XConfig, context: ConnectorContext): OAuthSession {
  return new OAuthSession({
    integration: 'x',
    key: xGrantKey(config),
    // A refresh token from the config is used until the store holds a newer one (or an authorization).
    initialRefreshToken: config.refreshToken ?? '',
    store: context.tokenStore,
    now: context.now,
    refresh: async (refreshToken) => {
      if (!refreshToken) throw new GrantRevoked('no grant stored: authorize the app for this account first');
      return tokenCall(config, context, { grant_type: 'refresh_token', refresh_token: refreshToken });
    },
  });
}
