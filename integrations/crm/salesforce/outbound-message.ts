/**
 * Salesforce outbound messages: SOAP envelopes of up to 100 notifications, each with a
 * notification id and the sObject fields chosen in the workflow. They are unsigned, so the
 * endpoint URL carries a secret token and the OrganizationId must be ours. Salesforce retries until
 * it gets the SOAP Ack and may deliver a notification more than once: the notification id is the
 * dedupe key of each event.
 */
import { timingSafeEqual } from 'crypto';
import { WebhookRejected, type WebhookEvents, type WebhookRequest } from '../../connector';

export const SOAP_ACK =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">' +
  '<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body>' +
  '</soapenv:Envelope>';

export interface OutboundNotification {
  readonly notificationId: string;
  readonly object: string;
  readonly fields: Record<string, string | null>;
}

export interface OutboundMessage {
  readonly organizationId: string;
  readonly actionId?: string;
  readonly notifications: readonly OutboundNotification[];
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_, entity: string) =>
    entity.startsWith('#x')
      ? String.fromCodePoint(parseInt(entity.slice(2), 16))
      : entity.startsWith('#')
        ? String.fromCodePoint(Number(entity.slice(1)))
        : ENTITIES[entity],
  );
}

function element(xml: string, name: string): string | undefined {
  const match = new RegExp(`<(?:[\\w-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w-]+:)?${name}>`).exec(xml);
  return match ? decode(match[1].trim()) : undefined;
}

/** Parses the notifications() envelope; throws WebhookRejected(400) when it is not one. */
export function parseOutboundMessage(xml: string): OutboundMessage {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new WebhookRejected('outbound message must not contain a DOCTYPE', 400);
  const notificationsMatch = /<(?:[\w-]+:)?notifications(?:\s[^>]*)?>([\s\S]*)<\/(?:[\w-]+:)?notifications>/.exec(xml);
  if (!/<(?:[\w-]+:)?Envelope[\s>]/.test(xml) || !notificationsMatch)
    throw new WebhookRejected('not a Salesforce outbound message (no SOAP notifications element)', 400);
  const body = notificationsMatch[1];
  const organizationId = element(body.split(/<(?:[\w-]+:)?Notification[\s>]/)[0], 'OrganizationId');
  if (!organizationId) throw new WebhookRejected('outbound message without OrganizationId', 400);
  const notifications: OutboundNotification[] = [];
  for (const match of body.matchAll(/<(?:[\w-]+:)?Notification(?:\s[^>]*)?>([\s\S]*?)<\/(?:[\w-]+:)?Notification>/g)) {
    const inner = match[1];
    const sObject = /<(?:[\w-]+:)?sObject(\s[^>]*)?>([\s\S]*?)<\/(?:[\w-]+:)?sObject>/.exec(inner);
    const notificationId = element(inner.slice(0, sObject ? sObject.index : inner.length), 'Id');
    if (!notificationId || !sObject) throw new WebhookRejected('notification without Id or sObject', 400);
    const type = /xsi:type="(?:[\w-]+:)?(\w+)"/.exec(sObject[1] ?? '')?.[1];
    if (!type) throw new WebhookRejected('sObject without xsi:type', 400);
    const fields: Record<string, string | null> = {};
    for (const field of sObject[2].matchAll(/<(?:[\w-]+:)?(\w+)(\s[^>]*?)?(?:\/>|>([\s\S]*?)<\/(?:[\w-]+:)?\1>)/g)) {
      fields[field[1]] = field[3] === undefined || /xsi:nil="true"/.test(field[2] ?? '') ? null : decode(field[3]);
    }
    notifications.push({ notificationId, object: type, fields });
  }
  if (notifications.length === 0) throw new WebhookRejected('outbound message without notifications', 400);
  if (notifications.length > 100) throw new WebhookRejected('more than 100 notifications in one message', 400);
  return { organizationId, actionId: element(body, 'ActionId'), notifications };
}

/** 15-character ids are the case-sensitive prefix of the 18-character form. */
function sameOrg(a: string, b: string): boolean {
  return a.slice(0, 15) === b.slice(0, 15);
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function verifyOutboundMessage(
  config: { organizationId: string; webhookToken: string },
  request: WebhookRequest,
): WebhookEvents {
  if (request.method.toUpperCase() !== 'POST')
    throw new WebhookRejected(`outbound messages are POSTed, got ${request.method}`, 405);
  let token: string | null;
  try {
    token = new URL(request.url).searchParams.get('token');
  } catch {
    throw new WebhookRejected('unparseable request URL', 400);
  }
  if (!token || !sameSecret(token, config.webhookToken))
    throw new WebhookRejected('missing or wrong endpoint token', 401);
  const message = parseOutboundMessage(request.rawBody.toString('utf8'));
  if (!sameOrg(message.organizationId, config.organizationId))
    throw new WebhookRejected(`outbound message from another org (${message.organizationId})`, 403);
  const seen = new Set<string>();
  const events = message.notifications
    .filter((n) => !seen.has(n.notificationId) && seen.add(n.notificationId))
    .map((n) => ({
      id: `salesforce:${config.organizationId.slice(0, 15)}:${n.notificationId}`,
      type: 'outbound_message',
      object: n.object,
      recordId: n.fields.Id ?? undefined,
      payload: { notificationId: n.notificationId, actionId: message.actionId, fields: n.fields },
    }));
  return { events, response: { status: 200, contentType: 'text/xml; charset=utf-8', body: SOAP_ACK } };
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

/** The envelope Salesforce sends, for the fake and the tests. */
export function buildOutboundMessage(
  message: OutboundMessage,
  urls = {
    enterprise: 'https://example.my.salesforce.com/services/Soap/c/60.0',
    partner: 'https://example.my.salesforce.com/services/Soap/u/60.0',
  },
): string {
  const notifications = message.notifications
    .map(
      (n) =>
        `<Notification><Id>${escapeXml(n.notificationId)}</Id><sObject xsi:type="sf:${n.object}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">` +
        Object.entries(n.fields)
          .map(([field, value]) =>
            value === null ? `<sf:${field} xsi:nil="true"/>` : `<sf:${field}>${escapeXml(value)}</sf:${field}>`,
          )
          .join('') +
        '</sObject></Notification>',
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    '<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">' +
    `<OrganizationId>${escapeXml(message.organizationId)}</OrganizationId><ActionId>${escapeXml(message.actionId ?? '04k5e000000CaRkAAK')}</ActionId>` +
    `<SessionId xsi:nil="true"/><EnterpriseUrl>${urls.enterprise}</EnterpriseUrl><PartnerUrl>${urls.partner}</PartnerUrl>` +
    notifications +
    '</notifications></soapenv:Body></soapenv:Envelope>'
  );
}
