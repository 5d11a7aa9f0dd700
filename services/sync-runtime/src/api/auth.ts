/**
 * Access control: every route declares `config.access` (a role or `public`), checked before the body is
 * read: 401 without a valid token, 403 with a role below the route's. Also the audit of every
 * state-changing call, written before the answer leaves.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Role, RouteAccess, roleAllows } from '../security/tokens';
import type { TokenInfo, TokenStore } from '../store/tokens-repository';
import { ApiError } from './errors';
import type { AuditRepository } from '../store/audit-repository';
import type { AuthFailureLimiter } from './plugins/auth-failures';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route. Required on every route (registration fails without it). */
    access?: RouteAccess;
    /** false: the route audits itself (webhooks audit rejections; accepted events are audited when processed). */
    audit?: boolean;
  }
  interface FastifyInstance {
    /** Every route registered, with its declared access (the access-control test walks this list). */
    routeAccess: { method: string; url: string; access: RouteAccess }[];
  }
  interface FastifyRequest {
    principal: TokenInfo | null;
    /** Extra details a handler adds to its audit entry (run id, counts). */
    auditDetails: Record<string, unknown>;
  }
}

/** Routes that plugins register (swagger-ui's /docs assets) and that are public by nature. */
const PUBLIC_PREFIXES = ['/docs'];

export function actorOf(request: FastifyRequest): string {
  return request.principal ? `token:${request.principal.name}` : 'anonymous';
}

export function requireRole(request: FastifyRequest, role: Role, why: string): void {
  if (!request.principal || !roleAllows(request.principal.role, role)) {
    throw new ApiError(
      403,
      'forbidden',
      `${why} needs the ${role} role; this token has ${request.principal?.role ?? 'none'}`,
      { required: role, held: request.principal?.role ?? null },
    );
  }
}

const bearer = (header: string | undefined): string | null => {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
};

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function registerAccessControl(
  app: FastifyInstance,
  deps: { tokens: TokenStore; audit: AuditRepository; authFailures: AuthFailureLimiter },
): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('auditDetails', null as unknown as Record<string, unknown>);

  app.decorate('routeAccess', [] as { method: string; url: string; access: RouteAccess }[]);
  app.addHook('onRoute', (route) => {
    route.config ??= {};
    if (!route.config.access) {
      if (!PUBLIC_PREFIXES.some((p) => route.url === p || route.url.startsWith(`${p}/`))) {
        throw new Error(`route ${route.method} ${route.url} declares no access role (config.access)`);
      }
      route.config.access = 'public';
      route.config.audit = false;
    }
    for (const method of [route.method].flat())
      app.routeAccess.push({ method, url: route.url, access: route.config.access });
  });

  app.addHook('onRequest', async (request, reply) => {
    request.auditDetails = {};
    const access = request.routeOptions.config?.access;
    // No access config: the not-found handler, which answers 404 to everyone.
    if (!access || access === 'public') return;
    // Before the token is looked at: an address out of failed attempts cannot try another one.
    const blockedMs = await deps.authFailures.blockedForMs(request.ip);
    if (blockedMs > 0) {
      const retryAfter = Math.ceil(blockedMs / 1000);
      reply.header('retry-after', String(retryAfter));
      throw new ApiError(
        429,
        'rate_limited',
        `too many failed authentication attempts from this address: at most ${deps.authFailures.max} per minute; retry in ${retryAfter} s`,
        { limit: deps.authFailures.max, retryAfter },
      );
    }
    const token = bearer(request.headers.authorization);
    if (!token) {
      await deps.authFailures.record(request.ip);
      throw new ApiError(401, 'unauthorized', 'missing API token: send "Authorization: Bearer <token>"');
    }
    const principal = await deps.tokens.verify(token);
    if (!principal) {
      await deps.authFailures.record(request.ip);
      throw new ApiError(401, 'unauthorized', 'invalid or revoked API token');
    }
    request.principal = principal;
    if (!roleAllows(principal.role, access)) {
      throw new ApiError(
        403,
        'forbidden',
        `${request.method} ${request.routeOptions.url} needs the ${access} role; this token has ${principal.role}`,
        { required: access, held: principal.role },
      );
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const config = request.routeOptions.config;
    if (!MUTATING.has(request.method) || !config?.access || config.audit === false) return payload;
    const status = reply.statusCode;
    const params = (request.params ?? {}) as Record<string, string>;
    const target = Object.keys(params).length
      ? Object.values(params).join('/')
      : (request.routeOptions.url ?? request.url);
    try {
      await deps.audit.write({
        actor: actorOf(request),
        action: `${request.method} ${request.routeOptions.url}`,
        target,
        outcome:
          status < 400 ? 'ok' : status === 401 || status === 403 ? 'denied' : status < 500 ? 'rejected' : 'failed',
        details: { status, requestId: request.id, ip: request.ip, ...(request.auditDetails ?? {}) },
      });
    } catch (error) {
      request.log.error({ err: error }, 'could not write the audit entry');
    }
    return payload;
  });
}
