/**
 * LinkedIn webhooks: the endpoint validation (GET `challengeCode`, answered with JSON
 * `{challengeCode, challengeResponse}` where the response is the hex HMAC-SHA256 of the code under the
 * client secret) and deliveries signed with `X-LI-Signature: hmacsha256=<hex HMAC-SHA256 of the raw
 * body>`. Lead notifications name the form response; LinkedIn retries, so the response and action are
 * the dedupe id.
 */
import { createHmac, timingSafeEqual } from 'crypto';
import { WebhookRejected, type WebhookEvents, type WebhookHandshake, type WebhookRequest } from '../../connector';
import { header } from '../meta/webhook';
import type { LinkedinConfig } from './config';

export const linkedinHmac = (secret: string, payload: string | Buffer) =>
  createHmac('sha256', secret).update(payload).digest('hex');
export const linkedinSignature = (secret: string, body: Buffer) => `hmacsha256=${linkedinHmac(secret, body)}`;

export function linkedinChallenge(config: LinkedinConfig, request: WebhookRequest): WebhookHandshake {
  const code = new URL(request.url).searchParams.get('challengeCode');
  if (!code || !/^[0-9A-Za-z-]{1,64}$/.test(code))
    throw new WebhookRejected('linkedin: a validation request carries a challengeCode (a UUID)', 400);
  return {
    status: 200,
    contentType: 'application/json',
    body: JSON.stringify({ challengeCode: code, challengeResponse: linkedinHmac(config.clientSecret, code) }),
  };
}

export function verifyLinkedinWebhook(config: LinkedinConfig, request: WebhookRequest): WebhookEvents {
  const signature = header(request, 'x-li-signature');
  if (!signature) throw new WebhookRejected('linkedin: X-LI-Signature header is required', 401);
  const expected = Buffer.from(linkedinSignature(config.clientSecret, request.rawBody));
  const given = Buffer.from(signature.trim().toLowerCase());
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new WebhookRejected('linkedin: signature does not match', 401);
  let body: unknown;
  try {
    body = JSON.parse(request.rawBody.toString('utf8'));
  } catch {
    throw new WebhookRejected('linkedin: body is not JSON', 400);
  }
  const items = Array.isArray(body) ? body : [body];
  return {
    events: items.map((item: Record<string, unknown>, index) => {
      const response = item?.leadGenFormResponse;
      const action = item?.leadAction;
      if (typeof response !== 'string' || typeof action !== 'string')
        throw new WebhookRejected(`linkedin: notification ${index} lacks leadGenFormResponse or leadAction`, 400);
      return {
        id: `${action}:${response}`,
        type: `lead.${action.toLowerCase()}`,
        object: 'leads',
        recordId: response.split(':').pop(),
        payload: item,
      };
    }),
  };
}
