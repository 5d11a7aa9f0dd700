/**
 * Views of runs for operators: one run with its per-object counts (what `data-sync sync trigger --wait`
 * and the console's run page poll while pages commit), and records pulled per hour by integration.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../deps';
import { notFound } from '../errors';
import { anyObject, errorResponses, idParam } from '../schemas';

const HOUR_MS = 3_600_000;

export const runRoutes = (deps: ApiDeps) => async (app: FastifyInstance) => {
  app.get(
    '/api/sync/runs/:id',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['sync'],
        summary: 'One run: status, counts so far (pages, records) and per-object counts; poll it to follow a run',
        params: idParam,
        response: { 200: anyObject, ...errorResponses },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string } }>) => {
      const run = await deps.repositories.runs.view(request.params.id);
      if (!run) throw notFound('run', request.params.id);
      return run;
    },
  );

  app.get(
    '/api/sync/records-per-hour',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['sync'],
        summary:
          'Records pulled per hour by integration over the last `hours` ' +
          '(a run counts in the hour it last committed a page)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { hours: { type: 'integer', minimum: 1, maximum: 720, default: 24 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              from: { type: 'string' },
              to: { type: 'string' },
              hours: { type: 'array', items: { type: 'string' } },
              series: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    integration: { type: 'string' },
                    received: { type: 'array', items: { type: 'integer' } },
                    accepted: { type: 'array', items: { type: 'integer' } },
                  },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Querystring: { hours: number } }>) => {
      const now = deps.config?.now?.() ?? Date.now();
      const to = Math.floor(now / HOUR_MS) * HOUR_MS;
      const from = to - (request.query.hours - 1) * HOUR_MS;
      const rows = await deps.repositories.runs.pulledPerHour(new Date(from));
      const hours = Array.from({ length: request.query.hours }, (_, i) => new Date(from + i * HOUR_MS).toISOString());
      const byIntegration = new Map<string, { integration: string; received: number[]; accepted: number[] }>();
      for (const row of rows) {
        const index = Math.round((new Date(row.hour).getTime() - from) / HOUR_MS);
        if (index < 0 || index >= hours.length) continue;
        const entry = byIntegration.get(row.integration) ?? {
          integration: row.integration,
          received: hours.map(() => 0),
          accepted: hours.map(() => 0),
        };
        entry.received[index] += Number(row.received);
        entry.accepted[index] += Number(row.accepted);
        byIntegration.set(row.integration, entry);
      }
      return {
        from: new Date(from).toISOString(),
        to: new Date(to + HOUR_MS).toISOString(),
        hours,
        series: [...byIntegration.values()],
      };
    },
  );
};
