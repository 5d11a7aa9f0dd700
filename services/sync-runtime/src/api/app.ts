/**
 * The HTTP API: one Fastify app with a JSON schema on every route (OpenAPI at /docs), one error shape,
 * role checks on every route, inbound rate limiting and an audit entry for every state-changing call.
 */
import * as fs from 'fs';
import * as path from 'path';
import { lazyCompilers } from './lazy-compilers';
import Fastify, { FastifyBaseLogger, FastifyInstance, LogController } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { ApiDeps } from './deps';
import { ApiError, ERROR_SCHEMA, errorHandler } from './errors';
import { checkedRequestData } from './request-data';
import { registerAccessControl } from './auth';
import { createAuthFailureLimiter } from './plugins/auth-failures';
import { healthRoutes } from './routes/health';
import { syncRoutes } from './routes/sync';
import { integrationRoutes } from './routes/integrations';
import { workflowRoutes } from './routes/workflows';
import { pipelineRoutes } from './routes/pipelines';
import { webhookRoutes } from './routes/webhooks';
import { pubsubPushRoutes } from './routes/pubsub-push';
import { adminRoutes } from './routes/admin';
import { complianceRoutes } from './routes/compliance';
import { contactRoutes } from './routes/contacts';
import { analyticsRoutes } from './routes/analytics';
import { changeRoutes } from './routes/changes';
import { internalUserRoutes } from './routes/internal-users';
import { runRoutes } from './routes/runs';
import { consoleAssetsDir, consoleRoutes } from './routes/console';
import { xAuthorizationRoutes } from './routes/x-authorization';

const LOGO =
  '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="32"><text x="0" y="24" font-family="sans-serif" font-size="20" fill="#fff">Data Sync</text></svg>';

/**
 * swagger-ui's static files, looked up at run time: in the esbuild bundle the plugin's own __dirname
 * is the bundle's folder, where they are not (they ship with @fastify/swagger-ui in node_modules).
 */
function swaggerUiAssets(): string | undefined {
  try {
    const dir = path.join(path.dirname(require.resolve('@fastify/swagger-ui/package.json')), 'static');
    return fs.existsSync(path.join(dir, 'index.html')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const config = deps.config ?? {};
  const { repositories: store, engine, queue, connectors, pipelines, n8n, metrics } = deps;
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimit ?? 1024 * 1024,
    // Trust only the balancer's own hops (what Fastify does for a number, which its types omit), so a
    // client's X-Forwarded-For entries in front of the balancer's are never taken as its address.
    trustProxy: (_address: string, hop: number) => hop < (config.trustProxy ?? 0),
    // Unknown properties are rejected where a schema says additionalProperties: false, not silently dropped.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    schemaController: { compilersFactory: lazyCompilers() as never },
    frameworkErrors: (error, request, reply) => errorHandler(error, request, reply),
    logController: new LogController({ disableRequestLogging: config.disableRequestLogging ?? false }),
  });
  app.addSchema(ERROR_SCHEMA);
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    void parseJson(request, body as string, (error: Error | null, value?: unknown) => {
      if (error) return done(error);
      try {
        done(null, checkedRequestData(value, 'the JSON body'));
      } catch (refused) {
        done(refused as Error);
      }
    });
  });
  app.setErrorHandler(errorHandler);
  // Every answer: browsers keep to HTTPS for this host (each stack serves it over HTTPS only) and never sniff types.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
    reply.header('x-content-type-options', 'nosniff');
    return payload;
  });
  app.setNotFoundHandler((request, reply) => {
    const body = {
      error: 'not_found',
      message: `no route ${request.method} ${request.url.split('?')[0]}`,
      details: null,
    };
    return reply.code(404).send(body);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Data Sync Service',
        version: '1.0.0',
        description: 'Sync, integrations, workflows (n8n), pipelines, webhooks and health.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API token (roles: viewer < operator < admin)' },
        },
      },
      security: [{ bearer: [] }],
    },
  });
  const assets = swaggerUiAssets();
  if (assets) {
    // An inline logo: the default one is read from the plugin's folder, which the bundle does not have.
    await app.register(swaggerUi, {
      routePrefix: '/docs',
      logo: { type: 'image/svg+xml', content: Buffer.from(LOGO) },
      baseDir: assets,
    });
  } else {
    deps.logger.warn(
      'swagger-ui assets not found (node_modules/@fastify/swagger-ui): /docs serves the OpenAPI JSON only',
    );
    app.get('/docs/json', { config: { access: 'public', audit: false }, schema: { hide: true } }, async () =>
      app.swagger(),
    );
  }

  // Access control's hook runs first: it limits failed attempts per address before verifying a token, so
  // the rate limit below only sees authenticated requests (and public ones) and counts them per token.
  registerAccessControl(app, {
    tokens: store.tokens,
    audit: store.audit,
    authFailures: createAuthFailureLimiter({
      max: config.authFailuresPerMinute ?? 20,
      redis: config.rateLimitRedis,
      now: config.now,
    }),
  });
  await app.register(rateLimit, {
    global: true,
    // A Redis outage degrades to no limit rather than failing every request.
    ...(config.rateLimitRedis
      ? { redis: config.rateLimitRedis, nameSpace: 'data-sync-rate-limit:', skipOnError: true }
      : {}),
    max: config.rateLimitPerMinute ?? 600,
    timeWindow: 60_000,
    // Per verified token (access control has run), otherwise (public routes) per client address.
    keyGenerator: (request) => (request.principal ? `t:${request.principal.id}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) =>
      new ApiError(
        429,
        'rate_limited',
        `too many requests: at most ${context.max} per minute; retry in ${context.after}`,
        { limit: context.max, retryAfter: context.after },
      ),
  });

  // ajv coerces a query value such as "1e400" to Infinity and lets it pass integer/maximum checks.
  app.addHook('preHandler', async (request) => {
    for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        throw new ApiError(400, 'validation_failed', `querystring/${name} must be a finite number`, [
          { in: 'querystring', path: `/${name}`, message: 'must be a finite number' },
        ]);
      }
    }
  });

  const { integrations, quarantine } = store;
  const { webhookRateLimitPerMinute, now } = config;
  await app.register(
    healthRoutes({ ping: store.ping, queue, integrations, connectors, n8n, metrics, slot: config.slot }),
  );
  await app.register(syncRoutes({ engine, integrations, runs: store.runs, queue }));
  await app.register(integrationRoutes({ integrations, connectors }));
  await app.register(
    xAuthorizationRoutes({ integrations, xAuthorizations: store.xAuthorizations, audit: store.audit, now }),
  );
  await app.register(workflowRoutes({ n8n, metrics }));
  await app.register(pipelineRoutes({ engine, integrations, pipelineRuns: store.pipelineRuns, quarantine, pipelines }));
  await app.register(adminRoutes({ audit: store.audit, tokens: store.tokens, queue }));
  await app.register(
    complianceRoutes({
      integrations,
      connectors,
      queue,
      privacy: store.privacy,
      quarantine,
      pipelines,
      gdprWebhookSecret: config.gdprWebhookSecret,
      ccpaWebhookSecret: config.ccpaWebhookSecret,
      nonces: store.complianceNonces,
      now: config.now,
      metaDeletions: store.metaDeletions,
    }),
  );
  await app.register(contactRoutes({ contacts: store.contacts }));
  await app.register(analyticsRoutes({ analytics: store.analytics }));
  await app.register(changeRoutes({ changes: store.changes, stream: config.changeStream }));
  await app.register(internalUserRoutes({ internalUsers: store.internalUsers }));
  await app.register(
    webhookRoutes({ integrations, connectors, queue, audit: store.audit, metrics, webhookRateLimitPerMinute, now }),
  );
  await app.register(pubsubPushRoutes({ pubsubPush: deps.pubsubPush, webhookRateLimitPerMinute, now }));
  await app.register(runRoutes(deps));
  await app.register(consoleRoutes(consoleAssetsDir()));
  return app;
}
