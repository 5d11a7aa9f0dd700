/**
 * Pieces of a Worker core read from the Worker's own bindings: integrations from the `INTEGRATIONS`
 * secret (a JSON array, so the edge verifies webhooks without a database round trip) and jobs sent
 * to the JOBS queue in the runtime's job shape.
 */
import { randomUUID } from 'crypto';
import { checkJob, type NewJob } from '../queue/binding';
import type { WorkerEnv, WorkerIntegration } from './types';

/** Parses the INTEGRATIONS secret; throws naming the entry and field that are wrong. */
export function parseIntegrations(raw: unknown): Map<string, WorkerIntegration> {
  if (raw === undefined || raw === '') return new Map();
  let list: unknown;
  try {
    list = typeof raw === 'string' ? JSON.parse(raw) : raw;
  } catch {
    throw new Error('the INTEGRATIONS secret is not valid JSON');
  }
  if (!Array.isArray(list))
    throw new Error(
      'the INTEGRATIONS secret must be a JSON array of {name, system, enabled, webhookAllowlist, config}',
    );
  const out = new Map<string, WorkerIntegration>();
  list.forEach((entry, i) => {
    const e = entry as Partial<WorkerIntegration> | null;
    if (!e || typeof e !== 'object') throw new Error(`INTEGRATIONS[${i}] must be an object`);
    if (typeof e.name !== 'string' || !/^[a-z][a-z0-9_-]{0,62}$/.test(e.name))
      throw new Error(`INTEGRATIONS[${i}].name must be an integration name`);
    if (typeof e.system !== 'string' || e.system.length === 0)
      throw new Error(`INTEGRATIONS[${i}].system must be a connector system`);
    if (e.enabled !== undefined && typeof e.enabled !== 'boolean')
      throw new Error(`INTEGRATIONS[${i}].enabled must be a boolean`);
    if (
      e.webhookAllowlist !== undefined &&
      (!Array.isArray(e.webhookAllowlist) || !e.webhookAllowlist.every((c) => typeof c === 'string'))
    )
      throw new Error(`INTEGRATIONS[${i}].webhookAllowlist must be a list of CIDRs`);
    if (out.has(e.name)) throw new Error(`INTEGRATIONS[${i}].name "${e.name}" appears twice`);
    out.set(e.name, {
      name: e.name,
      system: e.system,
      enabled: e.enabled ?? true,
      webhookAllowlist: e.webhookAllowlist ?? [],
      config: e.config ?? {},
    });
  });
  return out;
}

/** Cloudflare Queues accept delays of at most 12 hours. */
const MAX_DELAY_SECONDS = 43_200;

/** Sends `job` to the JOBS queue, delivered after `delayMs` when given; returns its id. */
export async function sendJob(env: WorkerEnv, job: NewJob, delayMs = 0): Promise<string> {
  const id = randomUUID();
  const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.ceil(Math.max(0, delayMs) / 1000));
  checkJob(job);
  await env.JOBS.send(
    { ...job, id, enqueuedAt: Date.now() },
    delaySeconds > 0 ? { contentType: 'json', delaySeconds } : { contentType: 'json' },
  );
  return id;
}
