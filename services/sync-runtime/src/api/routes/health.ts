/** Liveness, readiness (store and queue), integrations and n8n health, and the Prometheus scrape. */
import type { FastifyInstance } from 'fastify';
import type { ConnectorModule } from '@data-sync/integrations/connector';
import type { N8nClient } from '@data-sync/n8n/client';
import type { RuntimeMetrics } from '../../metrics';
import type { QueueBinding } from '../../queue/binding';
import type { IntegrationStore } from '../../store/integrations-repository';
import type { Repositories } from '../../store/repositories';
import { errorResponses } from '../schemas';

const CHECK_TIMEOUT_MS = 5000;

/** `promise`, or a rejection after `ms` (a dependency that hangs must not hang the health check). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]);
}

const check = {
  type: 'object',
  required: ['ok'],
  properties: { ok: { type: 'boolean' }, message: { type: 'string' }, latencyMs: { type: 'number' } },
} as const;

export interface HealthRouteDeps {
  /** Answers when the store does (readiness). */
  readonly ping: Repositories['ping'];
  readonly queue: Pick<QueueBinding, 'depth'>;
  readonly integrations: IntegrationStore;
  readonly connectors: Readonly<Record<string, ConnectorModule>>;
  /** null: N8N_URL is not set. */
  readonly n8n: N8nClient | null;
  readonly metrics: RuntimeMetrics;
  /** The blue-green slot this instance serves. @default none */
  readonly slot?: 'blue' | 'green';
}

export const healthRoutes = (deps: HealthRouteDeps) => async (app: FastifyInstance) => {
  app.get(
    '/health',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Liveness, and the blue-green slot that answered (so a smoke test can tell which one it reached)',
        security: [],
        response: {
          200: {
            type: 'object',
            properties: { status: { type: 'string' }, slot: { type: 'string', enum: ['blue', 'green'] } },
          },
          ...errorResponses,
        },
      },
    },
    async () => ({ status: 'ok', ...(deps.slot ? { slot: deps.slot } : {}) }),
  );

  app.get(
    '/health/ready',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Readiness: the store and the queue answer',
        security: [],
        response: {
          200: { type: 'object', properties: { status: { type: 'string' }, store: check, queue: check } },
          503: { type: 'object', properties: { status: { type: 'string' }, store: check, queue: check } },
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => {
      const probe = async (fn: () => Promise<unknown>, what: string) => {
        const started = performance.now();
        try {
          await withTimeout(fn(), CHECK_TIMEOUT_MS, what);
          return { ok: true, latencyMs: Math.round(performance.now() - started) };
        } catch (error) {
          return { ok: false, message: (error as Error).message, latencyMs: Math.round(performance.now() - started) };
        }
      };
      const [store, queue] = await Promise.all([
        probe(() => deps.ping(), 'the store'),
        probe(() => deps.queue.depth(), 'the queue'),
      ]);
      const ok = store.ok && queue.ok;
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not ready', store, queue });
    },
  );

  app.get(
    '/health/integrations',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['health'],
        summary: "Each enabled integration's connection test (credentials and reachability)",
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string', enum: ['ok', 'degraded'] },
              integrations: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { name: { type: 'string' }, system: { type: 'string' }, ...check.properties },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async () => {
      const all = (await deps.integrations.list()).filter((i) => i.enabled);
      const results = await Promise.all(
        all.map(async (integration) => {
          const module = deps.connectors[integration.system];
          if (!module)
            return {
              name: integration.name,
              system: integration.system,
              ok: false,
              message: `no connector for system "${integration.system}"`,
              latencyMs: 0,
            };
          const started = performance.now();
          try {
            const result = await withTimeout(
              module
                .create(
                  deps.integrations.resolvedConfig(integration),
                  deps.integrations.connectorContext(integration.system),
                )
                .test(),
              CHECK_TIMEOUT_MS,
              integration.name,
            );
            return {
              name: integration.name,
              system: integration.system,
              ok: result.ok,
              message: result.message,
              latencyMs: result.latencyMs,
            };
          } catch (error) {
            return {
              name: integration.name,
              system: integration.system,
              ok: false,
              message: (error as Error).message,
              latencyMs: Math.round(performance.now() - started),
            };
          }
        }),
      );
      return { status: results.every((r) => r.ok) ? 'ok' : 'degraded', integrations: results };
    },
  );

  app.get(
    '/health/n8n',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        summary: 'n8n: ok, unreachable or not configured',
        security: [],
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string', enum: ['ok', 'unreachable', 'not configured'] },
              message: { type: 'string' },
              latencyMs: { type: 'number' },
            },
          },
          503: {
            type: 'object',
            properties: {
              status: { type: 'string', enum: ['ok', 'unreachable', 'not configured'] },
              message: { type: 'string' },
              latencyMs: { type: 'number' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => {
      if (!deps.n8n) {
        deps.metrics.m.n8nUp.set(0);
        return { status: 'not configured', message: 'N8N_URL is not set' };
      }
      const started = performance.now();
      try {
        await withTimeout(deps.n8n.ping(), CHECK_TIMEOUT_MS, 'n8n');
        deps.metrics.m.n8nUp.set(1);
        return { status: 'ok', latencyMs: Math.round(performance.now() - started) };
      } catch (error) {
        deps.metrics.m.n8nUp.set(0);
        return reply.code(503).send({
          status: 'unreachable',
          message: (error as Error).message,
          latencyMs: Math.round(performance.now() - started),
        });
      }
    },
  );

  app.get(
    '/metrics',
    {
      config: { access: 'public' },
      schema: {
        tags: ['health'],
        summary: 'Prometheus metrics (text exposition format)',
        security: [],
        produces: ['text/plain'],
        response: { 200: { type: 'string' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      try {
        await withTimeout(deps.metrics.refreshQueue(deps.queue), CHECK_TIMEOUT_MS, 'the queue');
      } catch (error) {
        request.log.warn({ err: error }, 'queue depth unavailable for this scrape');
      }
      return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    },
  );
};
