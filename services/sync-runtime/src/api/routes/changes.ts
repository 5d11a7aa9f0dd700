/**
 * The change feed of the internal model: paged (GET /api/changes) and live (GET /api/changes/stream,
 * Server-Sent Events). PII is masked below the operator role, as on the contact routes.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { maskPii } from '@data-sync/pipelines/privacy';
import type { Change, ChangesRepository } from '../../store/changes-repository';
import { ApiError } from '../errors';
import { anyObject, errorResponses } from '../schemas';
import { streamChanges, type ChangeStreamOptions } from './change-stream';

const position = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

/** `Last-Event-ID` (a reconnecting EventSource) wins over `?after=`. */
function resumeFrom(request: FastifyRequest<{ Querystring: { after?: number } }>): number {
  const header = request.headers['last-event-id'];
  if (header === undefined) return request.query.after ?? 0;
  const value = Array.isArray(header) ? header[0] : header;
  if (!/^\d{1,15}$/.test(value.trim()))
    throw new ApiError(400, 'validation_failed', 'Last-Event-ID must be a change position (a non-negative integer)');
  return Number(value.trim());
}

export const changeRoutes =
  ({ changes, stream }: { changes: ChangesRepository; stream?: ChangeStreamOptions }) =>
  async (app: FastifyInstance) => {
    const present = (request: FastifyRequest, change: Change) =>
      maskPii({ ...change } as Change & Record<string, unknown>, request.principal!.role);

    app.get(
      '/api/changes',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['changes'],
          summary:
            'Changes of the internal model (contacts, accounts, events, metrics) after a position, oldest first; `next` is the position to ask after',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              after: { ...position, default: 0 },
              limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: { items: { type: 'array', items: anyObject }, next: { type: 'integer' } },
            },
            ...errorResponses,
          },
        },
      },
      async (request: FastifyRequest<{ Querystring: { after: number; limit: number } }>) => {
        const items = await changes.list(request.query.after, request.query.limit);
        const next = items.length ? items[items.length - 1].position : request.query.after;
        return { items: items.map((c) => present(request, c)), next };
      },
    );

    app.get(
      '/api/changes/stream',
      {
        config: { access: 'viewer' },
        schema: {
          tags: ['changes'],
          summary:
            'The change feed live, as Server-Sent Events (event `change`, id = position); reconnect with Last-Event-ID to resume without a gap',
          querystring: { type: 'object', additionalProperties: false, properties: { after: position } },
        },
      },
      async (request: FastifyRequest<{ Querystring: { after?: number } }>, reply) => {
        const after = resumeFrom(request);
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
          'strict-transport-security': 'max-age=31536000; includeSubDomains',
          'x-content-type-options': 'nosniff',
        });
        res.write('retry: 2000\n\n');
        try {
          await streamChanges(res, { list: changes.list, present: (c) => present(request, c) }, after, stream);
        } catch (error) {
          request.log.error({ err: error }, 'change stream ended by an error');
        } finally {
          res.end();
        }
      },
    );
  };
