/**
 * Compliance: the quarantine (list with PII masked per role, replay), GDPR erasure and CCPA opt-out by
 * API token, and the same two as webhooks (the design document's deletion and opt-out webhooks), each
 * signed with a secret of its own over the method, path, a timestamp, a nonce and the body (no replays).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ConnectorModule } from '@data-sync/integrations/connector';
import type { QueueBinding } from '../../queue/binding';
import type { IntegrationStore } from '../../store/integrations-repository';
import type { PrivacyRepository } from '../../store/privacy-repository';
import type { QuarantineRepository } from '../../store/quarantine-repository';
import type { PipelinesApi } from '../deps';
import { ApiError } from '../errors';
import { actorOf } from '../auth';
import { errorResponses, paging } from '../schemas';
import type { Repositories } from '../../store/repositories';
import {
  NONCE_HEADER,
  SIGNATURE_HEADER,
  SKEW_SECONDS,
  TIMESTAMP_HEADER,
  complianceSignatureProblem,
} from '../../security/compliance-signature';

const emailBody = {
  type: 'object',
  required: ['email'],
  additionalProperties: false,
  properties: {
    email: { type: 'string', minLength: 3, maxLength: 320, description: "the data subject's email address" },
  },
} as const;

const erasureView = {
  type: 'object',
  properties: {
    erased: { type: 'object', additionalProperties: { type: 'integer' }, description: 'rows deleted per table' },
    vendorErasures: {
      type: 'array',
      items: { type: 'string' },
      description: 'integrations asked to erase the subject',
    },
    jobs: { type: 'array', items: { type: 'string' }, description: "the 'erasure' jobs queued for them" },
  },
} as const;

const countsView = {
  type: 'object',
  properties: Object.fromEntries(
    ['received', 'accepted', 'quarantined', 'duplicates', 'inserted', 'updated', 'unchanged'].map((k) => [
      k,
      { type: 'integer' },
    ]),
  ),
} as const;

const quarantineItem = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    integration: { type: 'string' },
    mapping: { type: 'string' },
    runId: { type: ['string', 'null'] },
    record: { type: 'object', additionalProperties: true },
    errors: { type: 'array', items: { type: 'object', additionalProperties: true } },
    occurrences: { type: 'integer' },
    attempts: { type: 'integer' },
    createdAt: { type: 'string' },
    lastSeenAt: { type: 'string' },
  },
} as const;

/** The pipelines library rejects a malformed address with an Error naming it: the caller's input. */
async function clientInput<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const message = (error as Error).message;
    if (/^(email|vendor|quarantine id) must/.test(message)) throw new ApiError(400, 'invalid_input', message);
    throw error;
  }
}

export interface ComplianceRouteDeps {
  readonly integrations: IntegrationStore;
  readonly connectors: Readonly<Record<string, ConnectorModule>>;
  readonly queue: Pick<QueueBinding, 'enqueue'>;
  /** null without the pipelines module. */
  readonly privacy: PrivacyRepository | null;
  /** null without the pipelines module. */
  readonly quarantine: QuarantineRepository | null;
  /** The pipeline stages (PII masking). @default null: these routes answer 501 */
  readonly pipelines?: PipelinesApi | null;
  /** The GDPR deletion webhook's secret (DATA_SYNC_GDPR_WEBHOOK_SECRET). @default null: it answers 503 */
  readonly gdprWebhookSecret?: string | null;
  /** The CCPA opt-out webhook's secret (DATA_SYNC_CCPA_WEBHOOK_SECRET). @default null: it answers 503 */
  readonly ccpaWebhookSecret?: string | null;
  /** Nonces seen by the signed webhooks. */
  readonly nonces: Repositories['complianceNonces'];
  /** The clock timestamps are checked against. @default Date.now */
  readonly now?: () => number;
  /** Meta data deletion requests (their status page). */
  readonly metaDeletions: Repositories['metaDeletions'];
}

export const complianceRoutes = (deps: ComplianceRouteDeps) => async (app: FastifyInstance) => {
  /** The pipelines module's parts, or 501 when this build has none. */
  const pipelines = () => {
    if (!deps.pipelines || !deps.privacy || !deps.quarantine)
      throw new ApiError(501, 'pipelines_unavailable', 'the pipelines module is not part of this build');
    return { stages: deps.pipelines, privacy: deps.privacy, quarantine: deps.quarantine };
  };

  /** Erases the subject here, then queues one 'erasure' job per vendor: the enabled integrations that have a connector. */
  async function erase(email: string, actor: string) {
    const { privacy } = pipelines();
    const vendors = (await deps.integrations.list())
      .filter((i) => i.enabled && deps.connectors[i.system])
      .map((i) => i.name);
    const result = await clientInput(() => privacy.erase(email, { actor, vendors }));
    // A job already waiting for a vendor drains every pending request of it: one is enough.
    const jobs = await Promise.all(
      result.vendorErasures.map((integration) =>
        deps.queue.enqueue({ kind: 'erasure', integration, payload: {}, dedupeKey: `erasure:${integration}` }),
      ),
    );
    return { erased: result.erased, vendorErasures: result.vendorErasures, jobs };
  }

  app.get(
    '/api/pipelines/quarantine',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary: "Quarantined records with their errors; PII masked for the caller's role",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { integration: { type: 'string', maxLength: 63 }, ...paging },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: quarantineItem }, total: { type: 'integer' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Querystring: { integration?: string; limit: number; offset: number } }>) => {
      const { stages, quarantine } = pipelines();
      const { integration, limit, offset } = request.query;
      const role = request.principal!.role;
      const page = await quarantine.list({ integration, limit, offset });
      const items = (page.items as Record<string, unknown>[]).map((item) => ({
        ...item,
        record: stages.maskPii((item.record ?? {}) as Record<string, unknown>, role),
      }));
      return { items, total: page.total };
    },
  );

  app.post(
    '/api/pipelines/quarantine/replay',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['pipelines'],
        summary: 'Run quarantined records (the given ids, or all) through the pipeline again with the current rules',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ids: { type: 'array', minItems: 1, maxItems: 10_000, items: { type: 'string', pattern: '^[0-9]{1,18}$' } },
          },
        },
        response: { 200: countsView, ...errorResponses },
      },
    },
    async (request: FastifyRequest<{ Body: { ids?: string[] } | undefined }>) => {
      const { quarantine } = pipelines();
      const ids = request.body?.ids;
      const result = await clientInput(() => quarantine.replay(ids));
      request.auditDetails = { ids: ids?.length ?? 'all', ...result };
      return result;
    },
  );

  app.post(
    '/api/compliance/erasure',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['compliance'],
        summary: "GDPR erasure: deletes the subject from the store (audited) and queues the vendors' erasures",
        body: emailBody,
        response: { 202: erasureView, ...errorResponses },
      },
    },
    async (request: FastifyRequest<{ Body: { email: string } }>, reply) => {
      const result = await erase(request.body.email, actorOf(request));
      request.auditDetails = { erased: result.erased, vendorErasures: result.vendorErasures, jobs: result.jobs };
      return reply.code(202).send(result);
    },
  );

  app.post(
    '/api/compliance/opt-out',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['compliance'],
        summary: 'CCPA opt-out: the subject is no longer pushed to marketing destinations',
        body: emailBody,
        response: { 200: { type: 'object', properties: { optedOut: { type: 'boolean' } } }, ...errorResponses },
      },
    },
    async (request: FastifyRequest<{ Body: { email: string } }>) => {
      const { privacy } = pipelines();
      await clientInput(() => privacy.optOut(request.body.email, { actor: actorOf(request) }));
      return { optedOut: await privacy.isOptedOut(request.body.email) };
    },
  );

  // The status URL Meta's data deletion callback answers with: the person holds only the confirmation code.
  app.get(
    '/compliance/meta-deletions',
    {
      config: { access: 'public' },
      schema: {
        tags: ['compliance'],
        summary: 'Status of a Meta data deletion request, by the confirmation code the callback answered with',
        security: [],
        querystring: {
          type: 'object',
          required: ['code'],
          additionalProperties: false,
          properties: { code: { type: 'string', pattern: '^[0-9a-f]{20}$' } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              confirmationCode: { type: 'string' },
              status: { type: 'string', enum: ['pending', 'completed'] },
              subjectsErased: { type: 'integer' },
              completedAt: { type: 'string' },
              message: { type: 'string' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Querystring: { code: string } }>) => {
      const status = await deps.metaDeletions.status(request.query.code);
      const message =
        status.status === 'completed'
          ? `Completed ${status.completedAt}: the data this service held about you from Meta was deleted, and its vendors were asked to delete theirs.`
          : 'Received and not processed yet; check again later.';
      return { ...status, message };
    },
  );

  // The signed webhooks: their scope keeps the raw JSON bytes the signature covers.
  await app.register(async (hooks) => {
    const raw = new WeakMap<FastifyRequest, Buffer>();
    hooks.removeAllContentTypeParsers();
    hooks.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      const buffer = body as Buffer;
      raw.set(request, buffer);
      try {
        done(null, JSON.parse(buffer.toString('utf8')));
      } catch (error) {
        done(new ApiError(400, 'malformed_json', `malformed JSON body: ${(error as Error).message}`), undefined);
      }
    });

    /** 503 when the endpoint has no secret, 401 when the signature, its timestamp or its nonce is refused. */
    const verify = async (
      request: FastifyRequest,
      source: string,
      secret: string | null | undefined,
      variable: string,
    ) => {
      if (!secret)
        throw new ApiError(503, 'not_configured', `the ${source} webhook is not configured: set ${variable}`);
      const header = (name: string) => {
        const value = request.headers[name];
        return (Array.isArray(value) ? value[0] : value)?.trim();
      };
      const path = request.url.split('?')[0];
      const problem = complianceSignatureProblem(
        secret,
        { method: request.method, path, body: raw.get(request) ?? Buffer.alloc(0) },
        { signature: header(SIGNATURE_HEADER), timestamp: header(TIMESTAMP_HEADER), nonce: header(NONCE_HEADER) },
        (deps.now ?? Date.now)(),
      );
      if (problem) throw new ApiError(401, 'webhook_rejected', problem);
      // Claimed only once the signature holds: an unsigned request cannot use up a sender's nonce.
      if (!(await deps.nonces.claim(path, header(NONCE_HEADER)!)))
        throw new ApiError(401, 'webhook_rejected', `${NONCE_HEADER} was already used: a replayed request`);
    };
    const signed = {
      tags: ['webhooks'],
      security: [],
      body: emailBody,
      headers: {
        type: 'object',
        properties: {
          [SIGNATURE_HEADER]: {
            type: 'string',
            description:
              "hex HMAC-SHA256, with this endpoint's secret, of `METHOD\\npath\\ntimestamp\\nnonce\\n` followed by the raw body",
          },
          [TIMESTAMP_HEADER]: {
            type: 'string',
            description: `unix seconds, within ${SKEW_SECONDS} s of the server's clock`,
          },
          [NONCE_HEADER]: {
            type: 'string',
            description: 'unique per request (16-128 of A-Z a-z 0-9 _ -); a reused one is refused',
          },
        },
      },
    };

    hooks.post(
      '/webhooks/gdpr/delete',
      {
        // Audited by the access hook (rejections too); the erasure itself writes its own proof.
        config: { access: 'public' },
        schema: {
          ...signed,
          summary: 'GDPR deletion request, signed with its own secret: erases the subject and queues vendor erasures',
          response: { 202: erasureView, ...errorResponses },
        },
      },
      async (request: FastifyRequest<{ Body: { email: string } }>, reply) => {
        await verify(request, 'GDPR deletion', deps.gdprWebhookSecret, 'DATA_SYNC_GDPR_WEBHOOK_SECRET');
        const result = await erase(request.body.email, 'webhook:gdpr');
        request.auditDetails = { erased: result.erased, vendorErasures: result.vendorErasures, jobs: result.jobs };
        return reply.code(202).send(result);
      },
    );

    hooks.post(
      '/webhooks/ccpa/opt-out',
      {
        config: { access: 'public' },
        schema: {
          ...signed,
          summary: 'CCPA opt-out request, signed with its own secret',
          response: { 200: { type: 'object', properties: { optedOut: { type: 'boolean' } } }, ...errorResponses },
        },
      },
      async (request: FastifyRequest<{ Body: { email: string } }>) => {
        await verify(request, 'CCPA opt-out', deps.ccpaWebhookSecret, 'DATA_SYNC_CCPA_WEBHOOK_SECRET');
        const { privacy } = pipelines();
        await clientInput(() => privacy.optOut(request.body.email, { actor: 'webhook:ccpa' }));
        return { optedOut: await privacy.isOptedOut(request.body.email) };
      },
    );
  });
};
