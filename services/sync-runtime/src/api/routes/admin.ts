/** Admin: the audit log, API tokens, and the queue's dead letters. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../deps';
import { ApiError, notFound } from '../errors';
import { listAudit } from '../audit-store';
import { ROLES, Role } from '../../security/tokens';
import { TokenNameTaken } from '../../security/token-store';
import { anyObject, errorResponses, idParam, paging } from '../schemas';

const tokenView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string' },
    createdAt: { type: 'string' },
    revokedAt: { type: ['string', 'null'] },
  },
} as const;

export const adminRoutes = (deps: ApiDeps) => async (app: FastifyInstance) => {
  app.get(
    '/api/audit',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'The audit log, newest first, paginated and filterable',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            actor: { type: 'string', maxLength: 200 },
            action: { type: 'string', maxLength: 200 },
            target: { type: 'string', maxLength: 500 },
            outcome: { type: 'string', maxLength: 20 },
            ...paging,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              entries: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    at: { type: 'string' },
                    actor: { type: 'string' },
                    action: { type: 'string' },
                    target: { type: 'string' },
                    outcome: { type: 'string' },
                    details: anyObject,
                  },
                },
              },
              total: { type: 'integer' },
              limit: { type: 'integer' },
              offset: { type: 'integer' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (
      request: FastifyRequest<{
        Querystring: {
          actor?: string;
          action?: string;
          target?: string;
          outcome?: string;
          limit: number;
          offset: number;
        };
      }>,
    ) => {
      const { entries, total } = await listAudit(deps.db, request.query);
      return { entries, total, limit: request.query.limit, offset: request.query.offset };
    },
  );

  app.get(
    '/api/tokens',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'API tokens (never the tokens themselves: only their hashes are stored)',
        response: {
          200: { type: 'object', properties: { tokens: { type: 'array', items: tokenView } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ tokens: await deps.tokens.list() }),
  );

  app.post(
    '/api/tokens',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Create a token; the answer is the only time it is shown',
        body: {
          type: 'object',
          required: ['name', 'role'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.@-]+$' },
            role: { type: 'string', enum: [...ROLES] },
          },
        },
        response: {
          201: { type: 'object', properties: { token: { type: 'string' }, info: tokenView } },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Body: { name: string; role: Role } }>, reply) => {
      try {
        const created = await deps.tokens.create(request.body.name, request.body.role);
        request.auditDetails = { id: created.info.id, name: created.info.name, role: created.info.role };
        return reply.code(201).send(created);
      } catch (error) {
        if (error instanceof TokenNameTaken)
          throw new ApiError(409, 'conflict', error.message, { name: request.body.name });
        throw error;
      }
    },
  );

  app.delete(
    '/api/tokens/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Revoke a token',
        params: idParam,
        response: { 200: { type: 'object', properties: { revoked: { type: 'string' } } }, ...errorResponses },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string } }>) => {
      if (request.principal?.id === request.params.id)
        throw new ApiError(409, 'conflict', 'a token cannot revoke itself; use another admin token');
      if (!(await deps.tokens.revoke(request.params.id))) throw notFound('token', request.params.id);
      return { revoked: request.params.id };
    },
  );

  app.get(
    '/api/queue/dead-letters',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['admin'],
        summary: 'Jobs that failed every attempt',
        querystring: { type: 'object', additionalProperties: false, properties: { limit: paging.limit } },
        response: {
          200: { type: 'object', properties: { deadLetters: { type: 'array', items: anyObject }, depth: anyObject } },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Querystring: { limit: number } }>) => {
      const [dead, depth] = await Promise.all([deps.queue.listDeadLetters(request.query.limit), deps.queue.depth()]);
      return {
        deadLetters: dead.map((d) => ({
          ...d,
          payload: undefined,
          enqueuedAt: d.enqueuedAt.toISOString(),
          deadAt: d.deadAt.toISOString(),
        })),
        depth,
      };
    },
  );

  app.post(
    '/api/queue/redrive',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'Move dead letters (all, or the given ids) back to the queue',
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            ids: { type: 'array', maxItems: 1000, items: { type: 'string', minLength: 1, maxLength: 128 } },
          },
        },
        response: { 200: { type: 'object', properties: { redriven: { type: 'integer' } } }, ...errorResponses },
      },
    },
    async (request: FastifyRequest<{ Body: { ids?: string[] } | null }>) => {
      const redriven = await deps.queue.redrive(request.body?.ids);
      request.auditDetails = { redriven, ids: request.body?.ids ?? 'all' };
      return { redriven };
    },
  );
};
