/** The internal model: what the syncs produced, PII masked below the operator role. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { maskPii } from '@data-sync/pipelines/privacy';
import { createContactsStore, type ContactQuery } from '../../store/contacts-store';
import type { ApiDeps } from '../deps';
import { ApiError, notFound } from '../errors';
import { anyObject, errorResponses, paging } from '../schemas';

export const contactRoutes = (deps: ApiDeps) => async (app: FastifyInstance) => {
  const contacts = createContactsStore(deps.db);
  const mask = <T extends Record<string, unknown>>(request: FastifyRequest, record: T): T =>
    maskPii(record, request.principal!.role);

  app.get(
    '/api/contacts',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['contacts'],
        summary:
          'Contacts of the internal model, newest change first; filter by email, by the integration they were seen at, and by update time',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            email: { type: 'string', minLength: 3, maxLength: 320 },
            source: {
              type: 'string',
              minLength: 1,
              maxLength: 63,
              description: 'an integration name: contacts seen there',
            },
            updatedSince: { type: 'string', format: 'date-time' },
            ...paging,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: anyObject }, total: { type: 'integer' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Querystring: ContactQuery }>) => {
      if (request.query.updatedSince !== undefined && Number.isNaN(Date.parse(request.query.updatedSince)))
        throw new ApiError(400, 'validation_failed', 'updatedSince must be an ISO 8601 time');
      const page = await contacts.list(request.query);
      return { items: page.items.map((c) => mask(request, { ...c })), total: page.total };
    },
  );

  app.get(
    '/api/contacts/:email',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['contacts'],
        summary: 'One contact with the integrations it was seen at (last pull) and pushed to (last push)',
        params: {
          type: 'object',
          required: ['email'],
          properties: { email: { type: 'string', minLength: 3, maxLength: 320 } },
        },
        response: { 200: anyObject, ...errorResponses },
      },
    },
    async (request: FastifyRequest<{ Params: { email: string } }>) => {
      const found = await contacts.get(request.params.email);
      if (!found) throw notFound('contact', request.params.email);
      const { sources, ...contact } = found;
      return { ...mask(request, contact), sources };
    },
  );
};
