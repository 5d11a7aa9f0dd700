/** n8n workflows through the public API v1 client; 503 when N8N_URL is not configured. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { N8nClient, N8nError } from '@data-sync/n8n/client';
import type { ApiDeps } from '../deps';
import { ApiError } from '../errors';
import { anyObject, errorResponses } from '../schemas';

const workflowIdParam = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' } },
} as const;

const workflowView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    active: { type: 'boolean' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    tags: { type: 'array', items: anyObject },
  },
} as const;

const executionView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    workflowId: { type: 'string' },
    status: { type: 'string' },
    finished: { type: 'boolean' },
    mode: { type: 'string' },
    startedAt: { type: ['string', 'null'] },
    stoppedAt: { type: ['string', 'null'] },
  },
} as const;

/** n8n's failures as API errors: its 404 stays a 404, its outages are a bad gateway. */
function fromN8n(error: unknown): never {
  if (error instanceof N8nError) {
    if (error.kind === 'not_found') throw new ApiError(404, 'not_found', error.message);
    if (error.kind === 'bad_request') throw new ApiError(409, 'workflow_not_runnable', error.message);
    throw new ApiError(502, 'n8n_unavailable', error.message, { kind: error.kind, status: error.status ?? null });
  }
  throw error;
}

export const workflowRoutes = (deps: ApiDeps) => async (app: FastifyInstance) => {
  const n8n = (): N8nClient => {
    if (!deps.n8n)
      throw new ApiError(
        503,
        'n8n_not_configured',
        'n8n is not configured: set N8N_URL and N8N_API_KEY to use the workflow routes',
      );
    return deps.n8n;
  };

  app.get(
    '/api/workflows',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['workflows'],
        summary: 'n8n workflows (paged with nextCursor)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            active: { type: 'boolean' },
            cursor: { type: 'string', maxLength: 1024 },
            limit: { type: 'integer', minimum: 1, maximum: 250, default: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { workflows: { type: 'array', items: workflowView }, nextCursor: { type: ['string', 'null'] } },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Querystring: { active?: boolean; cursor?: string; limit: number } }>) => {
      const page = await n8n().listWorkflows(request.query).catch(fromN8n);
      return { workflows: page.data, nextCursor: page.nextCursor };
    },
  );

  app.post(
    '/api/workflows/execute',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['workflows'],
        summary:
          "Run a workflow now, through its Webhook trigger's production URL (n8n's public API has no run operation)",
        body: {
          type: 'object',
          required: ['workflowId'],
          additionalProperties: false,
          properties: {
            workflowId: workflowIdParam.properties.id,
            payload: { type: 'object', description: 'JSON sent to the webhook' },
          },
        },
        response: {
          202: {
            type: 'object',
            properties: { workflowId: { type: 'string' }, status: { type: 'integer' }, response: {} },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Body: { workflowId: string; payload?: Record<string, unknown> } }>, reply) => {
      const started = performance.now();
      const result = await n8n()
        .executeViaWebhook(request.body.workflowId, request.body.payload ?? {})
        .catch(fromN8n);
      deps.metrics.m.workflowExecutionDuration.observe(
        { workflow: request.body.workflowId },
        (performance.now() - started) / 1000,
      );
      request.auditDetails = { workflowId: request.body.workflowId, status: result.status };
      return reply
        .code(202)
        .send({ workflowId: request.body.workflowId, status: result.status, response: result.body });
    },
  );

  app.get(
    '/api/workflows/:id/status',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['workflows'],
        summary: 'A workflow and its latest executions',
        params: workflowIdParam,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 10 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              workflow: workflowView,
              executions: { type: 'array', items: executionView },
              lastStatus: { type: ['string', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: { limit: number } }>) => {
      const client = n8n();
      const [workflow, executions] = await Promise.all([
        client.getWorkflow(request.params.id),
        client.listExecutions({ workflowId: request.params.id, limit: request.query.limit }),
      ]).catch(fromN8n);
      const last = executions.data[0];
      return {
        workflow,
        executions: executions.data,
        lastStatus: last ? (last.status ?? (last.finished ? 'success' : 'running')) : null,
      };
    },
  );

  app.post(
    '/api/workflows/:id/activate',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['workflows'],
        summary: 'Activate (default) or deactivate ({"active": false}) a workflow',
        params: workflowIdParam,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { active: { type: 'boolean', default: true } },
        },
        response: { 200: workflowView, ...errorResponses },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string }; Body: { active?: boolean } | null }>) => {
      const active = request.body?.active ?? true;
      const workflow = await (active ? n8n().activate(request.params.id) : n8n().deactivate(request.params.id)).catch(
        fromN8n,
      );
      request.auditDetails = { active };
      return workflow;
    },
  );
};
