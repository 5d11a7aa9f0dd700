import { TEST_DATABASE_URL, TEST_REDIS_URL, describeWithService } from '@data-sync/test-services';
import { crashSuite } from './support/crash-suite';

// The engine's state (runs, cursors, records) stays in PostgreSQL; the queue is BullMQ on Redis.
describeWithService('crash test on Redis (BullMQ binding)', TEST_REDIS_URL, () =>
  describeWithService('and PostgreSQL', TEST_DATABASE_URL, () => crashSuite('bullmq')),
);
