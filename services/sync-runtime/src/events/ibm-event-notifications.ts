/**
 * IBM Cloud: an Event Notifications instance with this runtime as an API source and one topic per
 * internal service, whose rules pick its event types on `$.type`. Each event is sent with the Send
 * Notifications API (`POST /v1/instances/{instance_id}/notifications`), whose body is the CloudEvents
 * envelope itself plus Event Notifications' extension attributes (`ibmensourceid`, `ibmenseverity`, and
 * the default texts email and SMS destinations show), with an IAM bearer token of the runtime's
 * dedicated service ID.
 */
import { eventTypeOf, type CloudEvent, type EventType } from '@data-sync/config/events';
import type { EventBus } from './bus';

export interface IbmEventNotificationsBusOptions {
  /** The Event Notifications instance GUID (DATA_SYNC_EVENTS_TARGET). */
  readonly instanceId: string;
  /** The API source's id, `ibmensourceid` (DATA_SYNC_IBM_EN_SOURCE_ID). */
  readonly sourceId: string;
  /** The instance's regional API, e.g. `https://us-south.event-notifications.cloud.ibm.com/event-notifications` (DATA_SYNC_IBM_EN_URL). */
  readonly url: string;
  /** Resolves a bearer token (ibm-iam-token.ts). */
  readonly token: () => Promise<string>;
  /** Per request. @default 10000 ms */
  readonly timeoutMs?: number;
}

/** How urgent each event is to a person reading it (Event Notifications shows and filters on it). */
const SEVERITY: Record<EventType, 'HIGH' | 'MEDIUM' | 'LOW'> = {
  'sync.run.failed': 'HIGH',
  'queue.dead_lettered': 'HIGH',
  'pipeline.record.quarantined': 'MEDIUM',
  'sync.run.succeeded': 'LOW',
  'sync.records.changed': 'LOW',
  'compliance.erasure.completed': 'LOW',
};

/** The Send Notifications body of `event`. */
export function ibmNotification(event: CloudEvent, sourceId: string): Record<string, unknown> {
  return {
    ...event,
    ibmensourceid: sourceId,
    ibmenseverity: SEVERITY[eventTypeOf(event)],
    ibmendefaultshort: event.type,
    ibmendefaultlong: `${event.type}${event.subject ? ` (${event.subject})` : ''} from ${event.source}`,
  };
}

export function createIbmEventNotificationsBus(options: IbmEventNotificationsBusOptions): EventBus {
  const url = `${options.url.replace(/\/+$/, '')}/v1/instances/${encodeURIComponent(options.instanceId)}/notifications`;
  return {
    kind: 'ibm',
    async publish(events: readonly CloudEvent[]) {
      for (const event of events) {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${await options.token()}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: JSON.stringify(ibmNotification(event, options.sourceId)),
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
        const answer = (await response.json().catch(() => ({}))) as {
          notification_id?: unknown;
          errors?: { message?: string }[];
        };
        if (!response.ok || typeof answer.notification_id !== 'string')
          throw new Error(
            `IBM Event Notifications answered ${response.status} for event ${event.id}: ${answer.errors?.[0]?.message ?? 'no notification id'}`,
          );
      }
    },
    async close() {},
  };
}
