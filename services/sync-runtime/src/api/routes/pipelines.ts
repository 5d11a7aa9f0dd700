/**
 * Pipelines: ingest (a durable 'pipeline' job tracked in pipeline_runs), status, metrics, and the
 * synchronous transform and validate stages of pipelines/.
 */
import { randomUUID } from 'crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps, PipelinesApi } from '../deps';
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

interface RunRow {
  id: string;
  integration: string;
  mapping: string;
  status: string;
  actor: string;
  job_id: string | null;
  received: number;
  accepted: number;
  quarantined: number;
  duplicates: number;
  inserted: number;
  updated: number;
  unchanged: number;
  error: string | null;
  queued_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}
const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());
export const toRunView = (r: RunRow) => ({
  id: r.id,
  integration: r.integration,
  mapping: r.mapping,
  status: r.status,
  actor: r.actor,
  jobId: r.job_id,
  received: r.received,
  accepted: r.accepted,
  quarantined: r.quarantined,
  duplicates: r.duplicates,
  inserted: r.inserted,
  updated: r.updated,
  unchanged: r.unchanged,
  error: r.error,
  queuedAt: iso(r.queued_at)!,
  startedAt: iso(r.started_at),
  finishedAt: iso(r.finished_at),
});

export const pipelineRoutes = (deps: ApiDeps) => async (app: FastifyInstance) => {
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
      const runId = randomUUID();
      const job = {
        kind: 'pipeline' as const,
        integration,
        payload: { runId, mapping, records } satisfies PipelineJobPayload,
      };
      const insertRun = (jobId: string | null) => [runId, integration, mapping, actorOf(request), jobId];
      const sql = `INSERT INTO pipeline_runs (id, integration, mapping, status, actor, job_id) VALUES ($1, $2, $3, 'queued', $4, $5)`;
      let jobId: string;
      if (deps.queue.enqueueWithin) {
        // Store binding: the run row and its job commit together.
        const enqueueWithin = deps.queue.enqueueWithin.bind(deps.queue);
        jobId = await deps.db.transaction(async (tx) => {
          const id = await enqueueWithin(tx, job);
          await tx.query(sql, insertRun(id));
          return id;
        });
      } else {
        await deps.db.query(sql, insertRun(null));
        try {
          jobId = await deps.queue.enqueue(job);
        } catch (error) {
          await deps.db.query(
            `UPDATE pipeline_runs SET status = 'failed', error = $2, finished_at = now() WHERE id = $1`,
            [runId, `could not enqueue: ${(error as Error).message}`],
          );
          throw error;
        }
        await deps.db.query('UPDATE pipeline_runs SET job_id = $2 WHERE id = $1', [runId, jobId]);
      }
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
      const where = integration === undefined ? '' : 'WHERE integration = $1';
      const params = integration === undefined ? [] : [integration];
      const [runs, counts] = await Promise.all([
        deps.db.query<RunRow>(
          `SELECT * FROM pipeline_runs ${where} ORDER BY queued_at DESC, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
          [...params, limit, offset],
        ),
        deps.db.query<{ status: string; n: string }>(
          `SELECT status, count(*) AS n FROM pipeline_runs ${where} GROUP BY status`,
          params,
        ),
      ]);
      const byStatus = Object.fromEntries(counts.rows.map((r) => [r.status, Number(r.n)]));
      const quarantine = deps.pipelines
        ? await deps.pipelines.listQuarantine(deps.db, { integration, limit: 1, offset: 0 })
        : null;
      return {
        runs: runs.rows.map(toRunView),
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
    async () => {
      const { rows } = await deps.db.query<Record<string, string>>(
        `SELECT integration, count(*) AS runs, count(*) FILTER (WHERE status = 'failed') AS failed,
              sum(received) AS received, sum(accepted) AS accepted, sum(quarantined) AS quarantined, sum(duplicates) AS duplicates,
              sum(inserted) AS inserted, sum(updated) AS updated, sum(unchanged) AS unchanged,
              avg(extract(epoch FROM finished_at - started_at)) AS avg_seconds
       FROM pipeline_runs GROUP BY integration ORDER BY integration`,
      );
      return {
        integrations: rows.map((r) => ({
          integration: r.integration,
          ...Object.fromEntries(
            [
              'runs',
              'failed',
              'received',
              'accepted',
              'quarantined',
              'duplicates',
              'inserted',
              'updated',
              'unchanged',
            ].map((k) => [k, Number(r[k] ?? 0)]),
          ),
          avgSeconds: r.avg_seconds === null ? null : Number(r.avg_seconds),
        })),
      };
    },
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
