/** The IBM container (Code Engine): jobs in the store's queue in its PostgreSQL. */
import { runProcess } from '../process';
import { storeQueue } from '../queue/openers/store';

export const IBM_QUEUES = { store: storeQueue } as const;

if (require.main === module) void runProcess({ queues: IBM_QUEUES });
