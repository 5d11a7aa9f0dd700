/** A run's connector, start and end: what the pull and push jobs share. */
import type { Connector, ConnectorContext, ConnectorModule } from '@data-sync/integrations/connector';
import type { Db } from '@data-sync/pipelines/db';
import type { Job } from '../queue/binding';
import { writeAudit } from '../store/audit-repository';
import { createRunsRepository, type RunRow } from '../store/runs-repository';
import { describeError } from './runs';
import type { EngineMetrics, IntegrationInfo, IntegrationSource } from './types';

export interface LifecycleDeps {
  readonly db: Db;
  readonly integrations: IntegrationSource;
  readonly connectors: (system: string) => ConnectorModule | undefined;
  readonly metrics?: EngineMetrics;
  readonly clock: () => Date;
  /** Extra context for an integration's connector; the engine adds `observe` for the API metrics. */
  readonly connectorContext?: (integration: IntegrationInfo) => ConnectorContext;
}

export type OpenedConnector =
  { integration: IntegrationInfo; module: ConnectorModule; connector: Connector } | { failure: string };

export interface RunLifecycle {
  /** The connector of a run's integration, or the reason the run cannot start (a permanent failure). */
  openConnector(run: Pick<RunRow, 'integration'>): Promise<OpenedConnector>;
  /** Marks a run running for this delivery (a full pull clears its cursors once, on the first start). */
  startRun(run: RunRow, job: Job, startedAt: Date, firstStart: boolean): Promise<void>;
  /** Ends a run not already succeeded, with its audit entry and metrics. */
  finishRun(run: RunRow, status: 'succeeded' | 'failed', error: string | null, startedAt: Date): Promise<void>;
}

export function createRunLifecycle(deps: LifecycleDeps): RunLifecycle {
  const { db, integrations, metrics, clock } = deps;

  return {
    async openConnector(run) {
      const integration = await integrations.get(run.integration);
      const module = integration ? deps.connectors(integration.system) : undefined;
      if (!integration || !module) {
        return {
          failure: integration
            ? `no connector for system ${JSON.stringify(integration.system)}`
            : `integration ${JSON.stringify(run.integration)} no longer exists`,
        };
      }
      let config: unknown;
      try {
        config = integration.config;
      } catch (error) {
        // A credential reference this deployment cannot resolve: retrying will not help until it is set.
        return { failure: `invalid config for ${integration.name}: ${describeError(error)}` };
      }
      const parsed = module.configSchema.safeParse(config);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
        return { failure: `invalid config for ${integration.name}: ${issues}` };
      }
      const extra = deps.connectorContext?.(integration) ?? {};
      const connector = module.create(parsed.data, {
        ...extra,
        observe: (call) => {
          extra.observe?.(call);
          const { status, latencyMs, rateLimit } = call;
          const labels = { integration: run.integration };
          metrics?.inc('apiRequests', labels);
          metrics?.observe('apiLatency', labels, latencyMs / 1000);
          if (status >= 400 || status === 0)
            metrics?.inc('apiErrors', { ...labels, code: status === 0 ? 'network' : String(status) });
          if (rateLimit.remaining !== undefined) metrics?.set('apiRequestsRemaining', labels, rateLimit.remaining);
        },
      });
      return { integration, module, connector };
    },

    async startRun(run, job, startedAt, firstStart) {
      await db.transaction(async (tx) => {
        if (run.direction === 'pull' && run.full_sync && firstStart) {
          await tx.query(
            `UPDATE sync_cursors SET cursor = NULL, run_id = $2, updated_at = $3 WHERE integration = $1 AND object NOT LIKE 'push:%'`,
            [run.integration, run.id, clock()],
          );
        }
        await createRunsRepository(tx).markRunning(run.id, job.attempts, startedAt, clock());
      });
    },

    async finishRun(run, status, error, startedAt) {
      const finished = await db.transaction(async (tx) => {
        if (!(await createRunsRepository(tx).finish(run.id, status, error, clock()))) return false;
        const details = { runId: run.id, ...(error ? { error } : {}) };
        await writeAudit(tx, {
          actor: run.actor,
          action: 'sync.run',
          target: run.integration,
          outcome: status,
          details,
        });
        return true;
      });
      if (!finished) return;
      metrics?.inc('syncRuns', { integration: run.integration, status });
      metrics?.observe(
        'syncDuration',
        { integration: run.integration },
        Math.max(0, clock().getTime() - startedAt.getTime()) / 1000,
      );
      if (status === 'succeeded')
        metrics?.set('lastSuccess', { integration: run.integration }, clock().getTime() / 1000);
    },
  };
}
