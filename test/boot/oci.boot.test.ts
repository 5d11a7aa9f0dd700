/** OCI as deployed: container instances: the API per slot and the workers, secrets as files from the sidecar. */
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { ociContainers } from './support/oci';
import {
  ENVIRONMENTS,
  expectReadyAndJobTaken,
  expectVariablesWired,
  stackOf,
  withBootedStack,
} from './support/stack-boot';

describeWithService('OCI runtime processes boot with what the stack gives them', TEST_DATABASE_URL, () => {
  test.each(ENVIRONMENTS)(
    '%s: every process starts, each API is ready, and a worker takes a probe job',
    async (environment) => {
      const processes = ociContainers(stackOf('oci', environment));
      expect(processes.map((p) => p.command)).toEqual(processes.map(() => ['node', 'dist/runtime/oci.js']));
      expectVariablesWired(processes);
      await withBootedStack(`oci-${environment}`, processes, expectReadyAndJobTaken);
    },
    180_000,
  );
});
