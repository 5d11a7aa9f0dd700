/**
 * Test entry for worker.integration.test.ts: the real Worker handlers and RateLimiter over a core
 * whose integrations come from the INTEGRATIONS binding (credential references resolved against the
 * Worker's string bindings) and whose job handling and audit entries are delegated to the test's HTTP
 * recorder at TEST_SINK_URL (a non-2xx answer makes the job fail). The API tests' demo connector is
 * registered beside the real ones, for the webhook cases shared with the Node route.
 */
import { CONNECTORS } from '@data-sync/integrations/registry';
import { demoConnector } from '../api/testing/demo-connector';
import { resolveEnvRefs } from '../security/env-refs';
import { createWorker } from './worker';
import { parseIntegrations, sendJob } from './env-core';
import type { WorkerCore, WorkerEnv } from './types';

function fixtureCore(env: WorkerEnv): WorkerCore {
  const integrations = parseIntegrations(env.INTEGRATIONS);
  const secrets = Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')) as NodeJS.ProcessEnv;
  const sink = String(env.TEST_SINK_URL);
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${sink}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`the recorder answered ${response.status} to ${path}`);
  };
  return {
    async integration(name) {
      const found = integrations.get(name);
      return found
        ? {
            ...found,
            get config() {
              return resolveEnvRefs(found.config, secrets, found.system);
            },
          }
        : null;
    },
    async trigger(integration, { actor, full }) {
      const runId = crypto.randomUUID();
      const jobId = await sendJob(env, { kind: 'sync', integration, payload: { runId, full, actor } });
      return { runId, jobId };
    },
    audit: (entry) => post('/audit', entry),
    handle: (job) => post('/jobs', job),
  };
}

export default createWorker(fixtureCore, { ...CONNECTORS, demo: demoConnector });
export { RateLimiter } from './rate-limiter';
