/**
 * POST /webhooks/:integration: the raw body and the sender's address handed to ingestWebhook (allowlist,
 * verifier, request-data checks, audit, durable 'webhook' job), and its answer sent: the 202, a rejection,
 * or the vendor-specific answer the verifier asks for. GET /webhooks/:integration: the vendor's
 * subscription handshake (handshakeWebhook), answered as the connector says.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConnectorModule } from '@data-sync/integrations/connector';
import type { RuntimeMetrics } from '../../metrics';
import type { QueueBinding } from '../../queue/binding';
import type { AuditRepository } from '../../store/audit-repository';
import type { IntegrationStore } from '../../store/integrations-repository';
import { handshakeWebhook, ingestWebhook, type WebhookIngestDeps } from '../../webhooks/ingest';
import { errorResponses, integrationNameParam } from '../schemas';

export interface WebhookRouteDeps {
  readonly integrations: IntegrationStore;
  readonly connectors: Readonly<Record<string, ConnectorModule>>;
  readonly queue: Pick<QueueBinding, 'enqueue'>;
  readonly audit: AuditRepository;
  readonly metrics: RuntimeMetrics;
  /** Webhook requests per minute per sender address. @default 12000 */
  readonly webhookRateLimitPerMinute?: number;
  /** The clock signatures are checked against. @default Date.now */
  readonly now?: () => number;
}

export const webhookRoutes = (deps: WebhookRouteDeps) => async (app: FastifyInstance) => {
  // Verifiers need the exact bytes the vendor signed: every content type is kept raw in this scope.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // Only names of configured integrations become label values: random path segments must not grow the series.
  const known = new WeakMap<FastifyRequest, string>();
  const count = (request: FastifyRequest, reply: FastifyReply) =>
    deps.metrics.m.webhookRequests.inc({
      integration: known.get(request) ?? 'unknown',
      code: String(reply.statusCode),
    });

  app.post<{ Params: { integration: string } }>(
    '/webhooks/:integration',
    {
      config: {
        access: 'public',
        audit: false,
        rateLimit: {
          max: deps.webhookRateLimitPerMinute ?? 12_000,
          timeWindow: 60_000,
          keyGenerator: (request) => `webhook:${request.ip}`,
        },
      },
      schema: {
        tags: ['webhooks'],
        summary: "Inbound vendor webhook: verified by the integration's verifier, queued durably before the 202",
        security: [],
        params: integrationNameParam,
        response: {
          202: {
            type: 'object',
            properties: {
              accepted: { type: 'integer' },
              jobId: { type: ['string', 'null'], description: 'null when the delivery carried no events' },
            },
          },
          ...errorResponses,
        },
      },
      onResponse: async (request, reply) => count(request, reply),
    },
    async (request, reply) => send(request, reply, await ingestWebhook(ingestDeps(request), delivery(request))),
  );

  app.get<{ Params: { integration: string } }>(
    '/webhooks/:integration',
    {
      config: {
        access: 'public',
        audit: false,
        rateLimit: {
          max: deps.webhookRateLimitPerMinute ?? 12_000,
          timeWindow: 60_000,
          keyGenerator: (request) => `webhook:${request.ip}`,
        },
      },
      schema: {
        tags: ['webhooks'],
        summary:
          "Vendor subscription handshake (Meta hub.challenge, X CRC, LinkedIn challenge), answered by the integration's connector",
        security: [],
        params: integrationNameParam,
        response: {
          200: { type: 'string', description: 'the challenge or CRC answer, in the content type the vendor expects' },
          ...errorResponses,
        },
      },
      onResponse: async (request, reply) => count(request, reply),
    },
    async (request, reply) => send(request, reply, await handshakeWebhook(ingestDeps(request), delivery(request))),
  );

  function ingestDeps(request: FastifyRequest): WebhookIngestDeps {
    return {
      async integration(name) {
        const found = await deps.integrations.getByNameCached(name);
        return (
          found && {
            name: found.name,
            system: found.system,
            enabled: found.enabled,
            webhookAllowlist: found.webhookAllowlist,
            resolvedConfig: () => deps.integrations.resolvedConfig(found),
          }
        );
      },
      connectors: deps.connectors,
      enqueue: (job) => deps.queue.enqueue(job),
      audit: (entry) =>
        deps.audit.write(entry).catch((error) => request.log.error({ err: error }, 'could not write the audit entry')),
      now: deps.now,
    };
  }

  function delivery(request: FastifyRequest<{ Params: { integration: string } }>) {
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(request.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    return {
      integration: request.params.integration,
      // request.ip honours trustProxy (X-Forwarded-For behind a load balancer).
      clientIp: request.ip,
      method: request.method,
      url: `${request.protocol}://${request.host}${request.url}`,
      headers,
      rawBody: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
      requestId: request.id,
    };
  }

  function send(request: FastifyRequest, reply: FastifyReply, answer: Awaited<ReturnType<typeof ingestWebhook>>) {
    if (answer.integration) known.set(request, answer.integration);
    if ('text' in answer) return reply.code(answer.status).type(answer.contentType).send(answer.text);
    return reply.code(answer.status).send(answer.json);
  }
};
