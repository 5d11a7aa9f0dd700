/**
 * GCP: one Pub/Sub topic, one subscription per internal service (filtered on `attributes.event_type`).
 * Events go in CloudEvents binary mode (the Pub/Sub protocol binding): `data` is the event's data, the
 * envelope's other fields are `ce-*` attributes.
 *
 * Published with Pub/Sub's REST `topics.publish` and google-auth-library's token (both official): the
 * client library brings gRPC and about 2 MiB into the GCP bundle, which takes its jobs as pushes and
 * needs nothing else of it.
 */
import { GoogleAuth } from 'google-auth-library';
import type { CloudEvent } from '@data-sync/config/events';
import { eventAttributes, type EventBus } from './bus';

export interface PubsubBusOptions {
  /** The topic id (DATA_SYNC_EVENTS_TARGET). */
  readonly topic: string;
  /** @default the credentials' project (GOOGLE_CLOUD_PROJECT) */
  readonly projectId?: string;
  /** host:port of an emulator (plain HTTP, no token). @default PUBSUB_EMULATOR_HOST, else Google's endpoint */
  readonly apiEndpoint?: string;
}

const SCOPE = 'https://www.googleapis.com/auth/pubsub';

export function createPubsubBus(options: PubsubBusOptions): EventBus {
  const emulator = options.apiEndpoint ?? process.env.PUBSUB_EMULATOR_HOST?.trim();
  const auth = emulator ? null : new GoogleAuth({ scopes: [SCOPE] });
  const base = emulator ? `http://${emulator}` : 'https://pubsub.googleapis.com';
  let project: Promise<string> | undefined;
  const projectId = () => (project ??= options.projectId ? Promise.resolve(options.projectId) : auth!.getProjectId());
  return {
    kind: 'pubsub',
    async publish(events: readonly CloudEvent[]) {
      if (!events.length) return;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (auth) headers.authorization = `Bearer ${await auth.getAccessToken()}`;
      const url = `${base}/v1/projects/${encodeURIComponent(await projectId())}/topics/${encodeURIComponent(options.topic)}:publish`;
      const response = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          messages: events.map((event) => ({
            data: Buffer.from(JSON.stringify(event.data)).toString('base64'),
            attributes: { ...eventAttributes(event), 'content-type': event.datacontenttype },
          })),
        }),
      });
      // The answer lists one message id per event once every one is on the topic; anything else is retried.
      const body = (await response.json().catch(() => ({}))) as {
        messageIds?: unknown[];
        error?: { message?: string };
      };
      if (!response.ok || body.messageIds?.length !== events.length)
        throw new Error(
          `Pub/Sub publish to ${options.topic} answered ${response.status}: ${body.error?.message ?? 'not every event was taken'}`,
        );
    },
    async close() {},
  };
}
