/**
 * Test entry for worker.integration.test.ts: the real Worker handlers and RateLimiter over a core
 * whose integrations come from the INTEGRATIONS binding and whose job handling is delegated to the
 * test's HTTP recorder at TEST_SINK_URL (a non-2xx answer makes the job fail).
 */
import { createWorker } from './worker';
import { parseIntegrations, sendJob } from './env-core';
import type { WorkerCore, WorkerEnv } from './types';

function fixtureCore(env: WorkerEnv): WorkerCore {
  const integrations = parseIntegrations(env.INTEGRATIONS);
  const sink = String(env.TEST_SINK_URL);
  return {
    integration: async (name) => integrations.get(name) ?? null,
    async trigger(integration, { actor, full }) {
      const runId = crypto.randomUUID();
      const jobId = await sendJob(env, { kind: 'sync', integration, payload: { runId, full, actor } });
      return { runId, jobId };
    },
    async handle(job) {
      const response = await fetch(`${sink}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job) });
      if (!response.ok) throw new Error(`job handler answered ${response.status}`);
    },
  };
}

export default createWorker(fixtureCore);
export { RateLimiter } from './rate-limiter';
