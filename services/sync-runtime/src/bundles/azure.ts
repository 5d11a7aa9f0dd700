/** The Azure container (Container Apps): jobs on Service Bus, reached with the app's managed identity. */
import { runProcess } from '../process';
import { serviceBusQueue } from '../queue/openers/servicebus';
import { storeQueue } from '../queue/openers/store';

export const AZURE_QUEUES = { store: storeQueue, servicebus: serviceBusQueue } as const;

if (require.main === module) void runProcess({ queues: AZURE_QUEUES });
