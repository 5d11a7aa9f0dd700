/** The IBM container (Code Engine): jobs in the store's queue in its PostgreSQL. */
import { BASE_EVENT_BUSES } from '../events/openers';
import { ibmEventNotificationsEventBus } from '../events/openers/ibm';
import { runProcess } from '../process';
import { storeQueue } from '../queue/openers/store';

export const IBM_QUEUES = { store: storeQueue } as const;
/** Events go to the stack's Event Notifications instance (events/ibm-event-notifications.ts). */
export const IBM_EVENT_BUSES = { ...BASE_EVENT_BUSES, ibm: ibmEventNotificationsEventBus } as const;

if (require.main === module) void runProcess({ queues: IBM_QUEUES, eventBuses: IBM_EVENT_BUSES });
