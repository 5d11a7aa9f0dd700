/**
 * OCI: one Notifications (ONS) topic; each internal service subscribes its own HTTPS endpoint to it and
 * keeps the event types it wants (ONS subscriptions have no filters). A message's body is a string, sent
 * as RAW_TEXT, which ONS delivers unchanged: the body is a CloudEvents JSON batch
 * (`application/cloudevents-batch+json`, as the webhook bus sends), so the envelope arrives whole.
 * Events are packed into as few messages as the 64 KiB message limit allows, because ONS takes only 60
 * messages a minute per topic; a refused publish (429 included) throws and the outbox sends again.
 *
 * Published with ONS PublishMessage (`POST /20181201/topics/{topicId}/messages` on the topic's own
 * endpoint), signed with the container instance's resource principal.
 */
import type { CloudEvent } from '@data-sync/config/events';
import type { EventBus } from './bus';
import { type OciSigningKey, resourcePrincipalKey, signOciRequest } from '@data-sync/monitoring/oci-signing';

export interface OciNotificationsBusOptions {
  /** The topic OCID (DATA_SYNC_EVENTS_TARGET). */
  readonly topicId: string;
  /** The topic's API endpoint, e.g. `https://cell1.notification.us-ashburn-1.oci.oraclecloud.com` (DATA_SYNC_OCI_NOTIFICATIONS_ENDPOINT). */
  readonly endpoint: string;
  /** The key each request is signed with, asked for per request (it is renewed). @default the resource principal's */
  readonly signingKey?: () => OciSigningKey;
  /** Per request. @default 10000 ms */
  readonly timeoutMs?: number;
}

/** PublishMessage's limit on one message. */
export const ONS_MESSAGE_LIMIT_BYTES = 64 * 1024;

const TITLE = 'Data sync events';

/** The PublishMessage request body carrying `events`. */
export function onsMessage(events: readonly CloudEvent[]): string {
  return JSON.stringify({ title: TITLE, body: JSON.stringify(events) });
}

/** The bytes `event` adds to a message's body: escaping is per character, so a batch's size is the sum of its events'. */
const escapedBytes = (event: CloudEvent) => Buffer.byteLength(JSON.stringify(JSON.stringify(event))) - 2;
const EMPTY_MESSAGE_BYTES = Buffer.byteLength(onsMessage([]));

/** `events` split into consecutive runs whose message stays within the limit; throws for an event too large alone. */
export function packOnsMessages(events: readonly CloudEvent[]): CloudEvent[][] {
  const messages: CloudEvent[][] = [];
  let current: CloudEvent[] = [];
  let bytes = EMPTY_MESSAGE_BYTES;
  for (const event of events) {
    const size = escapedBytes(event);
    if (EMPTY_MESSAGE_BYTES + size > ONS_MESSAGE_LIMIT_BYTES)
      throw new Error(`event ${event.id} is larger than an OCI Notifications message may be (64 KiB)`);
    // A comma separates it from the previous event.
    if (current.length && bytes + 1 + size > ONS_MESSAGE_LIMIT_BYTES) {
      messages.push(current);
      current = [];
      bytes = EMPTY_MESSAGE_BYTES;
    }
    bytes += (current.length ? 1 : 0) + size;
    current.push(event);
  }
  if (current.length) messages.push(current);
  return messages;
}

export function createOciNotificationsBus(options: OciNotificationsBusOptions): EventBus {
  const signingKey = options.signingKey ?? (() => resourcePrincipalKey());
  const url = `${options.endpoint.replace(/\/+$/, '')}/20181201/topics/${encodeURIComponent(options.topicId)}/messages`;
  return {
    kind: 'oci',
    async publish(events: readonly CloudEvent[]) {
      for (const batch of packOnsMessages(events)) {
        const body = onsMessage(batch);
        const headers = signOciRequest(
          { method: 'POST', url, body, headers: { messagetype: 'RAW_TEXT' } },
          signingKey(),
        );
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
        const answer = (await response.json().catch(() => ({}))) as { messageId?: unknown; message?: string };
        if (!response.ok || typeof answer.messageId !== 'string')
          throw new Error(
            `OCI Notifications publish to ${options.topicId} answered ${response.status}: ${answer.message ?? 'no message id'}`,
          );
      }
    },
    async close() {},
  };
}
