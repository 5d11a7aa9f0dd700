/**
 * API tokens (random, shown once, stored as a SHA-256 hash) and the role order viewer < operator < admin.
 * `service` stands outside that order: an internal service's token (the User Service) reaches only the
 * routes that require `service`, and no person's token reaches those.
 */
import { createHash, randomBytes } from 'crypto';

export const ROLES = ['viewer', 'operator', 'admin', 'service'] as const;
export type Role = (typeof ROLES)[number];
/** What a route requires: a role, or `public` for liveness, webhooks (verified by signature) and docs. */
export type RouteAccess = Role | 'public';

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether `held` is at least `required`. */
export function roleAllows(held: Role, required: Role): boolean {
  if (held === 'service' || required === 'service') return held === required;
  return ROLES.indexOf(held) >= ROLES.indexOf(required);
}

const PREFIX = 'dst_';

/** A new token: 32 random bytes, base64url, with a prefix that makes leaked tokens easy to grep for. */
export function generateToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/** SHA-256 is enough for 256-bit random tokens: there is nothing to brute-force. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
