import { WorkersCronTrigger } from '@cdktf/provider-cloudflare/lib/workers-cron-trigger';
import { Construct } from 'constructs';
import type { IntegrationSettings } from '@data-sync/config';
import { cronFor } from './gcp';

/** Integrations per cron expression: the consumer's `scheduled()` handler enqueues a sync for each on its cron. */
export function cloudflareCronMap(integrations: readonly IntegrationSettings[]): Record<string, string[]> {
  const map: Record<string, string[]> = {};
  for (const integration of integrations) (map[cronFor(integration.syncInterval)] ??= []).push(integration.name);
  return map;
}

export interface CloudflareSchedulesProps {
  readonly accountId: string;
  /** Script that runs the schedules (it binds the cron map as `SCHEDULES` and produces to the queue). */
  readonly scriptName: string;
  /** Enabled integrations: one Cron Trigger per distinct sync_interval. */
  readonly integrations: readonly IntegrationSettings[];
}

/**
 * Cron Triggers for every enabled integration's sync_interval on the consumer script. Cloudflare
 * keeps one schedule per cron expression, so integrations that share an interval share a trigger;
 * the script's `SCHEDULES` binding (cloudflareCronMap) says which integrations each cron syncs.
 */
export class CloudflareSchedules extends Construct {
  readonly trigger: WorkersCronTrigger;
  readonly cronMap: Readonly<Record<string, readonly string[]>>;

  constructor(scope: Construct, id: string, props: CloudflareSchedulesProps) {
    super(scope, id);
    this.cronMap = cloudflareCronMap(props.integrations);
    this.trigger = new WorkersCronTrigger(this, 'crons', {
      accountId: props.accountId,
      scriptName: props.scriptName,
      schedules: Object.keys(this.cronMap).map((cron) => ({ cron })),
    });
  }
}
