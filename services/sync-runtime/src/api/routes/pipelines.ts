/**
 * Pipelines: ingest (a durable 'pipeline' job tracked in pipeline_runs), status, metrics, and the
 * synchronous transform and validate stages of pipelines/.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IntegrationStore } from '../../store/integrations-repository';
import type { PipelineRunsRepository } from '../../store/pipeline-runs-repository';
import type { QuarantineRepository } from '../../store/quarantine-repository';
import type { EngineApi, PipelinesApi } from '../deps';
import { ApiError, notFound } from '../errors';
import { actorOf } from '../auth';
import { NAME_PATTERN, anyObject, errorResponses, paging } from '../schemas';

export interface PipelineJobPayload {
  readonly runId: string;
  readonly mapping: string;
  readonly records: readonly Record<string, unknown>[];
}

const MAX_RECORDS = 10_000;
const recordsBody = (extra: Record<string, unknown> = {}, required: string[] = []) => ({
  type: 'object',
  required: ['mapping', 'records', ...required],
  additionalProperties: false,
  properties: {
    mapping: { type: 'string', minLength: 1, maxLength: 128, description: 'e.g. salesforce_to_internal.Contact' },
    records: { type: 'array', minItems: 1, maxItems: MAX_RECORDS, items: { type: 'object' } },
    ...extra,
  },
});

const runView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    integration: { type: 'string' },
    mapping: { type: 'string' },
    status: { type: 'string' },
    actor: { type: 'string' },
    jobId: { type: ['string', 'null'] },
    received: { type: 'integer' },
    accepted: { type: 'integer' },
    quarantined: { type: 'integer' },
    duplicates: { type: 'integer' },
    inserted: { type: 'integer' },
    updated: { type: 'integer' },
    unchanged: { type: 'integer' },
    error: { type: ['string', 'null'] },
    queuedAt: { type: 'string' },
    startedAt: { type: ['string', 'null'] },
    finishedAt: { type: ['string', 'null'] },
  },
} as const;

export interface PipelineRouteDeps {
  readonly engine: Pick<EngineApi, 'ingest'>;
  readonly integrations: IntegrationStore;
  readonly pipelineRuns: Pick<PipelineRunsRepository, 'list' | 'totals'>;
  /** null without the pipelines module. */
  readonly quarantine: Pick<QuarantineRepository, 'list'> | null;
  /** The pipeline stages. @default null: these routes answer 501 */
  readonly pipelines?: PipelinesApi | null;
}

export const pipelineRoutes = (deps: PipelineRouteDeps) => async (app: FastifyInstance) => {
  const stages = (): PipelinesApi => {
    if (!deps.pipelines)
      throw new ApiError(501, 'pipelines_unavailable', 'the pipelines module is not part of this build');
    return deps.pipelines;
  };
  const knownMapping = (p: PipelinesApi, mapping: string) => {
    if (!p.mappingNames().includes(mapping)) {
      throw new ApiError(
        400,
        'unknown_mapping',
        `no mapping "${mapping}"; known: ${[...p.mappingNames()].sort().join(', ')}`,
        { mapping, known: [...p.mappingNames()].sort() },
      );
    }
  };
  /** Pipeline stages throw on records they cannot read: that is the client's input, so a 400 naming it. */
  const stage = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (error) {
      throw new ApiError(400, 'invalid_records', (error as Error).message);
    }
  };

  app.post(
    '/api/pipelines/ingest',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary: 'Queue records through the pipeline (map, validate, quarantine, clean, deduplicate, upsert)',
        body: recordsBody({ integration: { type: 'string', pattern: NAME_PATTERN } }, ['integration']),
        response: {
          202: {
            type: 'object',
            properties: { runId: { type: 'string' }, jobId: { type: 'string' }, records: { type: 'integer' } },
          },
          ...errorResponses,
        },
      },
    },
    async (
      request: FastifyRequest<{ Body: { integration: string; mapping: string; records: Record<string, unknown>[] } }>,
      reply,
    ) => {
      const p = stages();
      const { integration, mapping, records } = request.body;
      knownMapping(p, mapping);
      if (p.direction(mapping) !== 'inbound')
        throw new ApiError(
          400,
          'unknown_mapping',
          `mapping "${mapping}" is outbound; ingest takes an inbound mapping (<system>_to_internal.<Object>)`,
          { mapping },
        );
      if (!(await deps.integrations.getByName(integration))) throw notFound('integration', integration);
      const { runId, jobId } = await deps.engine.ingest({ integration, mapping, records, actor: actorOf(request) });
      request.auditDetails = { runId, jobId, mapping, records: records.length };
      return reply.code(202).send({ runId, jobId, records: records.length });
    },
  );

  app.get(
    '/api/pipelines/status',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['pipelines'],
        summary: 'Pipeline runs (newest first), runs by status, and the quarantine size',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { integration: { type: 'string', maxLength: 63 }, ...paging },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              runs: { type: 'array', items: runView },
              total: { type: 'integer' },
              byStatus: { type: 'object', additionalProperties: { type: 'integer' } },
              quarantined: { type: ['integer', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Querystring: { integration?: string; limit: number; offset: number } }>) => {
      const { integration, limit, offset } = request.query;
      const { runs, byStatus } = await deps.pipelineRuns.list({ integration, limit, offset });
      const quarantine = deps.quarantine ? await deps.quarantine.list({ integration, limit: 1, offset: 0 }) : null;
      return {
        runs,
        total: Object.values(byStatus).reduce((a, b) => a + b, 0),
        byStatus,
        quarantined: quarantine ? quarantine.total : null,
      };
    },
  );

  app.get(
    '/api/pipelines/metrics',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['pipelines'],
        summary:
          'Records through the pipeline per integration: received, accepted, quarantined, duplicates, inserted, updated, unchanged',
        response: {
          200: { type: 'object', properties: { integrations: { type: 'array', items: anyObject } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ integrations: await deps.pipelineRuns.totals() }),
  );

  app.post(
    '/api/pipelines/transform',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary: 'Map records with a named mapping (no store writes)',
        body: recordsBody(),
        response: {
          200: {
            type: 'object',
            properties: { mapping: { type: 'string' }, records: { type: 'array', items: anyObject } },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Body: { mapping: string; records: Record<string, unknown>[] } }>) => {
      const p = stages();
      knownMapping(p, request.body.mapping);
      return {
        mapping: request.body.mapping,
        records: stage(() => p.transformRecords(request.body.mapping, request.body.records)),
      };
    },
  );

  app.post(
    '/api/pipelines/validate',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary:
          'Validate records with the rules of a mapping (no store writes): valid ones normalized, invalid ones with reasons',
        body: recordsBody(),
        response: {
          200: {
            type: 'object',
            properties: {
              mapping: { type: 'string' },
              valid: { type: 'array', items: anyObject },
              invalid: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    index: { type: 'integer' },
                    errors: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: { field: { type: 'string' }, rule: { type: 'string' }, reason: { type: 'string' } },
                      },
                    },
                  },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Body: { mapping: string; records: Record<string, unknown>[] } }>) => {
      const p = stages();
      knownMapping(p, request.body.mapping);
      const result = stage(() => p.validateRecords(request.body.mapping, request.body.records));
      return {
        mapping: request.body.mapping,
        valid: result.valid,
        invalid: result.invalid.map((i) => ({ index: i.index, errors: i.errors })),
      };
    },
  );
};
