/**
 * Constant Contact v3 webhooks: `X-CTCT-WEBHOOK-SIG` carries a JWS (RFC 7515) with detached,
 * unencoded payload (RFC 7797, `b64: false`): `<protected header>..<signature>`, signed over
 * `<protected header>.<raw body>` with Constant Contact's key (RS256), the send time in the header's
 * `ts`. Keys come from config (the JWKS Constant Contact publishes), since verification is synchronous.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'crypto';
import { WebhookRejected, type WebhookEvents, type WebhookRequest } from '../../connector';
import type { ConstantContactConfig } from './config';

const ALGORITHMS: Record<string, { hash: string; dsa?: boolean }> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  ES256: { hash: 'sha256', dsa: true },
};

function headerValue(request: WebhookRequest, name: string): string | undefined {
  for (const [key, value] of Object.entries(request.headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function keysFor(config: ConstantContactConfig, kid: unknown): KeyObject[] {
  const keys = config.webhookJwks?.keys ?? [];
  const chosen = typeof kid === 'string' ? keys.filter((k) => k.kid === kid) : keys;
  return chosen.flatMap((jwk) => {
    try {
      return [createPublicKey({ key: jwk as import('crypto').JsonWebKey, format: 'jwk' })];
    } catch {
      return [];
    }
  });
}

export function verifyConstantContactWebhook(config: ConstantContactConfig, request: WebhookRequest): WebhookEvents {
  if (!config.webhookJwks) throw new WebhookRejected('constant_contact: webhookJwks is not configured', 401);
  const jws = headerValue(request, 'x-ctct-webhook-sig');
  const parts = jws?.split('.');
  if (!jws || !parts || parts.length !== 3 || parts[1] !== '')
    throw new WebhookRejected('constant_contact: X-CTCT-WEBHOOK-SIG must be a detached JWS', 401);
  let protectedHeader: { alg?: string; ts?: number; b64?: boolean; crit?: string[]; kid?: string };
  try {
    protectedHeader = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  } catch {
    throw new WebhookRejected('constant_contact: JWS header is not JSON', 401);
  }
  const algorithm = ALGORITHMS[protectedHeader.alg ?? ''];
  if (!algorithm) throw new WebhookRejected(`constant_contact: unsupported JWS algorithm ${protectedHeader.alg}`, 401);
  if (protectedHeader.b64 !== false)
    throw new WebhookRejected('constant_contact: JWS must declare b64=false (unencoded payload)', 401);
  if (typeof protectedHeader.ts !== 'number') throw new WebhookRejected('constant_contact: JWS header has no ts', 401);
  if (Math.abs(request.now - protectedHeader.ts * 1000) > config.webhookToleranceMs)
    throw new WebhookRejected(
      'constant_contact: delivery timestamp outside the allowed window (replay or clock skew)',
      401,
    );
  const signingInput = Buffer.concat([Buffer.from(`${parts[0]}.`, 'ascii'), request.rawBody]);
  const signature = Buffer.from(parts[2], 'base64url');
  const valid = keysFor(config, protectedHeader.kid).some((key) =>
    verify(algorithm.hash, signingInput, algorithm.dsa ? { key, dsaEncoding: 'ieee-p1363' } : key, signature),
  );
  if (!valid) throw new WebhookRejected('constant_contact: signature does not verify with the configured keys', 401);

  let body: { event_type?: unknown; url?: unknown; [key: string]: unknown };
  try {
    body = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected('constant_contact: body is not JSON', 400);
  }
  if (!body || typeof body !== 'object' || typeof body.event_type !== 'string')
    throw new WebhookRejected('constant_contact: body has no event_type', 400);
  const id = createHash('sha256').update(`${protectedHeader.ts}.`).update(request.rawBody).digest('hex');
  return { events: [{ id, type: body.event_type, payload: body }] };
}
