/** IBM as deployed: Code Engine: the API apps per slot and the worker job, config map and secret references. */
import { describeWithService, TEST_DATABASE_URL } from '@data-sync/test-services';
import { ibmContainers } from './support/ibm';
import {
  ENVIRONMENTS,
  expectReadyAndJobTaken,
  expectVariablesWired,
  stackOf,
  withBootedStack,
} from './support/stack-boot';

describeWithService('IBM runtime processes boot with what the stack gives them', TEST_DATABASE_URL, () => {
  test.each(ENVIRONMENTS)(
    '%s: every process starts, each API is ready, and a worker takes a probe job',
    async (environment) => {
      const processes = ibmContainers(stackOf('ibm', environment));
      expect(processes.map((p) => p.command)).toEqual(processes.map(() => ['node', 'dist/runtime/ibm.js']));
      expectVariablesWired(processes);
      await withBootedStack(`ibm-${environment}`, processes, expectReadyAndJobTaken);
    },
    180_000,
  );
});
