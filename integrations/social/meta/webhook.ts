/**
 * Meta webhooks (Graph API "Webhooks"): the GET subscription handshake (`hub.mode=subscribe`,
 * `hub.verify_token`, answered with `hub.challenge`), deliveries signed with
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body under the app secret>`, and the data
 * deletion request callback (a form with `signed_request`, `<base64url sig>.<base64url JSON>`), answered
 * with the status URL and a confirmation code. Meta retries deliveries and signs nothing time-bound, so
 * each change carries a stable id to deduplicate on.
 */
import { createHash, createHmac, timingSafeEqual } from 'crypto';
import { WebhookRejected, type WebhookEvents, type WebhookHandshake, type WebhookRequest } from '../../connector';
import type { MetaConfig } from './config';

export function header(request: WebhookRequest, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(request.headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function metaSignature(appSecret: string, rawBody: Buffer): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

/** The subscription handshake: the challenge echoed as text when the verify token matches. */
export function metaHandshake(system: string, config: MetaConfig, request: WebhookRequest): WebhookHandshake {
  if (!config.verifyToken)
    throw new WebhookRejected(`${system}: verifyToken is not configured, so no subscription can be confirmed`, 403);
  const query = new URL(request.url).searchParams;
  const challenge = query.get('hub.challenge');
  if (query.get('hub.mode') !== 'subscribe' || !challenge)
    throw new WebhookRejected(`${system}: expected hub.mode=subscribe with a hub.challenge`, 400);
  if (!equalText(query.get('hub.verify_token') ?? '', config.verifyToken))
    throw new WebhookRejected(`${system}: hub.verify_token does not match`, 403);
  // The challenge is echoed as plain text: an attacker-chosen string must not become HTML or JSON.
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(challenge))
    throw new WebhookRejected(`${system}: hub.challenge has unexpected characters`, 400);
  return { status: 200, contentType: 'text/plain; charset=utf-8', body: challenge };
}

/** The decoded `signed_request` of a data deletion callback, after its signature checked out. */
export interface DeletionRequest {
  /** App-scoped id of the person asking. */
  readonly userId: string;
  readonly issuedAt: number;
  /** Stable per request, so Meta's retries get the same answer and one erasure. */
  readonly confirmationCode: string;
}

export function parseSignedRequest(system: string, appSecret: string, signedRequest: string): DeletionRequest {
  const [signature, payload, extra] = signedRequest.split('.');
  if (!signature || !payload || extra !== undefined)
    throw new WebhookRejected(`${system}: signed_request is not <signature>.<payload>`, 400);
  const expected = createHmac('sha256', appSecret).update(payload).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new WebhookRejected(`${system}: signed_request signature does not match`, 401);
  let data: { algorithm?: unknown; user_id?: unknown; issued_at?: unknown };
  try {
    data = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new WebhookRejected(`${system}: signed_request payload is not JSON`, 400);
  }
  if (typeof data.algorithm !== 'string' || data.algorithm.toUpperCase() !== 'HMAC-SHA256')
    throw new WebhookRejected(`${system}: signed_request algorithm must be HMAC-SHA256`, 400);
  if (typeof data.user_id !== 'string' || !/^\d+$/.test(data.user_id))
    throw new WebhookRejected(`${system}: signed_request has no user_id`, 400);
  const issuedAt = typeof data.issued_at === 'number' ? data.issued_at : 0;
  const confirmationCode = createHash('sha256').update(`${data.user_id}:${issuedAt}`).digest('hex').slice(0, 20);
  return { userId: data.user_id, issuedAt, confirmationCode };
}

/** Builds a `signed_request` as Meta does (tests, demo). */
export function signRequest(appSecret: string, data: Record<string, unknown>): string {
  const payload = Buffer.from(JSON.stringify({ algorithm: 'HMAC-SHA256', ...data })).toString('base64url');
  return `${createHmac('sha256', appSecret).update(payload).digest('base64url')}.${payload}`;
}

interface Change {
  field?: unknown;
  value?: Record<string, unknown>;
}

/**
 * A POST: the data deletion callback when the body is a `signed_request` form, else a signed delivery
 * whose `object` is one of `objects` (`page` for Facebook, `instagram` for Instagram). Changes of
 * `leadgen` name the lead (the pull then reads it from its form); others are passed on by field.
 */
export function verifyMetaWebhook(
  system: string,
  objects: readonly string[],
  config: MetaConfig,
  request: WebhookRequest,
): WebhookEvents {
  const type = header(request, 'content-type') ?? '';
  if (type.startsWith('application/x-www-form-urlencoded')) {
    const signed = new URLSearchParams(request.rawBody.toString('utf8')).get('signed_request');
    if (!signed) throw new WebhookRejected(`${system}: a form delivery must carry signed_request`, 400);
    const deletion = parseSignedRequest(system, config.appSecret, signed);
    const statusBase = config.deletionStatusUrl ?? `${new URL(request.url).origin}/compliance/meta-deletions`;
    const url = new URL(statusBase);
    url.searchParams.set('code', deletion.confirmationCode);
    return {
      events: [{ id: `data_deletion:${deletion.confirmationCode}`, type: 'data_deletion', payload: deletion }],
      response: {
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ url: url.toString(), confirmation_code: deletion.confirmationCode }),
      },
    };
  }
  const signature = header(request, 'x-hub-signature-256');
  if (!signature) throw new WebhookRejected(`${system}: X-Hub-Signature-256 header is required`, 401);
  if (!equalText(signature.trim().toLowerCase(), metaSignature(config.appSecret, request.rawBody)))
    throw new WebhookRejected(`${system}: signature does not match`, 401);
  let body: { object?: unknown; entry?: unknown };
  try {
    body = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected(`${system}: body is not JSON`, 400);
  }
  if (!body || typeof body.object !== 'string' || !Array.isArray(body.entry))
    throw new WebhookRejected(`${system}: body has no object and entry list`, 400);
  if (!objects.includes(body.object))
    throw new WebhookRejected(
      `${system}: deliveries for "${body.object}" are not for this integration (expected ${objects.join(' or ')})`,
      400,
    );
  const events: WebhookEvents['events'][number][] = [];
  body.entry.forEach((entry: { id?: unknown; time?: unknown; changes?: unknown }, index: number) => {
    if (!entry || typeof entry.id !== 'string' || !Array.isArray(entry.changes))
      throw new WebhookRejected(`${system}: entry[${index}] lacks id or changes`, 400);
    (entry.changes as Change[]).forEach((change, n) => {
      if (!change || typeof change.field !== 'string' || !change.value || typeof change.value !== 'object')
        throw new WebhookRejected(`${system}: entry[${index}].changes[${n}] lacks field or value`, 400);
      if (change.field === 'leadgen') {
        const leadId = change.value.leadgen_id;
        if (typeof leadId !== 'string' && typeof leadId !== 'number')
          throw new WebhookRejected(`${system}: leadgen change without leadgen_id`, 400);
        events.push({
          id: `leadgen:${leadId}`,
          type: 'leadgen',
          object: 'leads',
          recordId: String(leadId),
          payload: change.value,
        });
        return;
      }
      // Other fields (mentions, comments, feed) carry no id of their own: the content identifies them.
      const digest = createHash('sha256')
        .update(JSON.stringify([entry.id, change.field, change.value]))
        .digest('hex')
        .slice(0, 32);
      events.push({ id: `${change.field}:${digest}`, type: change.field, payload: change.value });
    });
  });
  return { events };
}
