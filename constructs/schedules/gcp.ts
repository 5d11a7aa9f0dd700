import { CloudSchedulerJob } from '@cdktf/provider-google/lib/cloud-scheduler-job';
import { scheduleMessage, type JobMessage } from '@data-sync/config/job-message';
import { Construct } from 'constructs';
import { intervalMinutes, type IntegrationSettings } from '@data-sync/config';

/**
 * A sync_interval as a 5-field cron expression (UTC): `15m` -> `*\/15 * * * *`, `1h` -> `0 * * * *`,
 * `6h` -> `0 *\/6 * * *`, `1d` -> `0 0 * * *`. Intervals cron cannot repeat evenly (`45m`, `5h`)
 * throw, naming the value; `<n>d` restarts at each month's first day.
 */
export function cronFor(interval: string): string {
  const minutes = intervalMinutes(interval);
  if (minutes < 60 && 60 % minutes === 0) return minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`;
  if (minutes % 60 === 0 && minutes < 1440 && 24 % (minutes / 60) === 0)
    return minutes === 60 ? '0 * * * *' : `0 */${minutes / 60} * * *`;
  if (minutes % 1440 === 0) return minutes === 1440 ? '0 0 * * *' : `0 0 */${minutes / 1440} * *`;
  throw new Error(
    `sync_interval "${interval}" cannot be expressed as a cron schedule: use a divisor of 60 minutes, a divisor of 24 hours, or whole days`,
  );
}

/** The job a schedule enqueues: a sync of the integration, whose run the runtime creates (config/job-message.ts). */
export function scheduledJob(integration: IntegrationSettings): JobMessage {
  return scheduleMessage(integration.name);
}

export interface GcpSchedulesProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** Region of the scheduler jobs. */
  readonly region: string;
  /** Topic id (`projects/<p>/topics/<t>`) the jobs publish to. */
  readonly topicId: string;
  /** Enabled integrations: one job each, on its sync_interval. */
  readonly integrations: readonly IntegrationSettings[];
}

/** One Cloud Scheduler job per enabled integration that publishes a sync job to the queue's topic. */
export class GcpSchedules extends Construct {
  /** By integration name. */
  readonly jobs: Readonly<Record<string, CloudSchedulerJob>>;

  constructor(scope: Construct, id: string, props: GcpSchedulesProps) {
    super(scope, id);
    this.jobs = Object.fromEntries(
      props.integrations.map((integration) => [
        integration.name,
        new CloudSchedulerJob(this, integration.name, {
          name: `${props.prefix}-sync-${integration.name.replace(/_/g, '-')}`,
          description: `Scheduled ${integration.name} sync every ${integration.syncInterval}`,
          region: props.region,
          schedule: cronFor(integration.syncInterval),
          timeZone: 'Etc/UTC',
          pubsubTarget: {
            topicName: props.topicId,
            data: Buffer.from(JSON.stringify(scheduledJob(integration))).toString('base64'),
            attributes: { integration: integration.name, trigger: 'schedule' },
          },
          retryConfig: { retryCount: 3, minBackoffDuration: '10s', maxBackoffDuration: '300s' },
        }),
      ]),
    );
  }
}
