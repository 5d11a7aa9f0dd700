/**
 * Integrations CRUD. Config is validated against the connector's own zod schema; credentials are sealed
 * at rest and only ever answered masked (a client may send the mask back to keep a secret unchanged).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import { findIntegration, intervalMinutes } from '@data-sync/config/integrations';
import { IntegrationError } from '@data-sync/integrations/connector';
import type { ConnectorModule } from '@data-sync/integrations/connector';
import { ApiError, notFound } from '../errors';
import {
  Integration,
  IntegrationNameTaken,
  IntegrationStore,
  MASK,
  maskSecrets,
  restoreMasked,
} from '../../store/integrations-repository';
import { EnvRefError, keepEnvRefs } from '../../security/env-refs';
import { VendorUrlError, calledUrlsChanged, checkVendorUrls, usesLocalVendor } from '../../security/vendor-hosts';
import { NAME_PATTERN, anyObject, errorResponses, idParam } from '../schemas';
import { withTimeout } from './health';

const integrationView = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    system: { type: 'string' },
    enabled: { type: 'boolean' },
    syncInterval: { type: 'string' },
    objects: { type: 'array', items: { type: 'string' } },
    pushObjects: { type: 'array', items: { type: 'string' } },
    webhookAllowlist: { type: 'array', items: { type: 'string' } },
    config: {
      ...anyObject,
      description:
        'connector config; secrets masked as ********, credential references ({"$env": NAME}) shown as they are',
    },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

const editable = {
  enabled: { type: 'boolean' },
  syncInterval: { type: 'string', pattern: '^[1-9][0-9]{0,5}[mhd]$', description: '<n>m, <n>h or <n>d' },
  objects: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 128 } },
  pushObjects: {
    type: 'array',
    maxItems: 100,
    items: { type: 'string', minLength: 1, maxLength: 128 },
    description: "objects that receive the internal model's contact changes (default: the catalog's)",
  },
  webhookAllowlist: {
    type: 'array',
    maxItems: 100,
    items: { type: 'string', minLength: 1, maxLength: 64 },
    description: 'CIDRs (or single addresses) allowed to call the webhook; empty: any',
  },
  config: {
    type: 'object',
    description:
      'validated by the connector\'s config schema; a secret may be given as {"$env": NAME}, NAME a catalog credential the deployment sets (e.g. HUBSPOT_API_KEY)',
  },
} as const;

export const view = (i: Integration) => ({ ...i, config: maskSecrets(i.config) });

/** Validates CIDRs with ipaddr.js; a bare address becomes a /32 or /128. */
export function normalizeAllowlist(entries: readonly string[]): string[] {
  return entries.map((entry, index) => {
    try {
      if (entry.includes('/')) {
        const [addr, bits] = ipaddr.parseCIDR(entry);
        return `${addr.toString()}/${bits}`;
      }
      const addr = ipaddr.parse(entry);
      return `${addr.toString()}/${addr.kind() === 'ipv4' ? 32 : 128}`;
    } catch {
      throw new ApiError(
        400,
        'validation_failed',
        `webhookAllowlist[${index}] "${entry}" is not an IP address or CIDR`,
        [{ in: 'body', path: `/webhookAllowlist/${index}`, message: 'not an IP address or CIDR' }],
      );
    }
  });
}

/** Whether a config sent back still holds a masked secret somewhere. */
function containsMask(value: unknown): boolean {
  if (value === MASK) return true;
  if (Array.isArray(value)) return value.some(containsMask);
  return value !== null && typeof value === 'object' && Object.values(value).some(containsMask);
}

export interface IntegrationRouteDeps {
  readonly integrations: IntegrationStore;
  readonly connectors: Readonly<Record<string, ConnectorModule>>;
}

export const integrationRoutes = (deps: IntegrationRouteDeps) => async (app: FastifyInstance) => {
  function moduleFor(system: string) {
    const module = deps.connectors[system];
    if (!module) {
      throw new ApiError(
        400,
        'unknown_system',
        `no connector for system "${system}"; known: ${Object.keys(deps.connectors).sort().join(', ') || 'none'}`,
        { system, known: Object.keys(deps.connectors).sort() },
      );
    }
    return module;
  }

  /** The config to store: checked resolved (its URLs on the vendor's hosts), kept with its credential references. */
  function validConfig(system: string, config: unknown): unknown {
    let resolved: unknown;
    try {
      resolved = deps.integrations.resolvedConfig({ config, system });
      checkVendorUrls(system, resolved, deps.integrations.allowLocalVendors);
    } catch (error) {
      if (!(error instanceof EnvRefError || error instanceof VendorUrlError)) throw error;
      throw new ApiError(400, 'invalid_config', error.message, [
        { in: 'body', path: `/config${error.path}`, message: error.message },
      ]);
    }
    const parsed = moduleFor(system).configSchema.safeParse(resolved);
    if (!parsed.success) {
      throw new ApiError(
        400,
        'invalid_config',
        `config does not match the ${system} connector's schema: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
        parsed.error.issues.map((i) => ({ in: 'body', path: `/config/${i.path.join('/')}`, message: i.message })),
      );
    }
    return keepEnvRefs(parsed.data, config);
  }

  function validInterval(interval: string): string {
    try {
      intervalMinutes(interval);
      return interval;
    } catch (error) {
      throw new ApiError(400, 'validation_failed', (error as Error).message, [
        { in: 'body', path: '/syncInterval', message: 'expected <n>m, <n>h or <n>d' },
      ]);
    }
  }

  async function existing(id: string) {
    const found = await deps.integrations.getById(id);
    if (!found) throw notFound('integration', id);
    return found;
  }

  app.get(
    '/api/integrations',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['integrations'],
        summary: 'All integrations (credentials masked)',
        response: {
          200: { type: 'object', properties: { integrations: { type: 'array', items: integrationView } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ integrations: (await deps.integrations.list()).map(view) }),
  );

  app.get(
    '/api/integrations/:id',
    {
      config: { access: 'viewer' },
      schema: {
        tags: ['integrations'],
        summary: 'One integration (credentials masked)',
        params: idParam,
        response: { 200: integrationView, ...errorResponses },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string } }>) => view(await existing(request.params.id)),
  );

  app.post(
    '/api/integrations',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['integrations'],
        summary: 'Add an integration; its config is checked against the connector schema and sealed at rest',
        body: {
          type: 'object',
          required: ['name', 'system', 'config'],
          additionalProperties: false,
          properties: {
            name: {
              type: 'string',
              pattern: NAME_PATTERN,
              description: 'unique; also the /webhooks/:integration path segment',
            },
            system: {
              type: 'string',
              minLength: 1,
              maxLength: 64,
              description: 'connector (salesforce, hubspot, mailchimp, ...)',
            },
            ...editable,
          },
        },
        response: { 201: integrationView, ...errorResponses },
      },
    },
    async (
      request: FastifyRequest<{
        Body: {
          name: string;
          system: string;
          config: unknown;
          enabled?: boolean;
          syncInterval?: string;
          objects?: string[];
          pushObjects?: string[];
          webhookAllowlist?: string[];
        };
      }>,
      reply,
    ) => {
      const body = request.body;
      const catalog = findIntegration(body.name) ?? findIntegration(body.system);
      const config = validConfig(body.system, body.config);
      try {
        const created = await deps.integrations.create({
          name: body.name,
          system: body.system,
          enabled: body.enabled ?? true,
          syncInterval: validInterval(body.syncInterval ?? catalog?.syncInterval ?? '1h'),
          objects: body.objects ?? [...(catalog?.objects ?? [])],
          pushObjects: body.pushObjects ?? [...(catalog?.pushObjects ?? [])],
          webhookAllowlist: normalizeAllowlist(body.webhookAllowlist ?? []),
          config,
        });
        request.auditDetails = {
          id: created.id,
          name: created.name,
          system: created.system,
          ...(usesLocalVendor(config) && { localVendorOverride: true }),
        };
        return reply.code(201).send(view(created));
      } catch (error) {
        if (error instanceof IntegrationNameTaken)
          throw new ApiError(409, 'conflict', error.message, { name: body.name });
        throw error;
      }
    },
  );

  app.put(
    '/api/integrations/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['integrations'],
        summary: 'Update an integration (name and system are fixed); masked secrets sent back are kept',
        params: idParam,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: editable },
        response: { 200: integrationView, ...errorResponses },
      },
    },
    async (
      request: FastifyRequest<{
        Params: { id: string };
        Body: {
          config?: unknown;
          enabled?: boolean;
          syncInterval?: string;
          objects?: string[];
          pushObjects?: string[];
          webhookAllowlist?: string[];
        };
      }>,
    ) => {
      const current = await existing(request.params.id);
      const body = request.body;
      const config =
        body.config === undefined
          ? current.config
          : validConfig(current.system, restoreMasked(body.config, current.config));
      // A stored secret stays only while the URLs it is sent to stay: otherwise an admin token alone could
      // move the vendor's credential to another host (still one of the vendor's, but e.g. another tenant's).
      if (body.config !== undefined && containsMask(body.config) && calledUrlsChanged(current.config, config))
        throw new ApiError(
          400,
          'secrets_required',
          `the config changes a URL the ${current.system} connector calls: give its secrets again instead of ${MASK}`,
        );
      const updated = await deps.integrations.update(current.id, {
        enabled: body.enabled ?? current.enabled,
        syncInterval: body.syncInterval === undefined ? current.syncInterval : validInterval(body.syncInterval),
        objects: body.objects ?? current.objects,
        pushObjects: body.pushObjects ?? current.pushObjects,
        webhookAllowlist:
          body.webhookAllowlist === undefined ? current.webhookAllowlist : normalizeAllowlist(body.webhookAllowlist),
        config,
      });
      if (!updated) throw notFound('integration', request.params.id);
      request.auditDetails = {
        name: updated.name,
        changed: Object.keys(body),
        ...(usesLocalVendor(config) && { localVendorOverride: true }),
      };
      return view(updated);
    },
  );

  app.delete(
    '/api/integrations/:id',
    {
      config: { access: 'admin' },
      schema: {
        tags: ['integrations'],
        summary: 'Remove an integration (its synced data stays until a reset with purge)',
        params: idParam,
        response: {
          200: { type: 'object', properties: { deleted: { type: 'string' }, name: { type: 'string' } } },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string } }>) => {
      const removed = await deps.integrations.remove(request.params.id);
      if (!removed) throw notFound('integration', request.params.id);
      request.auditDetails = { name: removed.name };
      return { deleted: removed.id, name: removed.name };
    },
  );

  app.post(
    '/api/integrations/:id/test',
    {
      config: { access: 'operator' },
      schema: {
        tags: ['integrations'],
        summary: "Test the integration's connection (credentials and reachability)",
        params: idParam,
        response: {
          200: {
            type: 'object',
            properties: { ok: { type: 'boolean' }, message: { type: 'string' }, latencyMs: { type: 'number' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request: FastifyRequest<{ Params: { id: string } }>) => {
      const integration = await existing(request.params.id);
      const module = moduleFor(integration.system);
      const started = performance.now();
      try {
        const result = await withTimeout(
          module
            .create(
              deps.integrations.resolvedConfig(integration),
              deps.integrations.connectorContext(integration.system),
            )
            .test(),
          10_000,
          integration.name,
        );
        request.auditDetails = { ok: result.ok };
        return result;
      } catch (error) {
        const message =
          error instanceof IntegrationError ? `${error.kind}: ${error.message}` : (error as Error).message;
        request.auditDetails = { ok: false };
        return { ok: false, message, latencyMs: Math.round(performance.now() - started) };
      }
    },
  );
};
