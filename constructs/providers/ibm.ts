/**
 * IBM Cloud resources used by the IBM stack, typed from the IBM-Cloud/ibm provider documentation
 * (website/docs/r/<type>.html.markdown), and IBM Cloud Monitoring alerts and dashboards through the
 * sysdiglabs/sysdig provider (IBM Cloud Monitoring is Sysdig Monitor). Argument names are the
 * providers' own; only the arguments the stack uses are typed.
 */
import type { Construct } from 'constructs';
import { GenericProvider, type ProviderSpec, dataSourceType, resourceType } from './typed-resource';

export const IBM_PROVIDER: ProviderSpec = { name: 'ibm', source: 'IBM-Cloud/ibm', version: '~> 1.70' };
export const SYSDIG_PROVIDER: ProviderSpec = { name: 'sysdig', source: 'sysdiglabs/sysdig', version: '~> 3.0' };

/** Provider settings; the API key comes from IC_API_KEY in the environment, never from here. */
export interface IbmProviderConfig {
  /** Region, e.g. `us-south`. */
  readonly region: string;
}

export class IbmProvider extends GenericProvider<IbmProviderConfig> {
  constructor(scope: Construct, id: string, config: IbmProviderConfig) {
    super(scope, id, IBM_PROVIDER, config);
  }
}

/** Sysdig provider pointed at an IBM Cloud Monitoring instance; the API key comes from SYSDIG_IBM_MONITOR_API_KEY. */
export interface SysdigIbmProviderConfig {
  readonly sysdig_monitor_url: string;
  readonly ibm_monitor_iam_url: string;
  readonly ibm_monitor_instance_id: string;
}

export class SysdigProvider extends GenericProvider<SysdigIbmProviderConfig> {
  constructor(scope: Construct, id: string, config: SysdigIbmProviderConfig) {
    super(scope, id, SYSDIG_PROVIDER, config);
  }
}

type Parameters = Readonly<Record<string, string | number | boolean>>;

// Platform services (Key Protect, Secrets Manager, Event Streams, Monitoring, Cloud Logs)
export const IbmResourceInstance = resourceType<
  {
    name: string;
    service: string;
    plan: string;
    location: string;
    resource_group_id: string;
    service_endpoints?: 'public' | 'private' | 'public-and-private';
    parameters?: Parameters;
    tags?: string[];
  },
  'guid' | 'crn'
>(IBM_PROVIDER, 'ibm_resource_instance');
export const IbmKmsKey = resourceType<
  { instance_id: string; key_name: string; standard_key: boolean; force_delete?: boolean },
  'crn' | 'key_id'
>(IBM_PROVIDER, 'ibm_kms_key');
export const IbmKmsKeyPolicies = resourceType<{
  instance_id: string;
  key_id: string;
  rotation: { enabled: boolean; interval_month: number };
  dual_auth_delete?: { enabled: boolean };
}>(IBM_PROVIDER, 'ibm_kms_key_policies');
export const IbmIamAuthorizationPolicy = resourceType<{
  source_service_name: string;
  source_resource_instance_id?: string;
  target_service_name: string;
  target_resource_instance_id: string;
  roles: string[];
  description?: string;
}>(IBM_PROVIDER, 'ibm_iam_authorization_policy');
export const IbmIamServiceId = resourceType<{ name: string; description: string }, 'iam_id'>(
  IBM_PROVIDER,
  'ibm_iam_service_id',
);
export const IbmIamServicePolicy = resourceType<{
  iam_service_id: string;
  roles: string[];
  resource_attributes: {
    name: 'serviceName' | 'serviceInstance' | 'resourceType' | 'resource';
    value: string;
    operator?: 'stringEquals';
  }[];
  description?: string;
}>(IBM_PROVIDER, 'ibm_iam_service_policy');

// Secrets Manager
export const IbmSmSecretGroup = resourceType<
  { instance_id: string; region: string; name: string; description?: string },
  'secret_group_id'
>(IBM_PROVIDER, 'ibm_sm_secret_group');
export const IbmSmArbitrarySecret = resourceType<
  {
    instance_id: string;
    region: string;
    name: string;
    description?: string;
    secret_group_id: string;
    /** Empty at creation (the provider allows length 0); operators write the value as a new version. */
    payload: '';
    labels?: string[];
  },
  'secret_id'
>(IBM_PROVIDER, 'ibm_sm_arbitrary_secret');

// Event Streams
export const IbmEventStreamsTopic = resourceType<{
  resource_instance_id: string;
  name: string;
  partitions: number;
  config?: Readonly<Record<string, string>>;
}>(IBM_PROVIDER, 'ibm_event_streams_topic');

// Event Notifications
export const IbmEnSource = resourceType<
  { instance_guid: string; name: string; description?: string; enabled: boolean },
  'source_id'
>(IBM_PROVIDER, 'ibm_en_source');
export interface IbmEnTopicRule {
  readonly enabled: boolean;
  /** A JSONPath test on the event, e.g. `$.type == 'com.example.created'` (3 to 255 characters). */
  readonly event_type_filter: string;
  readonly notification_filter?: string;
}
export const IbmEnTopic = resourceType<
  {
    instance_guid: string;
    name: string;
    description?: string;
    sources: { id: string; rules: IbmEnTopicRule[] }[];
  },
  'topic_id'
>(IBM_PROVIDER, 'ibm_en_topic');

// Databases for PostgreSQL
export interface IbmDatabaseGroup {
  readonly group_id: 'member';
  readonly members: { allocation_count: number };
  readonly memory: { allocation_mb: number };
  readonly disk: { allocation_mb: number };
  readonly cpu?: { allocation_count: number };
}
export const IbmDatabase = resourceType<{
  name: string;
  plan: 'standard' | 'enterprise';
  location: string;
  service: 'databases-for-postgresql';
  version: string;
  resource_group_id: string;
  service_endpoints: 'private' | 'public' | 'public-and-private';
  key_protect_key: string;
  backup_encryption_key_crn?: string;
  group: IbmDatabaseGroup[];
  tags?: string[];
}>(IBM_PROVIDER, 'ibm_database');

// Code Engine
export interface IbmCodeEngineEnvVariable {
  readonly type:
    | 'literal'
    | 'config_map_full_reference'
    | 'secret_full_reference'
    | 'config_map_key_reference'
    | 'secret_key_reference';
  readonly name?: string;
  readonly value?: string;
  readonly reference?: string;
  readonly key?: string;
}
export const IbmCodeEngineProject = resourceType<{ name: string; resource_group_id: string }, 'project_id'>(
  IBM_PROVIDER,
  'ibm_code_engine_project',
);
export const IbmCodeEngineConfigMap = resourceType<
  { project_id: string; name: string; data: Readonly<Record<string, string>> },
  'name'
>(IBM_PROVIDER, 'ibm_code_engine_config_map');
export const IbmCodeEngineSecret = resourceType<
  { project_id: string; name: string; format: 'generic' | 'registry' | 'tls'; data: Readonly<Record<string, string>> },
  'name'
>(IBM_PROVIDER, 'ibm_code_engine_secret');
export const IbmCodeEngineApp = resourceType<
  {
    project_id: string;
    name: string;
    image_reference: string;
    image_port: number;
    image_secret?: string;
    /** Replaces the image's entrypoint. */
    run_commands?: string[];
    /** Replaces the image's command. */
    run_arguments?: string[];
    managed_domain_mappings: 'local' | 'local_private' | 'local_public';
    run_env_variables: IbmCodeEngineEnvVariable[];
    scale_min_instances: number;
    scale_max_instances: number;
    scale_cpu_limit: string;
    scale_memory_limit: string;
    probe_readiness?: {
      type: 'http' | 'tcp';
      path?: string;
      port?: number;
      interval?: number;
      failure_threshold?: number;
    }[];
  },
  'name' | 'endpoint'
>(IBM_PROVIDER, 'ibm_code_engine_app');
export const IbmCodeEngineJob = resourceType<
  {
    project_id: string;
    name: string;
    image_reference: string;
    image_secret?: string;
    /** Replaces the image's CMD. */
    run_arguments?: string[];
    run_mode: 'task' | 'daemon';
    run_env_variables: IbmCodeEngineEnvVariable[];
    /** Config maps or secrets mounted as files, one per key. */
    run_volume_mounts?: { mount_path: string; reference: string; type: 'config_map' | 'secret' }[];
    scale_array_spec: string;
    scale_cpu_limit: string;
    scale_memory_limit: string;
  },
  'name'
>(IBM_PROVIDER, 'ibm_code_engine_job');
export const IbmCodeEngineJobRun = resourceType<{
  project_id: string;
  name: string;
  job_name: string;
  run_mode?: 'task' | 'daemon';
}>(IBM_PROVIDER, 'ibm_code_engine_job_run');
export const IbmCodeEngineDomainMapping = resourceType<
  { project_id: string; name: string; tls_secret: string; component: { name: string; resource_type: 'app_v2' }[] },
  'cname_target'
>(IBM_PROVIDER, 'ibm_code_engine_domain_mapping');

// IBM Cloud Monitoring (Sysdig)
export const SysdigMonitorNotificationChannelEmail = resourceType<{
  name: string;
  recipients: string[];
  enabled: boolean;
  notify_when_ok: boolean;
}>(SYSDIG_PROVIDER, 'sysdig_monitor_notification_channel_email');
export const SysdigMonitorAlertV2Prometheus = resourceType<{
  name: string;
  description: string;
  severity: 'high' | 'medium' | 'low' | 'info';
  query: string;
  trigger_after_minutes: number;
  group?: string;
  notification_channels: { id: string; type: 'EMAIL' }[];
}>(SYSDIG_PROVIDER, 'sysdig_monitor_alert_v2_prometheus');
export const SysdigMonitorDashboard = resourceType<{
  name: string;
  description: string;
  panel: {
    pos_x: number;
    pos_y: number;
    width: number;
    height: number;
    type: 'timechart' | 'number';
    name: string;
    query: { promql: string; unit: 'percent' | 'data' | 'data rate' | 'number' | 'number rate' | 'time' }[];
  }[];
}>(SYSDIG_PROVIDER, 'sysdig_monitor_dashboard');

// Data sources
export const IbmResourceGroup = dataSourceType<{ name: string }, 'id'>(IBM_PROVIDER, 'ibm_resource_group');
