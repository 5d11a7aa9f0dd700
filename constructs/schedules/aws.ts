import { Construct } from 'constructs';
import { SchedulerSchedule } from '@cdktf/provider-aws/lib/scheduler-schedule';
import { SchedulerScheduleGroup } from '@cdktf/provider-aws/lib/scheduler-schedule-group';
import { type IntegrationSettings, intervalMinutes } from '@data-sync/config';
import { ServiceRole } from '../generic/aws-iam';
import { rateExpression, triggerMessage } from '../generic/workload';

export interface AwsSchedulesProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly accountId: string;
  /** Enabled integrations: one schedule each, at its sync_interval. */
  readonly integrations: readonly IntegrationSettings[];
  /** Queue that receives the trigger messages. */
  readonly queueArn: string;
  /** Dead-letter queue for triggers EventBridge Scheduler could not deliver. */
  readonly deadLetterQueueArn: string;
  /** KMS key of the queue and of the schedules. */
  readonly kmsKeyArn: string;
}

/** Schedules capability on AWS: one EventBridge Scheduler schedule per enabled integration that sends a sync job to SQS. */
export class AwsSchedules extends Construct {
  readonly schedules = new Map<string, SchedulerSchedule>();
  readonly group: SchedulerScheduleGroup;

  constructor(scope: Construct, id: string, props: AwsSchedulesProps) {
    super(scope, id);
    const group = (this.group = new SchedulerScheduleGroup(this, 'group', { name: props.prefix }));
    const role = new ServiceRole(this, 'role', {
      name: `${props.prefix}-scheduler`,
      service: 'scheduler.amazonaws.com',
      accountId: props.accountId,
      statements: [
        { sid: 'SendTriggers', actions: ['sqs:SendMessage'], resources: [props.queueArn, props.deadLetterQueueArn] },
        { sid: 'EncryptTriggers', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.kmsKeyArn] },
      ],
    });
    for (const integration of props.integrations) {
      this.schedules.set(
        integration.name,
        new SchedulerSchedule(this, integration.name, {
          name: `${props.prefix}-${integration.name}`,
          groupName: group.name,
          description: `Sync ${integration.name} every ${integration.syncInterval}`,
          scheduleExpression: rateExpression(integration.syncInterval),
          flexibleTimeWindow: { mode: 'OFF' },
          kmsKeyArn: props.kmsKeyArn,
          target: {
            arn: props.queueArn,
            roleArn: role.arn,
            input: triggerMessage(integration),
            // A trigger older than one interval is superseded by the next one (EventBridge allows 60 s to 24 h).
            retryPolicy: {
              maximumEventAgeInSeconds: Math.min(86_400, Math.max(60, intervalMinutes(integration.syncInterval) * 60)),
              maximumRetryAttempts: 5,
            },
            deadLetterConfig: { arn: props.deadLetterQueueArn },
          },
        }),
      );
    }
  }
}
