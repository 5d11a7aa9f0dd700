/**
 * The n8n processes of an environment (config/n8n-shape.ts), cloud-neutral: in regular mode one main
 * process; in queue mode main (editor, API, schedules, provisioning), `n8n worker` processes that run
 * the executions from Redis, and `n8n webhook` processes the load balancer sends /webhook/* to. Every
 * cloud's construct runs each process with the command, environment and secrets given here.
 */
import type { FeatureFlags, N8nShape } from '@data-sync/config';
import { N8N_PROCESS_SECRETS, N8N_SHARED_ENVIRONMENT, n8nStart } from './provisioning';

/**
 * Secrets of the queue's Redis (a managed Redis with TLS, created and filled out of band): n8n reads
 * these exact variables, so each cloud injects them from its secret manager under these names.
 */
export const N8N_QUEUE_SECRETS = [
  'QUEUE_BULL_REDIS_HOST',
  'QUEUE_BULL_REDIS_PORT',
  'QUEUE_BULL_REDIS_PASSWORD',
] as const;

export type N8nRole = 'main' | 'worker' | 'webhook';

/** A process's service or app name on every cloud: `<base>`, `<base>-workers`, `<base>-webhooks` (pools, not one process). */
export const n8nProcessName = (base: string, role: N8nRole) =>
  role === 'main' ? base : `${base}-${role === 'worker' ? 'workers' : 'webhooks'}`;

export interface N8nProcess {
  readonly role: N8nRole;
  /** The container's command (replaces the image's entrypoint). */
  readonly command: readonly string[];
  /** Plain settings (no secret values). */
  readonly environment: Readonly<Record<string, string>>;
  /** Names of the secrets this process reads, each injected as the variable of the same name. */
  readonly secrets: readonly string[];
  /** Instances of this process. */
  readonly instances: number;
}

/** Every secret name any of the shape's processes reads. */
export function n8nSecretNames(shape: N8nShape): readonly string[] {
  return [...N8N_PROCESS_SECRETS, ...(shape.processes.mode === 'queue' ? N8N_QUEUE_SECRETS : [])];
}

/** The processes of `shape`, main first. `apiUrl` as for n8nStart. */
export function n8nProcesses(shape: N8nShape, features: FeatureFlags, apiUrl?: string): readonly N8nProcess[] {
  const start = n8nStart(features, apiUrl);
  const processes = shape.processes;
  if (processes.mode === 'regular')
    return [
      {
        role: 'main',
        command: start.command,
        environment: start.environment,
        secrets: N8N_PROCESS_SECRETS,
        instances: 1,
      },
    ];
  const queue = {
    EXECUTIONS_MODE: 'queue',
    QUEUE_BULL_REDIS_TLS: 'true',
    // n8n's health endpoints on worker processes (/healthz and /healthz/readiness: database and Redis).
    QUEUE_HEALTH_CHECK_ACTIVE: 'true',
  };
  // Workers and webhook processes decrypt credentials with the same key; they never provision or own anything.
  const processSecrets = ['N8N_ENCRYPTION_KEY', ...N8N_QUEUE_SECRETS];
  return [
    {
      role: 'main',
      command: start.command,
      environment: {
        ...start.environment,
        ...queue,
        // Manual runs go to workers too. Main keeps its production webhooks (N8N_DISABLE_PRODUCTION_MAIN_PROCESS
        // unset): the public webhook URLs lead to the webhook processes, but the runtime's
        // /api/workflows/execute calls webhooks under N8N_URL, which is main's.
        OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
        N8N_METRICS_INCLUDE_QUEUE_METRICS: 'true',
      },
      secrets: n8nSecretNames(shape),
      // n8n's main process is a singleton: schedules would fire twice with two.
      instances: 1,
    },
    {
      role: 'worker',
      command: ['n8n', 'worker', `--concurrency=${processes.workerConcurrency}`],
      environment: { ...N8N_SHARED_ENVIRONMENT, ...queue, N8N_METRICS: 'true' },
      secrets: processSecrets,
      instances: processes.workers,
    },
    {
      role: 'webhook',
      command: ['n8n', 'webhook'],
      // No metrics: webhook processes are the public ones.
      environment: { ...N8N_SHARED_ENVIRONMENT, ...queue },
      secrets: processSecrets,
      instances: processes.webhookProcessors,
    },
  ];
}
