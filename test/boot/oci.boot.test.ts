/**
 * OCI as deployed: the container instances (the API per slot and the workers), secrets as files from the
 * sidecar, events to a signature-checking OCI Notifications stand-in with a resource principal.
 */
import { ociContainers, startOciBus } from './support/oci';
import { describeStoreQueueBoot } from './support/stack-boot';

describeStoreQueueBoot('oci', ociContainers, startOciBus);
