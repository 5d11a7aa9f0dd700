/**
 * Connecting an X account to an X integration (the flow: social/x-authorization-flow.ts):
 * - `POST /api/integrations/:id/x/authorize` (admin) answers the X authorize URL the person opens within 10 minutes;
 * - `GET /oauth/x/callback` is where X sends the person's browser back. It carries no API token: the single-use
 *   state is its credential. The request log drops query strings (logger.ts), so the code never reaches a log.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../errors';
import { errorResponses, idParam } from '../schemas';
import type { IntegrationStore } from '../../store/integrations-repository';
import type { AuditRepository } from '../../store/audit-repository';
import { X_CALLBACK_PATH, type XAuthorizationStore } from '../../social/x-authorizations';
import {
  XAuthorizationRefused,
  finishXAuthorization,
  startXAuthorization,
  xConnectedPage,
  type XAuthorizationDeps,
  type XCallbackQuery,
} from '../../social/x-authorization-flow';

export interface XAuthorizationRouteDeps {
  readonly integrations: IntegrationStore;
  /** Pending authorizations and the grant store; null: both routes answer 501. */
  readonly xAuthorizations: XAuthorizationStore | null;
  readonly audit: AuditRepository;
  /** The clock states expire by. @default Date.now */
  readonly now?: () => number;
}

export const xAuthorizationRoutes = (deps: XAuthorizationRouteDeps) => async (app: FastifyInstance) => {
  /** The flow's dependencies for one request (its audit entries carry the request id). */
  function flow(request: FastifyRequest): XAuthorizationDeps {
    if (!deps.xAuthorizations)
      throw new ApiError(501, 'not_implemented', 'this runtime has no token store to keep X authorizations in');
    return {
      store: deps.xAuthorizations,
      integrations: deps.integrations,
      audit: (entry) => deps.audit.write({ ...entry, details: { ...entry.details, requestId: request.id } }),
      now: deps.now ?? Date.now,
    };
  }

  async function answer<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof XAuthorizationRefused)
        throw new ApiError(error.status, error.code, error.message, error.details);
      throw error;
    }
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
      const started = await answer(() => startXAuthorization(flow(request), request.params.id));
      request.auditDetails = { integration: started.integration, expiresAt: started.expiresAt };
      return { authorizeUrl: started.authorizeUrl, expiresAt: started.expiresAt };
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
        response: {
          200: { type: 'string', description: 'an HTML page saying the account is connected' },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Querystring: XCallbackQuery }>, reply) => {
      const { integration } = await answer(() => finishXAuthorization(flow(request), request.query));
      request.log.info({ integration }, 'X account connected');
      return reply.type('text/html; charset=utf-8').send(xConnectedPage(integration));
    },
  );
};
