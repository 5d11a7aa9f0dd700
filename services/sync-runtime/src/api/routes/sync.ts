/** Sync: status, manual trigger, history, reset (+ purge), metrics, and the end-to-end self-test. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../deps';
import { ApiError, notFound } from '../errors';
import { actorOf, requireRole } from '../auth';
import { anyObject, errorResponses, integrationNameParam, paging } from '../schemas';

const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
const probeView = {
  type: 'object',
  properties: {
    ok: { type: 'boolean' },
    runId: { type: 'string' },
    timings: { type: 'object', additionalProperties: { type: 'number' } },
    error: { type: 'string' },
  },
} as const;

export const syncRoutes = (deps: ApiDeps) => async (app: FastifyInstance) => {
  /** The integration behind `:integration`, enabled: 404 when unknown, 409 when switched off. */
  async function enabledIntegration(name: string) {
    const integration = await deps.integrations.getByName(name);
    if (!integration) throw notFound('integration', name);
    if (!integration.enabled)
      throw new ApiError(
        409,
        'integration_disabled',
        `integration "${name}" is disabled; enable it with PUT /api/integrations/${integration.id}`,
        { integration: name },
      );
    return integration;
  }

  app.get(
    '/api/sync/status',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['sync'],
        summary: "Each integration's last run, cursors and whether a run is in progress",
        response: {
          200: { type: 'object', properties: { integrations: { type: 'array', items: anyObject } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ integrations: await deps.engine.status() }),
  );

  app.post(
    '/api/sync/trigger/:integration',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['sync'],
        summary:
          'Queue a run now: a pull (incremental, or full with {"full": true}) or, with {"direction": "push"}, a push of the internal model\'s changes',
        params: integrationNameParam,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            full: { type: 'boolean', default: false },
            direction: { type: 'string', enum: ['pull', 'push'], default: 'pull' },
          },
        },
        response: {
          202: { type: 'object', properties: { runId: { type: 'string' }, jobId: { type: 'string' } } },
          ...errorResponses,
        },
      },
    },
    async (
      request: FastifyRequest<{
        Params: { integration: string };
        Body: { full?: boolean; direction?: 'pull' | 'push' } | null;
      }>,
      reply,
    ) => {
      const integration = await enabledIntegration(request.params.integration);
      const direction = request.body?.direction ?? 'pull';
      if (direction === 'push' && integration.pushObjects.length === 0) {
        throw new ApiError(
          409,
          'not_a_destination',
          `integration "${integration.name}" has no pushObjects, so nothing is pushed to it; set pushObjects with PUT /api/integrations/${integration.id}`,
          { integration: integration.name },
        );
      }
      const result = await deps.engine.trigger(integration.name, {
        actor: actorOf(request),
        full: request.body?.full ?? false,
        direction,
      });
      request.auditDetails = { runId: result.runId, jobId: result.jobId, full: request.body?.full ?? false };
      return reply.code(202).send(result);
    },
  );

  app.get(
    '/api/sync/history',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['sync'],
        summary: 'Sync runs (pulls and pushes), newest first, filtered by integration, status and direction',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            integration: { type: 'string', maxLength: 63 },
            status: { type: 'string', enum: [...RUN_STATUSES] },
            direction: { type: 'string', enum: ['pull', 'push'] },
            ...paging,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              runs: { type: 'array', items: anyObject },
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
          integration?: string;
          status?: (typeof RUN_STATUSES)[number];
          direction?: 'pull' | 'push';
          limit: number;
          offset: number;
        };
      }>,
    ) => {
      const { integration, status, direction, limit, offset } = request.query;
      const { runs, total } = await deps.engine.history({ integration, status, direction, limit, offset });
      return { runs, total, limit, offset };
    },
  );

  app.delete(
    '/api/sync/reset/:integration',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['sync'],
        summary: 'Clear the cursors so the next run is a full sync; ?purge=true (admin) also deletes the synced data',
        params: integrationNameParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { purge: { type: 'boolean', default: false } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              integration: { type: 'string' },
              cursorsCleared: { type: 'integer' },
              purgedRecords: { type: 'integer' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Params: { integration: string }; Querystring: { purge: boolean } }>) => {
      const name = request.params.integration;
      if (!(await deps.integrations.getByName(name))) throw notFound('integration', name);
      if (request.query.purge) requireRole(request, 'admin', 'purging synced data');
      const result = await deps.engine.reset(name, { actor: actorOf(request), purge: request.query.purge });
      request.auditDetails = { purge: request.query.purge, ...result };
      return { integration: name, ...result };
    },
  );

  app.get(
    '/api/sync/metrics',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['sync'],
        summary: 'Run counts by integration and status, records processed, and queue depth',
        response: {
          200: {
            type: 'object',
            properties: {
              runs: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    integration: { type: 'string' },
                    status: { type: 'string' },
                    count: { type: 'integer' },
                    received: { type: 'integer' },
                    accepted: { type: 'integer' },
                    quarantined: { type: 'integer' },
                    duplicates: { type: 'integer' },
                    avgDurationSeconds: { type: ['number', 'null'] },
                  },
                },
              },
              queue: {
                type: 'object',
                properties: {
                  ready: { type: 'integer' },
                  inFlight: { type: 'integer' },
                  delayed: { type: 'integer' },
                  dead: { type: 'integer' },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async () => {
      const { rows } = await deps.db.query<{
        integration: string;
        status: string;
        count: string;
        received: string;
        accepted: string;
        quarantined: string;
        duplicates: string;
        avg: string | null;
      }>(
        `SELECT integration, status, count(*) AS count, coalesce(sum(received), 0) AS received, coalesce(sum(accepted), 0) AS accepted,
              coalesce(sum(quarantined), 0) AS quarantined, coalesce(sum(duplicates), 0) AS duplicates,
              avg(extract(epoch FROM finished_at - started_at)) AS avg
       FROM sync_runs GROUP BY integration, status ORDER BY integration, status`,
      );
      return {
        runs: rows.map((r) => ({
          integration: r.integration,
          status: r.status,
          count: Number(r.count),
          received: Number(r.received),
          accepted: Number(r.accepted),
          quarantined: Number(r.quarantined),
          duplicates: Number(r.duplicates),
          avgDurationSeconds: r.avg === null ? null : Number(r.avg),
        })),
        queue: await deps.queue.depth(),
      };
    },
  );

  app.post(
    '/api/sync/test',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['sync'],
        summary: 'Self-test: a probe job through the queue, the worker and the store, with timings (deploy smoke test)',
        response: {
          200: probeView,
          503: probeView,
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const result = await deps.engine.probe();
      request.auditDetails = { ok: result.ok, timings: result.timings };
      return reply.code(result.ok ? 200 : 503).send(result);
    },
  );
};
