/** GCP as deployed: Cloud Run runtime (role all: API and worker on the store queue; schedules arrive as Pub/Sub pushes). */
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { gcpContainers } from './support/gcp';
import {
  ENVIRONMENTS,
  expectReadyAndJobTaken,
  expectVariablesWired,
  stackOf,
  withBootedStack,
} from './support/stack-boot';

describeWithService('GCP runtime processes boot with what the stack gives them', TEST_DATABASE_URL, () => {
  test.each(ENVIRONMENTS)(
    '%s: every process starts, each API is ready, and a worker takes a probe job',
    async (environment) => {
      const processes = gcpContainers(stackOf('gcp', environment));
      expect(processes.map((p) => p.command)).toEqual(processes.map(() => ['node', 'dist/runtime/gcp.js']));
      expectVariablesWired(processes);
      await withBootedStack(`gcp-${environment}`, processes, expectReadyAndJobTaken);
    },
    180_000,
  );
});
