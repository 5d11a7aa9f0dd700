import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { crashSuite } from './support/crash-suite';

describeWithService('crash test on PostgreSQL (store binding)', TEST_DATABASE_URL, () => crashSuite('store'));
