/**
 * GCP: one Pub/Sub topic, one subscription per internal service (filtered on `attributes.event_type`).
 * Events go in CloudEvents binary mode (the Pub/Sub protocol binding): `data` is the event's data, the
 * envelope's other fields are `ce-*` attributes.
 */
import { PubSub } from '@google-cloud/pubsub';
import type { CloudEvent } from '@data-sync/config/events';
import { eventAttributes, type EventBus } from './bus';

export interface PubsubBusOptions {
  /** The topic id (DATA_SYNC_EVENTS_TARGET). */
  readonly topic: string;
  /** @default the credentials' project (GOOGLE_CLOUD_PROJECT) */
  readonly projectId?: string;
  /** @default PUBSUB_EMULATOR_HOST or Google's endpoint */
  readonly apiEndpoint?: string;
}

export function createPubsubBus(options: PubsubBusOptions): EventBus {
  const client = new PubSub({
    ...(options.projectId ? { projectId: options.projectId } : {}),
    ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
  });
  const topic = client.topic(options.topic);
  return {
    kind: 'pubsub',
    async publish(events: readonly CloudEvent[]) {
      // publishMessage resolves with the server's message id, so every event is on the topic when this resolves.
      await Promise.all(
        events.map((event) =>
          topic.publishMessage({
            data: Buffer.from(JSON.stringify(event.data)),
            attributes: { ...eventAttributes(event), 'content-type': event.datacontenttype },
          }),
        ),
      );
    },
    async close() {
      await client.close();
    },
  };
}
