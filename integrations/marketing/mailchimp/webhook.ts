/**
 * Mailchimp audience webhooks: unsigned form-encoded POSTs (`type`, `fired_at`, `data[...]`), so the
 * only proof of origin is the secret we put in the callback URL. Mailchimp validates a new callback
 * URL with a GET, answered 200 with no events. fired_at bounds how old a delivery may be; a retried
 * delivery carries the same event id (a hash of the body), which the runtime deduplicates.
 */
import { createHash, timingSafeEqual } from 'crypto';
import { WebhookRejected, type WebhookEvents, type WebhookRequest } from '../../connector';
import type { MailchimpConfig } from './config';

const EVENT_TYPES = new Set(['subscribe', 'unsubscribe', 'profile', 'upemail', 'cleaned', 'campaign']);

/** Path segments that would reach an object's prototype instead of a field of the form. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * `data[merges][FNAME]=x` -> { data: { merges: { FNAME: 'x' } } }. A field named like a prototype
 * property (`data[__proto__][x]`) is refused: written through, it would change every object of the
 * process (metrics labels, job payloads) for any sender who knows the URL secret.
 */
export function parseMailchimpForm(raw: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    const path = key.replace(/\]/g, '').split('[');
    const bad = path.find((part) => PROTOTYPE_KEYS.has(part));
    if (bad !== undefined)
      throw new WebhookRejected(
        `mailchimp: form field ${JSON.stringify(key)} names ${bad}, which no Mailchimp field does`,
        400,
      );
    let node = out;
    path.forEach((part, i) => {
      if (i === path.length - 1) node[part] = value;
      else {
        if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
        node = node[part] as Record<string, unknown>;
      }
    });
  }
  return out;
}

function secretMatches(expected: string, actual: string | null): boolean {
  if (actual === null) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(actual).digest();
  return timingSafeEqual(a, b);
}

/** fired_at is `YYYY-MM-DD HH:MM:SS`, read as UTC (its zone is not documented; the window allows for any). */
function firedAt(value: unknown): number | null {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value)) return null;
  return Date.parse(`${value.replace(' ', 'T')}Z`);
}

export function verifyMailchimpWebhook(config: MailchimpConfig, request: WebhookRequest): WebhookEvents {
  if (!config.webhookSecret) throw new WebhookRejected('mailchimp: webhookSecret is not configured', 401);
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw new WebhookRejected('mailchimp: request URL is not a URL', 400);
  }
  if (!secretMatches(config.webhookSecret, url.searchParams.get('secret')))
    throw new WebhookRejected('mailchimp: webhook secret missing or wrong', 401);
  const validation = { events: [], response: { status: 200, contentType: 'text/plain', body: '' } };
  const method = request.method.toUpperCase();
  if (method === 'GET' || (method === 'POST' && request.rawBody.length === 0)) return validation;
  if (method !== 'POST') throw new WebhookRejected(`mailchimp: unexpected method ${request.method}`, 405);

  const form = parseMailchimpForm(request.rawBody.toString('utf8'));
  const type = form.type;
  const data = form.data as Record<string, unknown> | undefined;
  if (typeof type !== 'string' || !EVENT_TYPES.has(type) || typeof data !== 'object' || data === null) {
    throw new WebhookRejected(
      'mailchimp: body is not a Mailchimp webhook (form fields type and data[...] expected)',
      400,
    );
  }
  const fired = firedAt(form.fired_at);
  if (fired === null) throw new WebhookRejected('mailchimp: fired_at missing or not "YYYY-MM-DD HH:MM:SS"', 400);
  if (request.now - fired > config.webhookMaxAgeMs)
    throw new WebhookRejected(`mailchimp: delivery fired at ${form.fired_at} is older than the allowed window`, 401);
  if (fired - request.now > Math.min(config.webhookMaxAgeMs, 14 * 60 * 60_000 + 5 * 60_000))
    throw new WebhookRejected(`mailchimp: delivery fired at ${form.fired_at} is in the future`, 401);

  const id = createHash('sha256').update(request.rawBody).digest('hex');
  const listId = typeof data.list_id === 'string' ? data.list_id : undefined;
  const listName = Object.entries(config.lists).find(([, value]) => value === listId)?.[0];
  const email =
    typeof data.email === 'string' ? data.email : typeof data.new_email === 'string' ? data.new_email : undefined;
  // upemail events name the member by new_id; the others by id.
  const memberId = typeof data.id === 'string' ? data.id : typeof data.new_id === 'string' ? data.new_id : undefined;
  const recordId = memberId ?? (email ? createHash('md5').update(email.toLowerCase()).digest('hex') : undefined);
  return { events: [{ id, type, object: listName ?? listId, recordId, payload: form }] };
}
