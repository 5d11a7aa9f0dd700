import { CloudSchedulerJob } from '@cdktf/provider-google/lib/cloud-scheduler-job';
import { Construct } from 'constructs';
import type { IntegrationSettings } from '@data-sync/config';
import { cronExpression, triggerMessage } from '../shared/schedule';

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
          schedule: cronExpression(integration.syncInterval),
          timeZone: 'Etc/UTC',
          pubsubTarget: {
            topicName: props.topicId,
            data: Buffer.from(triggerMessage(integration)).toString('base64'),
            attributes: { integration: integration.name, trigger: 'schedule' },
          },
          retryConfig: { retryCount: 3, minBackoffDuration: '10s', maxBackoffDuration: '300s' },
        }),
      ]),
    );
  }
}
