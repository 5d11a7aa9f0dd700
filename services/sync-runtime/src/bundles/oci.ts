/** The OCI container (Container Instances): jobs in the store's queue in its PostgreSQL. */
import { runProcess } from '../process';
import { storeQueue } from '../queue/openers/store';

export const OCI_QUEUES = { store: storeQueue } as const;

if (require.main === module) void runProcess({ queues: OCI_QUEUES });
