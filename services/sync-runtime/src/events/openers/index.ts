/**
 * The event buses an entry point can open, by kind: each bundle lists the ones its cloud selects, so it
 * carries no other bus's SDK (as queue/openers does for the job queues).
 */
import type { EventBusKind } from '@data-sync/config/events';
import type { EventBus } from '../bus';
import { createInProcessBus } from '../inprocess';
import type { EventBusOptions } from '../open-bus';
import { createWebhookBus } from '../webhook';

export type EventBusOpener = (options: EventBusOptions) => EventBus;
export type EventBusOpeners = Readonly<Partial<Record<EventBusKind, EventBusOpener>>>;

/** The buses every bundle has: in-process (embedded consumers) and signed webhooks. */
export const BASE_EVENT_BUSES = {
  inprocess: () => createInProcessBus(),
  webhook: (options) => {
    if (options.kind !== 'webhook') throw new Error(`the webhook bus was asked to open a ${options.kind} bus`);
    return createWebhookBus(options);
  },
} as const satisfies EventBusOpeners;
