/** The Azure container (Container Apps): jobs on Service Bus, reached with the app's managed identity. */
import { BASE_EVENT_BUSES } from '../events/openers';
import { serviceBusEventBus } from '../events/openers/servicebus';
import { runProcess } from '../process';
import { serviceBusQueue } from '../queue/openers/servicebus';
import { storeQueue } from '../queue/openers/store';

export const AZURE_QUEUES = { store: storeQueue, servicebus: serviceBusQueue } as const;
export const AZURE_EVENT_BUSES = { ...BASE_EVENT_BUSES, servicebus: serviceBusEventBus } as const;

if (require.main === module) void runProcess({ queues: AZURE_QUEUES, eventBuses: AZURE_EVENT_BUSES });
