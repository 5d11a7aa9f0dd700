/**
 * X Account Activity webhooks: the CRC check (GET with `crc_token`, answered with JSON
 * `{"response_token": "sha256=<base64 HMAC-SHA256 of crc_token under the consumer secret>"}`) and
 * deliveries signed with `x-twitter-webhooks-signature: sha256=<base64 HMAC-SHA256 of the raw body>`.
 * X re-sends deliveries and signs nothing time-bound: events carry their own ids to deduplicate on.
 */
import { createHmac, timingSafeEqual } from 'crypto';
import { WebhookRejected, type WebhookEvents, type WebhookHandshake, type WebhookRequest } from '../../connector';
import { header } from '../meta/webhook';
import type { XConfig } from './config';

export const xSignature = (consumerSecret: string, payload: string | Buffer) =>
  `sha256=${createHmac('sha256', consumerSecret).update(payload).digest('base64')}`;

export function xCrc(config: XConfig, request: WebhookRequest): WebhookHandshake {
  const token = new URL(request.url).searchParams.get('crc_token');
  if (!token) throw new WebhookRejected('x: a CRC check carries crc_token', 400);
  return {
    status: 200,
    contentType: 'application/json',
    body: JSON.stringify({ response_token: xSignature(config.consumerSecret, token) }),
  };
}

type Activity = Record<string, unknown> & { for_user_id?: unknown };

/** Event lists of an Account Activity delivery and how each item is identified. */
const LISTS: Record<string, (item: Record<string, unknown>) => string | undefined> = {
  tweet_create_events: (t) => (typeof t.id_str === 'string' ? t.id_str : undefined),
  tweet_delete_events: (t) =>
    (t.status as { id_str?: string } | undefined)?.id_str
      ? `${(t.status as { id_str: string }).id_str}:${t.timestamp_ms}`
      : undefined,
  favorite_events: (t) => (typeof t.id === 'string' ? t.id : undefined),
  follow_events: (t) => {
    const source = (t.source as { id?: string } | undefined)?.id;
    const target = (t.target as { id?: string } | undefined)?.id;
    return source && target ? `${t.type}:${source}:${target}:${t.created_timestamp}` : undefined;
  },
};

export function verifyXWebhook(config: XConfig, request: WebhookRequest): WebhookEvents {
  const signature = header(request, 'x-twitter-webhooks-signature');
  if (!signature) throw new WebhookRejected('x: x-twitter-webhooks-signature header is required', 401);
  const expected = Buffer.from(xSignature(config.consumerSecret, request.rawBody));
  const given = Buffer.from(signature.trim());
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new WebhookRejected('x: signature does not match', 401);
  let body: Activity;
  try {
    body = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected('x: body is not JSON', 400);
  }
  if (!body || typeof body !== 'object' || typeof body.for_user_id !== 'string')
    throw new WebhookRejected('x: body has no for_user_id', 400);
  if (body.for_user_id !== config.userId)
    throw new WebhookRejected(`x: delivery for user ${body.for_user_id}, expected ${config.userId}`, 401);
  const events: WebhookEvents['events'][number][] = [];
  for (const [list, idOf] of Object.entries(LISTS)) {
    const items = body[list];
    if (items === undefined) continue;
    if (!Array.isArray(items)) throw new WebhookRejected(`x: ${list} is not a list`, 400);
    items.forEach((item: Record<string, unknown>, index) => {
      const id = item && typeof item === 'object' ? idOf(item) : undefined;
      if (!id) throw new WebhookRejected(`x: ${list}[${index}] has no id`, 400);
      const type = list.replace(/_events$/, '');
      events.push({
        id: `${type}:${id}`,
        type,
        ...(type === 'tweet_create' ? { object: 'mentions', recordId: id } : {}),
        payload: item,
      });
    });
  }
  return { events };
}
