/**
 * Connecting an X account to an X integration (OAuth 2.0 Authorization Code with PKCE):
 * - `POST /api/integrations/:id/x/authorize` (admin) keeps a PKCE verifier server-side under a random state
 *   for 10 minutes and answers the X authorize URL the person opens;
 * - `GET /oauth/x/callback` is where X sends the person's browser back. It carries no API token: the state is
 *   its credential, taken once, so a replayed, expired or forged redirect is refused. The code is exchanged with
 *   the verifier and the grant stored where the X connector reads it (xGrantKey in the sealed token table).
 * Neither answer nor any log line holds a token; the request log drops query strings (logger.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IntegrationError } from '@data-sync/integrations/connector';
import { xConfigSchema, type XConfig } from '@data-sync/integrations/social/x/config';
import { completeXAuthorization, createPkce, xAuthorizeUrl } from '@data-sync/integrations/social/x/oauth2';
import { ApiError, notFound } from '../errors';
import { errorResponses, idParam } from '../schemas';
import type { Integration, IntegrationStore } from '../../store/integrations-repository';
import type { AuditRepository } from '../../store/audit-repository';
import { X_AUTHORIZATION_TTL_MS, X_CALLBACK_PATH, type XAuthorizationStore } from '../../social/x-authorizations';

export interface XAuthorizationRouteDeps {
  readonly integrations: IntegrationStore;
  /** Pending authorizations and the grant store; null: both routes answer 501. */
  readonly xAuthorizations: XAuthorizationStore | null;
  readonly audit: AuditRepository;
  /** The clock states expire by. @default Date.now */
  readonly now?: () => number;
}

interface CallbackQuery {
  state?: string;
  code?: string;
  error?: string;
  error_description?: string;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const connectedPage = (integration: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>X account connected</title></head>` +
  `<body><h1>X account connected</h1><p>The integration <strong>${escapeHtml(integration)}</strong> now reads ` +
  `with this account's authorization. You can close this page.</p></body></html>`;

export const xAuthorizationRoutes = (deps: XAuthorizationRouteDeps) => async (app: FastifyInstance) => {
  const now = deps.now ?? Date.now;

  function store(): XAuthorizationStore {
    if (!deps.xAuthorizations)
      throw new ApiError(501, 'not_implemented', 'this runtime has no token store to keep X authorizations in');
    return deps.xAuthorizations;
  }

  /** The integration's X config with what an authorization needs, or a 400 naming the missing field. */
  function authorizationConfig(integration: Integration): XConfig & { clientId: string; redirectUri: string } {
    if (integration.system !== 'x')
      throw new ApiError(
        400,
        'not_an_x_integration',
        `integration "${integration.name}" is a ${integration.system} integration; only x integrations authorize an X account`,
      );
    const parsed = xConfigSchema.safeParse(deps.integrations.resolvedConfig(integration));
    if (!parsed.success)
      throw new ApiError(
        400,
        'invalid_config',
        `integration "${integration.name}" has an invalid x config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    const config = parsed.data;
    for (const field of ['clientId', 'redirectUri'] as const)
      if (!config[field])
        throw new ApiError(
          400,
          'invalid_config',
          field === 'clientId'
            ? `integration "${integration.name}" has no config.clientId (the X app's OAuth 2.0 client id)`
            : `integration "${integration.name}" has no config.redirectUri (this runtime's URL + ${X_CALLBACK_PATH}, registered as the X app's callback URI)`,
          { field: `config.${field}` },
        );
    return config as XConfig & { clientId: string; redirectUri: string };
  }

  app.post(
    '/api/integrations/:id/x/authorize',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['integrations'],
        summary: 'Start connecting an X account: the X authorize URL (OAuth 2.0 with PKCE) to open within 10 minutes',
        params: idParam,
        response: {
          200: {
            type: 'object',
            properties: { authorizeUrl: { type: 'string' }, expiresAt: { type: 'string' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string } }>) => {
      const pending = store();
      const integration = await deps.integrations.getById(request.params.id);
      if (!integration) throw notFound('integration', request.params.id);
      const config = authorizationConfig(integration);
      const createdAt = now();
      // Abandoned authorizations go here rather than in a sweep: each start clears the expired ones.
      await pending.purgeExpired(createdAt);
      const pkce = createPkce();
      const expiresAt = createdAt + X_AUTHORIZATION_TTL_MS;
      const state = await pending.begin({
        integrationId: integration.id,
        codeVerifier: pkce.verifier,
        redirectUri: config.redirectUri,
        createdAt,
        expiresAt,
      });
      request.auditDetails = { integration: integration.name, expiresAt: new Date(expiresAt).toISOString() };
      return {
        authorizeUrl: xAuthorizeUrl(config, { redirectUri: config.redirectUri, state, challenge: pkce.challenge }),
        expiresAt: new Date(expiresAt).toISOString(),
      };
    },
  );

  app.get(
    X_CALLBACK_PATH,
    {
      // X redirects the person's browser here without an API token; the single-use state authenticates it.
      config: { access: 'public' },
      schema: {
        tags: ['integrations'],
        summary: "X's redirect after the person approved (or declined) connecting their account",
        security: [],
        querystring: {
          type: 'object',
          properties: {
            state: { type: 'string', maxLength: 512 },
            code: { type: 'string', maxLength: 2048 },
            error: { type: 'string', maxLength: 256 },
            error_description: { type: 'string', maxLength: 1024 },
          },
        },
        response: { 200: { type: 'string' }, ...errorResponses },
      },
    },
    async (request: FastifyRequest<{ Querystring: CallbackQuery }>, reply) => {
      const { state, code, error, error_description: description } = request.query;
      if (!state)
        throw new ApiError(400, 'invalid_state', 'the callback has no state: start again from the authorize call');
      const pending = await store().take(state);
      if (!pending)
        throw new ApiError(
          400,
          'invalid_state',
          'this authorization is unknown or was already used: start again from the authorize call',
        );
      if (pending.expiresAt <= now())
        throw new ApiError(
          400,
          'expired_state',
          `this authorization expired at ${new Date(pending.expiresAt).toISOString()} (10 minutes after it started): start again`,
        );
      const integration = await deps.integrations.getById(pending.integrationId);
      if (!integration) throw notFound('integration', pending.integrationId);
      const audit = (outcome: string, details: Record<string, unknown> = {}) =>
        deps.audit.write({
          actor: 'oauth:x',
          action: 'x.authorization',
          target: `integration:${integration.name}`,
          outcome,
          details: { requestId: request.id, ...details },
        });
      if (error) {
        await audit('denied', { error });
        throw new ApiError(
          400,
          'authorization_denied',
          `X answered ${error}${description ? `: ${description}` : ''}; the account was not connected`,
          { error },
        );
      }
      if (!code) throw new ApiError(400, 'validation_failed', 'the callback has neither a code nor an error');
      const config = authorizationConfig(integration);
      try {
        await completeXAuthorization(
          config,
          { ...deps.integrations.connectorContext('x'), tokenStore: store().grants, now },
          { code, verifier: pending.codeVerifier, redirectUri: pending.redirectUri },
        );
      } catch (failure) {
        if (!(failure instanceof IntegrationError)) throw failure;
        await audit('failed', { reason: failure.message });
        // A refused code is the redirect's fault (400); anything else at X's token endpoint is X's (502).
        throw new ApiError(
          failure.status === 400 ? 400 : 502,
          failure.status === 400 ? 'authorization_refused' : 'vendor_error',
          `X did not complete the authorization: ${failure.message}`,
        );
      }
      await audit('ok', { userId: config.userId });
      request.log.info({ integration: integration.name }, 'X account connected');
      return reply.type('text/html; charset=utf-8').send(connectedPage(integration.name));
    },
  );
};
