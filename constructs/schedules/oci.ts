import { Construct } from 'constructs';
import type { IntegrationSettings } from '@data-sync/config';
import {
  OciArtifactsContainerRepository,
  OciFunctionsApplication,
  OciFunctionsFunction,
  OciIdentityPolicy,
  OciLoggingLog,
  OciResourceSchedulerSchedule,
} from '../generic/oci';
import { ociRetention } from '../runtime/oci';
import { cronExpression, triggerMessage } from '../generic/workload';

export interface OciSchedulesProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly compartmentId: string;
  readonly integrations: readonly IntegrationSettings[];
  /** Private subnet and security group of the function application. */
  readonly subnetId: string;
  readonly nsgId: string;
  /** Registry path of the trigger function image without tag (its repository is created here). */
  readonly functionRepository: { host: string; namespace: string; name: string };
  /** Tag of the trigger function image (publishes its invocation body to the jobs stream). */
  readonly functionTag: string;
  /** Jobs stream and its messages endpoint. */
  readonly streamId: string;
  readonly streamEndpoint: string;
  readonly logGroupId: string;
  readonly logRetentionDays: number;
}

/**
 * Schedules capability on OCI: a Resource Scheduler schedule per enabled integration invokes the
 * trigger function with the integration's sync job as body; the function puts it on the jobs stream.
 * The scheduler may invoke only that function (policy on its resource principal).
 */
export class OciSchedules extends Construct {
  readonly schedules = new Map<string, InstanceType<typeof OciResourceSchedulerSchedule>>();
  readonly application: InstanceType<typeof OciFunctionsApplication>;

  constructor(scope: Construct, id: string, props: OciSchedulesProps) {
    super(scope, id);
    const compartment_id = props.compartmentId;
    const app = (this.application = new OciFunctionsApplication(this, 'app', {
      compartment_id,
      display_name: `${props.prefix}-triggers`,
      subnet_ids: [props.subnetId],
      network_security_group_ids: [props.nsgId],
      shape: 'GENERIC_X86',
    }));
    new OciLoggingLog(this, 'invoke-log', {
      display_name: `${props.prefix}-triggers-invoke`,
      log_group_id: props.logGroupId,
      log_type: 'SERVICE',
      is_enabled: true,
      retention_duration: ociRetention(props.logRetentionDays),
      configuration: {
        source: { category: 'invoke', resource: app.id, service: 'functions', source_type: 'OCISERVICE' },
      },
    });
    const repo = new OciArtifactsContainerRepository(this, 'repository', {
      compartment_id,
      display_name: props.functionRepository.name,
      is_immutable: true,
      is_public: false,
    });
    const fn = new OciFunctionsFunction(this, 'trigger', {
      application_id: app.id,
      display_name: `${props.prefix}-trigger`,
      image: `${props.functionRepository.host}/${props.functionRepository.namespace}/${props.functionRepository.name}:${props.functionTag}`,
      memory_in_mbs: '256',
      timeout_in_seconds: 30,
      config: { DATA_SYNC_STREAM_ID: props.streamId, DATA_SYNC_STREAM_ENDPOINT: props.streamEndpoint },
    });
    fn.node.addDependency(repo);
    for (const integration of props.integrations) {
      this.schedules.set(
        integration.name,
        new OciResourceSchedulerSchedule(this, integration.name, {
          compartment_id,
          display_name: `${props.prefix}-${integration.name}`,
          description: `Sync ${integration.name} every ${integration.syncInterval}`,
          action: 'START_RESOURCE',
          recurrence_type: 'CRON',
          recurrence_details: cronExpression(integration.syncInterval),
          resources: [{ id: fn.id, parameters: [{ parameter_type: 'BODY', value: triggerMessage(integration) }] }],
        }),
      );
    }
    new OciIdentityPolicy(this, 'scheduler-invokes', {
      compartment_id,
      name: `${props.prefix}-scheduler-invokes-trigger`,
      description: 'Resource Scheduler schedules of this stack may invoke the trigger function only',
      statements: [
        `Allow any-user to use fn-invocation in compartment id ${compartment_id} where all {request.principal.type = 'resourceschedule', target.function.id = '${fn.id}'}`,
        `Allow any-user to read fn-function in compartment id ${compartment_id} where all {request.principal.type = 'resourceschedule', target.function.id = '${fn.id}'}`,
        `Allow any-user to use stream-push in compartment id ${compartment_id} where all {request.principal.type = 'fnfunc', request.principal.id = '${fn.id}', target.stream.id = '${props.streamId}'}`,
      ],
    });
  }
}
