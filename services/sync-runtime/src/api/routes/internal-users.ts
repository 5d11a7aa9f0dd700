/**
 * The User Service's intake: a batch of user upserts and deletes, for a token with the `service` role,
 * applied through the pipeline and pushed to the destinations at once (internal-users/ingest.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { UserChange } from '../../internal-users/ingest';
import type { Repositories } from '../../store/repositories';
import { ApiError } from '../errors';
import { errorResponses } from '../schemas';

const text = (max: number) => ({ type: ['string', 'null'], maxLength: max }) as const;
const common = {
  id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:-]+$' },
  version: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
} as const;

const changeSchema = {
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['op', 'id', 'version', 'email'],
      properties: {
        op: { const: 'upsert' },
        ...common,
        email: { type: 'string', minLength: 3, maxLength: 320 },
        firstName: text(200),
        lastName: text(200),
        phone: text(64),
        company: text(300),
        createdAt: { type: ['string', 'null'], format: 'date-time' },
        updatedAt: { type: ['string', 'null'], format: 'date-time' },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['op', 'id', 'version'],
      properties: { op: { const: 'delete' }, ...common },
    },
  ],
} as const;

export const internalUserRoutes =
  ({ internalUsers }: Pick<Repositories, 'internalUsers'>) =>
  async (app: FastifyInstance) => {
    app.post(
      '/api/internal/users',
      {
        config: { access: 'service' },
        schema: {
          tags: ['internal'],
          summary:
            'User Service: upserts and deletes of users (idempotent by id and version), through the pipeline into the internal model and pushed to the destinations at once',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['users'],
            properties: { users: { type: 'array', minItems: 1, maxItems: 1000, items: changeSchema } },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                applied: { type: 'integer' },
                stale: { type: 'integer' },
                inserted: { type: 'integer' },
                updated: { type: 'integer' },
                unchanged: { type: 'integer' },
                quarantined: { type: 'integer' },
                deleted: { type: 'integer' },
                pushes: { type: 'array', items: { type: 'string' } },
              },
            },
            ...errorResponses,
          },
        },
      },
      async (request: FastifyRequest<{ Body: { users: UserChange[] } }>) => {
        if (!internalUsers) throw new ApiError(501, 'not_implemented', 'this runtime has no User Service intake');
        const result = await internalUsers.ingest(request.body.users);
        request.auditDetails = { applied: result.applied, stale: result.stale, deleted: result.deleted };
        return result;
      },
    );
  };
