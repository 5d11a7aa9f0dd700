/**
 * IBM as deployed: the Code Engine API apps per slot and the worker job, with config map and secret
 * references; events to Event Notifications and IAM stand-ins with the key the secret carries; each
 * process's metrics, remote-written over HTTPS to a Monitoring ingestion stand-in with the token it carries.
 */
import { ibmContainers, startIbmBus } from './support/ibm';
import { describeStoreQueueBoot } from './support/stack-boot';

describeStoreQueueBoot('ibm', ibmContainers, startIbmBus);
