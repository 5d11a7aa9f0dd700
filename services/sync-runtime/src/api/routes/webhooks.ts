/**
 * POST /webhooks/:integration: optional CIDR allowlist, then the connector's verifier on the raw body,
 * then a durable 'webhook' job, and only then the 202 (or the vendor-specific answer the verifier asks for).
 */
import { createHash } from 'crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import { WebhookRejected } from '../../../../../integrations/connector';
import type { ApiDeps } from '../deps';
import { ApiError, notFound } from '../errors';
import { checkedRequestData } from '../request-data';
import { writeAudit } from '../audit-store';
import { EnvRefError } from '../../security/env-refs';
import { errorResponses, integrationNameParam } from '../schemas';

/** Whether `ip` is inside one of `cidrs` (IPv4-mapped IPv6 addresses count as IPv4). */
export function ipAllowed(ip: string, cidrs: readonly string[]): boolean {
  if (cidrs.length === 0) return true;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return false;
  }
  return cidrs.some((cidr) => {
    const [range, bits] = ipaddr.parseCIDR(cidr);
    return range.kind() === addr.kind() && addr.match(range as never, bits);
  });
}

export interface WebhookJobPayload {
  readonly events: readonly { id: string; type: string; object?: string; recordId?: string; payload: unknown }[];
  readonly receivedAt: string;
}

export const webhookRoutes = (deps: ApiDeps) => async (app: FastifyInstance) => {
  // Verifiers need the exact bytes the vendor signed: every content type is kept raw in this scope.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  const now = deps.now ?? Date.now;

  // Only names of configured integrations become label values: random path segments must not grow the series.
  const known = new WeakMap<FastifyRequest, string>();
  const count = (request: FastifyRequest, reply: FastifyReply) => deps.metrics.m.webhookRequests.inc({ integration: known.get(request) ?? 'unknown', code: String(reply.statusCode) });

  async function reject(request: FastifyRequest, name: string, status: number, reason: string): Promise<never> {
    await writeAudit(deps.db, { actor: `webhook:${request.ip}`, action: 'webhook.rejected', target: name, outcome: 'rejected', details: { status, reason, requestId: request.id } }).catch((error) =>
      request.log.error({ err: error }, 'could not write the audit entry'),
    );
    throw new ApiError(status, status === 403 ? 'forbidden' : 'webhook_rejected', reason, { integration: name });
  }

  app.post<{ Params: { integration: string } }>('/webhooks/:integration', {
    config: { access: 'public', audit: false, rateLimit: { max: deps.webhookRateLimitPerMinute ?? 12_000, timeWindow: 60_000, keyGenerator: (request) => `webhook:${request.ip}` } },
    schema: {
      tags: ['webhooks'],
      summary: "Inbound vendor webhook: verified by the integration's verifier, queued durably before the 202",
      security: [],
      params: integrationNameParam,
      response: { 202: { type: 'object', properties: { accepted: { type: 'integer' }, jobId: { type: ['string', 'null'], description: 'null when the delivery carried no events' } } }, ...errorResponses },
    },
    onResponse: async (request, reply) => count(request, reply),
  }, async (request, reply) => {
    const name = request.params.integration;
    const integration = await deps.integrations.getByNameCached(name);
    if (!integration || !integration.enabled) throw notFound('integration', name);
    known.set(request, name);
    if (!ipAllowed(request.ip, integration.webhookAllowlist)) await reject(request, name, 403, `address ${request.ip} is not in the webhook allowlist of ${name}`);
    const module = deps.connectors[integration.system];
    if (!module) throw new ApiError(409, 'no_connector', `integration "${name}" uses system "${integration.system}", which has no connector`, { system: integration.system });

    let config: unknown;
    try {
      config = deps.integrations.resolvedConfig(integration);
    } catch (error) {
      if (!(error instanceof EnvRefError)) throw error;
      // The vendor retries a 503; the deployment has to set the variable.
      throw new ApiError(503, 'integration_misconfigured', `integration "${name}" cannot verify deliveries: its ${error.message}`, { integration: name, variable: error.variable });
    }
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(request.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    let verified;
    try {
      verified = module.verifyWebhook(config, {
        method: request.method,
        url: `${request.protocol}://${request.host}${request.url}`,
        headers,
        rawBody,
        now: now(),
      });
    } catch (error) {
      if (error instanceof WebhookRejected) return reject(request, name, error.status >= 400 && error.status < 500 ? error.status : 401, error.reason);
      throw new ApiError(400, 'webhook_invalid', `the ${integration.system} webhook could not be read: ${(error as Error).message}`, { integration: name });
    }

    const events = checkedRequestData(verified.events, `the ${integration.system} webhook`).map((e) => ({ id: String(e.id), type: e.type, object: e.object, recordId: e.recordId, payload: e.payload }));
    let jobId: string | null = null;
    if (events.length > 0) {
      const payload: WebhookJobPayload = { events, receivedAt: new Date(now()).toISOString() };
      // The same delivery again while the first is still queued is one job.
      const dedupeKey = `webhook:${name}:${createHash('sha256').update(events.map((e) => e.id).sort().join('\n')).digest('hex').slice(0, 32)}`;
      jobId = await deps.queue.enqueue({ kind: 'webhook', integration: name, payload, dedupeKey });
    }
    if (verified.response) return reply.code(verified.response.status).type(verified.response.contentType).send(verified.response.body);
    return reply.code(202).send({ accepted: events.length, jobId });
  });
};
