/**
 * The runtime's local entry point (`npm run dev`, docker-compose, the image's default command): the
 * store and Redis queues, and human-readable logs on a terminal. Cloud deployments run their own
 * bundle (bundles/<cloud>.ts), which carries only its cloud's queue SDK.
 */
import { type ProcessOptions, type Runtime, runProcess, startProcess } from './process';
import { redisQueue } from './queue/openers/redis';
import { storeQueue } from './queue/openers/store';
import { terminalDestination } from './pretty-logs';

export type { Runtime } from './process';

/** The queues a container outside a cloud can select: the store's (default) and Redis. */
export const LOCAL_QUEUES = { store: storeQueue, redis: redisQueue } as const;

/** The local process with `options` over its defaults (tests start it this way). */
export const start = (options: Partial<ProcessOptions> = {}): Promise<Runtime> =>
  startProcess({ queues: LOCAL_QUEUES, logDestination: terminalDestination, ...options });

if (require.main === module) void runProcess({ queues: LOCAL_QUEUES, logDestination: terminalDestination });
