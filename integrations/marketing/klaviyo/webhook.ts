/**
 * Klaviyo system webhooks: `Klaviyo-Signature` is the hex HMAC-SHA256, keyed with the webhook's
 * secret, of the raw body followed by the `Klaviyo-Timestamp` header value. The timestamp bounds
 * replays; `meta.klaviyo_webhook_id` must equal the `Klaviyo-Webhook-Id` header.
 */
import { createHmac, timingSafeEqual } from 'crypto';
import { WebhookRejected, type WebhookEvents, type WebhookRequest } from '../../connector';
import type { KlaviyoConfig } from './config';

export function header(request: WebhookRequest, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(request.headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** The timestamp header as ms: an ISO date, or epoch seconds / milliseconds. */
export function timestampMs(value: string): number | null {
  if (/^\d+(\.\d+)?$/.test(value)) {
    const n = Number(value);
    return n < 1e12 ? n * 1000 : n;
  }
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

export function klaviyoSignature(secret: string, rawBody: Buffer, timestamp: string): string {
  return createHmac('sha256', secret)
    .update(Buffer.concat([rawBody, Buffer.from(timestamp, 'utf8')]))
    .digest('hex');
}

export function verifyKlaviyoWebhook(config: KlaviyoConfig, request: WebhookRequest): WebhookEvents {
  if (!config.webhookSecret) throw new WebhookRejected('klaviyo: webhookSecret is not configured', 401);
  const signature = header(request, 'klaviyo-signature');
  const timestamp = header(request, 'klaviyo-timestamp');
  if (!signature || !timestamp)
    throw new WebhookRejected('klaviyo: Klaviyo-Signature and Klaviyo-Timestamp headers are required', 401);
  const sentAt = timestampMs(timestamp);
  if (sentAt === null) throw new WebhookRejected('klaviyo: Klaviyo-Timestamp is not a time', 401);
  if (Math.abs(request.now - sentAt) > config.webhookToleranceMs)
    throw new WebhookRejected('klaviyo: delivery timestamp outside the allowed window (replay or clock skew)', 401);
  const expected = Buffer.from(klaviyoSignature(config.webhookSecret, request.rawBody, timestamp), 'hex');
  const given = /^[0-9a-f]+$/i.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new WebhookRejected('klaviyo: signature does not match', 401);

  let body: { data?: unknown; meta?: { klaviyo_webhook_id?: unknown } };
  try {
    body = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected('klaviyo: body is not JSON', 400);
  }
  if (!body || !Array.isArray(body.data)) throw new WebhookRejected('klaviyo: body has no data array', 400);
  const webhookId = header(request, 'klaviyo-webhook-id');
  if (body.meta?.klaviyo_webhook_id !== undefined && body.meta.klaviyo_webhook_id !== webhookId)
    throw new WebhookRejected('klaviyo: meta.klaviyo_webhook_id does not match the Klaviyo-Webhook-Id header', 401);
  if (config.webhookId && webhookId !== config.webhookId)
    throw new WebhookRejected(`klaviyo: delivery for webhook ${webhookId}, expected ${config.webhookId}`, 401);

  return {
    events: body.data.map((item, index) => {
      const d = (item ?? {}) as {
        external_id?: unknown;
        topic?: unknown;
        payload?: { relationships?: { profile?: { data?: { id?: unknown } } } };
      };
      if (typeof d.external_id !== 'string' || typeof d.topic !== 'string')
        throw new WebhookRejected(`klaviyo: data[${index}] lacks external_id or topic`, 400);
      const profileId = d.payload?.relationships?.profile?.data?.id;
      return {
        id: d.external_id,
        type: d.topic,
        object: 'events',
        recordId: typeof profileId === 'string' ? profileId : undefined,
        payload: d.payload,
      };
    }),
  };
}
