/**
 * A webhook per subscriber (local and self-hosted consumers): each internal service's URL gets the
 * events of its types (EVENT_CONSUMERS) as one CloudEvents JSON batch per publish, signed with
 * HMAC-SHA256 over `<timestamp>.<body>` (header x-data-sync-signature: t=<unix seconds>,v1=<hex>), so the
 * receiver can check origin and reject replays. Any answer but 2xx fails the delivery.
 */
import { createHmac } from 'crypto';
import { EVENT_CONSUMERS, eventTypeOf, type CloudEvent, type EventConsumer } from '@data-sync/config/events';
import type { EventBus } from './bus';

export interface WebhookTarget {
  readonly consumer: EventConsumer;
  readonly url: string;
}

export interface WebhookBusOptions {
  readonly targets: readonly WebhookTarget[];
  /** The shared signing secret (DATA_SYNC_EVENTS_WEBHOOK_SECRET). */
  readonly secret: string;
  /** Per request. @default 10000 ms */
  readonly timeoutMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The signature header value of `body` at `timestampSeconds`. */
export function signWebhookBody(secret: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

export function createWebhookBus(options: WebhookBusOptions): EventBus {
  const now = options.now ?? Date.now;
  return {
    kind: 'webhook',
    async publish(events: readonly CloudEvent[]) {
      for (const target of options.targets) {
        const wanted = new Set<string>(EVENT_CONSUMERS[target.consumer].types);
        const batch = events.filter((e) => wanted.has(eventTypeOf(e)));
        if (!batch.length) continue;
        const body = JSON.stringify(batch);
        const response = await fetch(target.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/cloudevents-batch+json',
            'x-data-sync-signature': signWebhookBody(options.secret, Math.floor(now() / 1000), body),
          },
          body,
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
        await response.arrayBuffer();
        // The URL is configuration, not a secret, and names which subscriber refused.
        if (!response.ok) throw new Error(`webhook ${target.consumer} answered ${response.status}`);
      }
    },
    async close() {},
  };
}
