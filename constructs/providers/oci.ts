/**
 * Oracle Cloud Infrastructure resources used by the OCI stack, typed from the oracle/oci provider
 * documentation (website/docs/r/<type>.html.markdown): argument names are the provider's own.
 * Only the arguments the stack uses are typed; every one listed exists in the provider.
 */
import type { Construct } from 'constructs';
import { GenericProvider, type ProviderSpec, dataSourceType, resourceType } from './typed-resource';

/** The oracle/oci provider; 7.x is the current major line. */
export const OCI_PROVIDER: ProviderSpec = { name: 'oci', source: 'oracle/oci', version: '~> 7.0' };

/** Provider settings; credentials come from the environment (TF_VAR_*, OCI CLI config), never from here. */
export interface OciProviderConfig {
  /** Region identifier, e.g. `us-ashburn-1`. */
  readonly region: string;
}

export class OciProvider extends GenericProvider<OciProviderConfig> {
  constructor(scope: Construct, id: string, config: OciProviderConfig) {
    super(scope, id, OCI_PROVIDER, config);
  }
}

type Tags = Readonly<Record<string, string>>;

// Networking
export const OciCoreVcn = resourceType<{
  compartment_id: string;
  cidr_blocks: string[];
  display_name: string;
  dns_label?: string;
  freeform_tags?: Tags;
}>(OCI_PROVIDER, 'oci_core_vcn');
export const OciCoreInternetGateway = resourceType<{
  compartment_id: string;
  vcn_id: string;
  display_name: string;
  enabled: boolean;
}>(OCI_PROVIDER, 'oci_core_internet_gateway');
export const OciCoreNatGateway = resourceType<{ compartment_id: string; vcn_id: string; display_name: string }>(
  OCI_PROVIDER,
  'oci_core_nat_gateway',
);
export interface OciRouteRule {
  readonly network_entity_id: string;
  readonly destination: string;
  readonly destination_type: 'CIDR_BLOCK' | 'SERVICE_CIDR_BLOCK';
}
export const OciCoreRouteTable = resourceType<{
  compartment_id: string;
  vcn_id: string;
  display_name: string;
  route_rules: OciRouteRule[];
}>(OCI_PROVIDER, 'oci_core_route_table');
export const OciCoreSubnet = resourceType<{
  compartment_id: string;
  vcn_id: string;
  cidr_block: string;
  display_name: string;
  dns_label?: string;
  prohibit_public_ip_on_vnic: boolean;
  route_table_id: string;
}>(OCI_PROVIDER, 'oci_core_subnet');
export const OciCoreNetworkSecurityGroup = resourceType<{
  compartment_id: string;
  vcn_id: string;
  display_name: string;
}>(OCI_PROVIDER, 'oci_core_network_security_group');
export interface OciPortRange {
  readonly min: number;
  readonly max: number;
}
export const OciCoreNetworkSecurityGroupSecurityRule = resourceType<{
  network_security_group_id: string;
  direction: 'INGRESS' | 'EGRESS';
  /** IANA protocol number as a string (`6` = TCP) or `all`. */
  protocol: string;
  description?: string;
  source?: string;
  source_type?: 'CIDR_BLOCK' | 'NETWORK_SECURITY_GROUP' | 'SERVICE_CIDR_BLOCK';
  destination?: string;
  destination_type?: 'CIDR_BLOCK' | 'NETWORK_SECURITY_GROUP' | 'SERVICE_CIDR_BLOCK';
  tcp_options?: { destination_port_range: OciPortRange };
}>(OCI_PROVIDER, 'oci_core_network_security_group_security_rule');

// Vault (KMS) and secrets
export const OciKmsVault = resourceType<
  { compartment_id: string; display_name: string; vault_type: 'DEFAULT' | 'VIRTUAL_PRIVATE' },
  'management_endpoint' | 'crypto_endpoint'
>(OCI_PROVIDER, 'oci_kms_vault');
export const OciKmsKey = resourceType<{
  compartment_id: string;
  display_name: string;
  key_shape: { algorithm: 'AES'; length: 16 | 24 | 32 };
  management_endpoint: string;
  protection_mode: 'HSM' | 'SOFTWARE';
  is_auto_rotation_enabled: boolean;
  auto_key_rotation_details?: { rotation_interval_in_days: number };
}>(OCI_PROVIDER, 'oci_kms_key');
export const OciVaultSecret = resourceType<
  {
    compartment_id: string;
    vault_id: string;
    key_id: string;
    secret_name: string;
    description?: string;
    /** Auto-generated content: a value exists without ever being in the configuration. */
    enable_auto_generation?: boolean;
    secret_generation_context?: {
      generation_type: 'PASSPHRASE' | 'SSH_KEY' | 'BYTES';
      generation_template: string;
      passphrase_length?: number;
    };
  },
  'current_version_number'
>(OCI_PROVIDER, 'oci_vault_secret');

// Streaming
export const OciStreamingStreamPool = resourceType<
  {
    compartment_id: string;
    name: string;
    custom_encryption_key: { kms_key_id: string };
    private_endpoint_settings?: { subnet_id: string; nsg_ids?: string[] };
  },
  'endpoint_fqdn'
>(OCI_PROVIDER, 'oci_streaming_stream_pool');
export const OciStreamingStream = resourceType<
  { name: string; partitions: number; retention_in_hours: number; stream_pool_id: string },
  'messages_endpoint'
>(OCI_PROVIDER, 'oci_streaming_stream');

// PostgreSQL
export const OciPsqlDbSystem = resourceType<
  {
    compartment_id: string;
    display_name: string;
    db_version: string;
    shape: string;
    instance_count: number;
    instance_ocpu_count: number;
    instance_memory_size_in_gbs: number;
    network_details: { subnet_id: string; nsg_ids?: string[] };
    storage_details: { is_regionally_durable: boolean; system_type: 'OCI_OPTIMIZED_STORAGE' };
    credentials: {
      username: string;
      password_details: { password_type: 'VAULT_SECRET'; secret_id: string; secret_version: string };
    };
    management_policy?: { backup_policy?: { kind: 'DAILY'; backup_start: string; retention_days: number } };
  },
  'admin_username'
>(OCI_PROVIDER, 'oci_psql_db_system');

// Load balancer
export const OciLoadBalancer = resourceType<
  {
    compartment_id: string;
    display_name: string;
    shape: 'flexible';
    shape_details: { minimum_bandwidth_in_mbps: number; maximum_bandwidth_in_mbps: number };
    subnet_ids: string[];
    is_private: boolean;
    network_security_group_ids?: string[];
  },
  'ip_address_details'
>(OCI_PROVIDER, 'oci_load_balancer_load_balancer');
export const OciLoadBalancerBackendSet = resourceType<
  {
    load_balancer_id: string;
    name: string;
    policy: 'ROUND_ROBIN' | 'LEAST_CONNECTIONS' | 'IP_HASH';
    health_checker: {
      protocol: 'HTTP' | 'TCP';
      port: number;
      url_path: string;
      return_code: number;
      interval_ms?: number;
      retries?: number;
      timeout_in_millis?: number;
    };
  },
  'name'
>(OCI_PROVIDER, 'oci_load_balancer_backend_set');
export const OciLoadBalancerBackend = resourceType<{
  load_balancer_id: string;
  backendset_name: string;
  ip_address: string;
  port: number;
  weight?: number;
}>(OCI_PROVIDER, 'oci_load_balancer_backend');
export const OciLoadBalancerPathRouteSet = resourceType<
  {
    load_balancer_id: string;
    name: string;
    path_routes: {
      backend_set_name: string;
      path: string;
      path_match_type: { match_type: 'EXACT_MATCH' | 'FORCE_LONGEST_PREFIX_MATCH' | 'PREFIX_MATCH' | 'SUFFIX_MATCH' };
    }[];
  },
  'name'
>(OCI_PROVIDER, 'oci_load_balancer_path_route_set');
export const OciLoadBalancerListener = resourceType<{
  load_balancer_id: string;
  name: string;
  default_backend_set_name: string;
  port: number;
  protocol: 'HTTP' | 'HTTP2' | 'TCP';
  path_route_set_name?: string;
  ssl_configuration?: { certificate_name: string; protocols: string[] };
}>(OCI_PROVIDER, 'oci_load_balancer_listener');

// API gateway: HTTPS on its own hostname (`<id>.apigateway.<region>.oci.customer-oci.com`, Oracle's certificate) or a custom one's
export const OciApigatewayGateway = resourceType<
  {
    compartment_id: string;
    display_name: string;
    endpoint_type: 'PUBLIC' | 'PRIVATE';
    subnet_id: string;
    network_security_group_ids?: string[];
    /** Certificates service certificate of a custom hostname. */
    certificate_id?: string;
  },
  'hostname'
>(OCI_PROVIDER, 'oci_apigateway_gateway');
export interface OciApigatewayRoute {
  readonly path: string;
  readonly methods: string[];
  readonly backend: {
    type: 'HTTP_BACKEND';
    url: string;
    connect_timeout_in_seconds?: number;
    read_timeout_in_seconds?: number;
    send_timeout_in_seconds?: number;
  };
}
export const OciApigatewayDeployment = resourceType<{
  compartment_id: string;
  gateway_id: string;
  display_name: string;
  path_prefix: string;
  specification: { routes: OciApigatewayRoute[] };
}>(OCI_PROVIDER, 'oci_apigateway_deployment');

// Containers and functions
export const OciArtifactsContainerRepository = resourceType<{
  compartment_id: string;
  display_name: string;
  is_immutable: boolean;
  is_public: boolean;
}>(OCI_PROVIDER, 'oci_artifacts_container_repository');
export interface OciContainer {
  readonly display_name: string;
  readonly image_url: string;
  readonly environment_variables?: Readonly<Record<string, string>>;
  readonly arguments?: string[];
  readonly health_checks?: {
    health_check_type: 'HTTP' | 'TCP';
    path?: string;
    port: number;
    interval_in_seconds?: number;
    failure_threshold?: number;
    initial_delay_in_seconds?: number;
  }[];
  readonly resource_config?: { vcpus_limit?: number; memory_limit_in_gbs?: number };
  readonly command?: string[];
  readonly volume_mounts?: { mount_path: string; volume_name: string; is_read_only?: boolean }[];
}
/** An instance's volume: scratch space, or files given as base64 content (`CONFIGFILE`). */
export type OciContainerVolume =
  | { name: string; volume_type: 'EMPTYDIR'; backing_store: 'EPHEMERAL_STORAGE' | 'MEMORY' }
  | { name: string; volume_type: 'CONFIGFILE'; configs: { file_name: string; data: string; path?: string }[] };
export const OciContainerInstance = resourceType<{
  compartment_id: string;
  availability_domain: string;
  display_name: string;
  shape: string;
  shape_config: { ocpus: number; memory_in_gbs: number };
  containers: OciContainer[];
  vnics: {
    subnet_id: string;
    nsg_ids?: string[];
    private_ip?: string;
    is_public_ip_assigned: boolean;
    display_name?: string;
  }[];
  container_restart_policy: 'ALWAYS' | 'NEVER' | 'ON_FAILURE';
  graceful_shutdown_timeout_in_seconds?: number;
  image_pull_secrets?: { registry_endpoint: string; secret_type: 'VAULT'; secret_id: string }[];
  volumes?: OciContainerVolume[];
  freeform_tags?: Tags;
  defined_tags?: Tags;
}>(OCI_PROVIDER, 'oci_container_instances_container_instance');
export const OciFunctionsApplication = resourceType<{
  compartment_id: string;
  display_name: string;
  subnet_ids: string[];
  network_security_group_ids?: string[];
  shape?: 'GENERIC_X86' | 'GENERIC_ARM' | 'GENERIC_X86_ARM';
  config?: Readonly<Record<string, string>>;
}>(OCI_PROVIDER, 'oci_functions_application');
export const OciFunctionsFunction = resourceType<
  {
    application_id: string;
    display_name: string;
    image: string;
    memory_in_mbs: string;
    timeout_in_seconds: number;
    config?: Readonly<Record<string, string>>;
  },
  'invoke_endpoint'
>(OCI_PROVIDER, 'oci_functions_function');
export const OciResourceSchedulerSchedule = resourceType<{
  compartment_id: string;
  display_name: string;
  description?: string;
  action: 'START_RESOURCE' | 'STOP_RESOURCE';
  recurrence_type: 'CRON' | 'ICAL';
  recurrence_details: string;
  resources: { id: string; parameters?: { parameter_type: 'BODY' | 'HEADER' | 'PATH' | 'QUERY'; value: string }[] }[];
}>(OCI_PROVIDER, 'oci_resource_scheduler_schedule');

// Notifications, monitoring, logging, identity
export const OciOnsNotificationTopic = resourceType<
  { compartment_id: string; name: string; description?: string; defined_tags?: Tags },
  /** The endpoint PublishMessage is called on for this topic. */
  'api_endpoint'
>(OCI_PROVIDER, 'oci_ons_notification_topic');
export const OciOnsSubscription = resourceType<{
  compartment_id: string;
  topic_id: string;
  protocol: 'EMAIL' | 'HTTPS' | 'PAGERDUTY' | 'SLACK';
  endpoint: string;
}>(OCI_PROVIDER, 'oci_ons_subscription');
export const OciMonitoringAlarm = resourceType<{
  compartment_id: string;
  metric_compartment_id: string;
  display_name: string;
  namespace: string;
  query: string;
  severity: 'CRITICAL' | 'ERROR' | 'WARNING' | 'INFO';
  is_enabled: boolean;
  destinations: string[];
  pending_duration?: string;
  body?: string;
  resolution?: string;
}>(OCI_PROVIDER, 'oci_monitoring_alarm');
export const OciLoggingLogGroup = resourceType<{ compartment_id: string; display_name: string; description?: string }>(
  OCI_PROVIDER,
  'oci_logging_log_group',
);
export const OciLoggingLog = resourceType<{
  display_name: string;
  log_group_id: string;
  log_type: 'SERVICE' | 'CUSTOM';
  is_enabled: boolean;
  /** Days, a multiple of 30 from 30 to 180. */
  retention_duration: number;
  configuration?: { source: { category: string; resource: string; service: string; source_type: 'OCISERVICE' } };
}>(OCI_PROVIDER, 'oci_logging_log');
export const OciIdentityDynamicGroup = resourceType<
  { compartment_id: string; name: string; description: string; matching_rule: string },
  'name'
>(OCI_PROVIDER, 'oci_identity_dynamic_group');
// Defined tags: dynamic group matching rules can test them (freeform tags they cannot).
export const OciIdentityTagNamespace = resourceType<
  { compartment_id: string; name: string; description: string },
  'name'
>(OCI_PROVIDER, 'oci_identity_tag_namespace');
export const OciIdentityTag = resourceType<{ tag_namespace_id: string; name: string; description: string }, 'name'>(
  OCI_PROVIDER,
  'oci_identity_tag',
);
export const OciIdentityPolicy = resourceType<{
  compartment_id: string;
  name: string;
  description: string;
  statements: string[];
}>(OCI_PROVIDER, 'oci_identity_policy');

// Data sources
export const OciIdentityAvailabilityDomains = dataSourceType<{ compartment_id: string }, 'availability_domains'>(
  OCI_PROVIDER,
  'oci_identity_availability_domains',
);
/** Connection details of a PostgreSQL DB system: the service's private CA and the endpoints' FQDNs. */
export const OciPsqlDbSystemConnectionDetail = dataSourceType<
  { db_system_id: string },
  'ca_certificate' | 'primary_db_endpoint[0].fqdn'
>(OCI_PROVIDER, 'oci_psql_db_system_connection_detail');
export const OciObjectstorageNamespace = dataSourceType<{ compartment_id: string }, 'namespace'>(
  OCI_PROVIDER,
  'oci_objectstorage_namespace',
);
