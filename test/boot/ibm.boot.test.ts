/** IBM as deployed: the Code Engine API apps per slot and the worker job, with config map and secret references. */
import { ibmContainers } from './support/ibm';
import { describeStoreQueueBoot } from './support/stack-boot';

describeStoreQueueBoot('ibm', ibmContainers);
