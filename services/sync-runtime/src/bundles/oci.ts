/** The OCI container (Container Instances): jobs in the store's queue in its PostgreSQL. */
import { BASE_EVENT_BUSES } from '../events/openers';
import { ociNotificationsEventBus } from '../events/openers/oci';
import { runProcess } from '../process';
import { storeQueue } from '../queue/openers/store';

export const OCI_QUEUES = { store: storeQueue } as const;
/** Events go to the stack's Notifications topic (events/oci-notifications.ts). */
export const OCI_EVENT_BUSES = { ...BASE_EVENT_BUSES, oci: ociNotificationsEventBus } as const;

if (require.main === module) void runProcess({ queues: OCI_QUEUES, eventBuses: OCI_EVENT_BUSES });
