/** GCP as deployed: the Cloud Run runtime (role all: API and worker on the store queue; schedules arrive as Pub/Sub pushes). */
import { gcpContainers } from './support/gcp';
import { describeStoreQueueBoot } from './support/stack-boot';

describeStoreQueueBoot('gcp', gcpContainers);
