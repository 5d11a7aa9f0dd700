/**
 * Connecting an X account to an X integration (OAuth 2.0 Authorization Code with PKCE), shared by the
 * Node API (api/routes/x-authorization.ts) and the Cloudflare Worker's callback route:
 * - start: a PKCE pair, the verifier kept server-side under a random state for 10 minutes, and the X
 *   authorize URL the person opens;
 * - finish: X's redirect back, whose state is its only credential: taken once, so a replayed, expired or
 *   forged redirect is refused; the code is exchanged with the verifier and the grant stored where the X
 *   connector reads it (xGrantKey in the sealed token table).
 * Refusals are XAuthorizationRefused with the HTTP status and a message saying what to do; no token ever
 * reaches a message or a log line.
 */
import { IntegrationError, type ConnectorContext } from '@data-sync/integrations/connector';
import { xConfigSchema, type XConfig } from '@data-sync/integrations/social/x/config';
import { completeXAuthorization, createPkce, xAuthorizeUrl } from '@data-sync/integrations/social/x/oauth2';
import type { AuditEntry } from '../store/audit-repository';
import { X_AUTHORIZATION_TTL_MS, X_CALLBACK_PATH, type XAuthorizationStore } from './x-authorizations';

export class XAuthorizationRefused extends Error {
  constructor(
    readonly status: 400 | 404 | 502,
    /** A stable machine-readable code (snake_case). */
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | null = null,
  ) {
    super(message);
    this.name = 'XAuthorizationRefused';
  }
}

/** An integration as the flow reads it. */
export interface XAuthorizationIntegration {
  readonly id: string;
  readonly name: string;
  readonly system: string;
  readonly config: unknown;
}

export interface XAuthorizationDeps {
  readonly store: XAuthorizationStore;
  readonly integrations: {
    getById(id: string): Promise<XAuthorizationIntegration | null>;
    /** The config with its credential references resolved. */
    resolvedConfig(integration: XAuthorizationIntegration): unknown;
    /** What an x connector is created with (the fetch limited to X's hosts). */
    connectorContext(system: string): ConnectorContext;
  };
  readonly audit: (entry: AuditEntry) => Promise<void>;
  readonly now: () => number;
}

/** X's redirect: `code` and `state` when the person approved, `error` (and `state`) when not. */
export interface XCallbackQuery {
  readonly state?: string;
  readonly code?: string;
  readonly error?: string;
  readonly error_description?: string;
}

type AuthorizingConfig = XConfig & { clientId: string; redirectUri: string };

/** The integration's X config with what an authorization needs, or a 400 naming the missing field. */
function authorizingConfig(deps: XAuthorizationDeps, integration: XAuthorizationIntegration): AuthorizingConfig {
  if (integration.system !== 'x')
    throw new XAuthorizationRefused(
      400,
      'not_an_x_integration',
      `integration "${integration.name}" is a ${integration.system} integration; only x integrations authorize an X account`,
    );
  const parsed = xConfigSchema.safeParse(deps.integrations.resolvedConfig(integration));
  if (!parsed.success)
    throw new XAuthorizationRefused(
      400,
      'invalid_config',
      `integration "${integration.name}" has an invalid x config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const config = parsed.data;
  if (!config.clientId)
    throw new XAuthorizationRefused(
      400,
      'invalid_config',
      `integration "${integration.name}" has no config.clientId (the X app's OAuth 2.0 client id)`,
      { field: 'config.clientId' },
    );
  if (!config.redirectUri)
    throw new XAuthorizationRefused(
      400,
      'invalid_config',
      `integration "${integration.name}" has no config.redirectUri (this runtime's URL + ${X_CALLBACK_PATH}, the stack output x_oauth_callback_url, registered as the X app's callback URI)`,
      { field: 'config.redirectUri' },
    );
  return config as AuthorizingConfig;
}

async function existing(deps: XAuthorizationDeps, id: string): Promise<XAuthorizationIntegration> {
  const integration = await deps.integrations.getById(id);
  if (!integration) throw new XAuthorizationRefused(404, 'not_found', `integration "${id}" does not exist`);
  return integration;
}

/** Keeps a new authorization of integration `id` pending and answers the URL the person approves at. */
export async function startXAuthorization(
  deps: XAuthorizationDeps,
  id: string,
): Promise<{ integration: string; authorizeUrl: string; expiresAt: string }> {
  const integration = await existing(deps, id);
  const config = authorizingConfig(deps, integration);
  const createdAt = deps.now();
  // Abandoned authorizations go here rather than in a sweep: each start clears the expired ones.
  await deps.store.purgeExpired(createdAt);
  const pkce = createPkce();
  const expiresAt = createdAt + X_AUTHORIZATION_TTL_MS;
  const state = await deps.store.begin({
    integrationId: integration.id,
    codeVerifier: pkce.verifier,
    redirectUri: config.redirectUri,
    createdAt,
    expiresAt,
  });
  return {
    integration: integration.name,
    authorizeUrl: xAuthorizeUrl(config, { redirectUri: config.redirectUri, state, challenge: pkce.challenge }),
    expiresAt: new Date(expiresAt).toISOString(),
  };
}

/** Completes the authorization X redirected back with; returns the integration's name. */
export async function finishXAuthorization(
  deps: XAuthorizationDeps,
  query: XCallbackQuery,
): Promise<{ integration: string }> {
  if (!query.state)
    throw new XAuthorizationRefused(
      400,
      'invalid_state',
      'the callback has no state: start again from the authorize call',
    );
  const pending = await deps.store.take(query.state);
  if (!pending)
    throw new XAuthorizationRefused(
      400,
      'invalid_state',
      'this authorization is unknown or was already used: start again from the authorize call',
    );
  if (pending.expiresAt <= deps.now())
    throw new XAuthorizationRefused(
      400,
      'expired_state',
      `this authorization expired at ${new Date(pending.expiresAt).toISOString()} (10 minutes after it started): start again`,
    );
  const integration = await existing(deps, pending.integrationId);
  const audit = (outcome: string, details: Record<string, unknown> = {}) =>
    deps.audit({
      actor: 'oauth:x',
      action: 'x.authorization',
      target: `integration:${integration.name}`,
      outcome,
      details,
    });
  if (query.error) {
    await audit('denied', { error: query.error });
    throw new XAuthorizationRefused(
      400,
      'authorization_denied',
      `X answered ${query.error}${query.error_description ? `: ${query.error_description}` : ''}; the account was not connected`,
      { error: query.error },
    );
  }
  if (!query.code)
    throw new XAuthorizationRefused(400, 'validation_failed', 'the callback has neither a code nor an error');
  const config = authorizingConfig(deps, integration);
  try {
    await completeXAuthorization(
      config,
      { ...deps.integrations.connectorContext('x'), tokenStore: deps.store.grants, now: deps.now },
      { code: query.code, verifier: pending.codeVerifier, redirectUri: pending.redirectUri },
    );
  } catch (failure) {
    if (!(failure instanceof IntegrationError)) throw failure;
    await audit('failed', { reason: failure.message });
    // A refused code is the redirect's fault (400); anything else at X's token endpoint is X's (502).
    const refused = failure.status === 400;
    throw new XAuthorizationRefused(
      refused ? 400 : 502,
      refused ? 'authorization_refused' : 'vendor_error',
      `X did not complete the authorization: ${failure.message}`,
    );
  }
  await audit('ok', { userId: config.userId });
  return { integration: integration.name };
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The page the person's browser lands on once the account is connected. */
export const xConnectedPage = (integration: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>X account connected</title></head>` +
  `<body><h1>X account connected</h1><p>The integration <strong>${escapeHtml(integration)}</strong> now reads ` +
  `with this account's authorization. You can close this page.</p></body></html>`;
