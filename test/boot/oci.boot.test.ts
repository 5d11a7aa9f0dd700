/** OCI as deployed: the container instances (the API per slot and the workers), secrets as files from the sidecar. */
import { ociContainers } from './support/oci';
import { describeStoreQueueBoot } from './support/stack-boot';

describeStoreQueueBoot('oci', ociContainers);
