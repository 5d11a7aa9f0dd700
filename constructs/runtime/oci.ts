import { Construct } from 'constructs';
import { Fn, type ITerraformDependable } from 'cdktf';
import { SLOTS, type Slot } from '@data-sync/config';
import {
  OciApigatewayDeployment,
  OciApigatewayGateway,
  OciArtifactsContainerRepository,
  OciContainerInstance,
  type OciContainer,
  OciLoadBalancer,
  OciLoadBalancerBackend,
  OciLoadBalancerBackendSet,
  OciLoadBalancerListener,
  type OciLoadBalancerPathRouteSet,
  OciLoggingLog,
} from '../providers/oci';
import { METRIC_LIST, type MetricDefinition } from '@data-sync/monitoring/metrics';
import { ociMetricsRelay } from '../monitoring/oci';
import { runtimeCommand } from '../shared/runtime-bundle';

/** OCI CLI image of the secrets sidecar (dated tag, pinned). */
export const OCI_CLI_IMAGE = 'ghcr.io/oracle/oci-cli:20250716';
/** Where the sidecar writes secrets for the other containers. */
export const SECRETS_DIR = '/secrets';
/** Container Instances shape (flexible OCPUs and memory). */
export const CONTAINER_SHAPE = 'CI.Standard.E4.Flex';

/** What every container instance of the stack shares. */
export interface OciHostContext {
  readonly compartmentId: string;
  /** Region of the stack: where the metrics relays post. */
  readonly region: string;
  readonly availabilityDomain: string;
  readonly subnetId: string;
  /** CIDR of subnetId: instances get fixed addresses in it so load balancer backends can name them. */
  readonly subnetCidr: string;
  /** Network security groups of every instance's VNIC. */
  readonly nsgIds: readonly string[];
  /** Defined tags (`<namespace>.<key>`) of every instance: which dynamic group it is in; @default none */
  readonly definedTags?: Readonly<Record<string, string>>;
  /** Resources the instances' tags need first (the tag definitions); @default none */
  readonly tagDependencies?: readonly ITerraformDependable[];
  /** Vault secret with `{"username","password"}` for the private registry. */
  readonly registrySecretId: string;
  /** Registry host, e.g. `us-ashburn-1.ocir.io`. */
  readonly registryHost: string;
}

export interface OciSecretFile {
  /** File name under /secrets. */
  readonly file: string;
  /** Vault secret OCID. */
  readonly secretId: string;
}

/**
 * Container Instances cannot inject Vault secrets into environment variables, so every instance
 * runs this sidecar: with the instance's resource principal it reads each secret bundle into a
 * file of a shared in-memory volume (and a .pgpass line when asked), then stays up. Apps read the
 * files (`*_FILE` variables, PGPASSFILE); secret values never appear in the configuration.
 */
export function secretsSidecar(
  files: readonly OciSecretFile[],
  pgpass?: { host: string; user: string; passwordFile: string },
): OciContainer {
  const fetch = files.map(
    (f) =>
      `oci secrets secret-bundle get --secret-id ${f.secretId} --query 'data."secret-bundle-content".content' --raw-output | base64 -d > ${SECRETS_DIR}/${f.file}`,
  );
  const pass = pgpass
    ? [
        `printf '%s:5432:*:%s:%s\\n' '${pgpass.host}' '${pgpass.user}' "$(cat ${SECRETS_DIR}/${pgpass.passwordFile})" > ${SECRETS_DIR}/pgpass`,
        `chmod 600 ${SECRETS_DIR}/pgpass`,
      ]
    : [];
  return {
    display_name: 'secrets',
    image_url: OCI_CLI_IMAGE,
    command: ['/bin/sh', '-c', ['set -e', 'umask 077', ...fetch, ...pass, 'exec sleep 2147483647'].join(' && ')],
    environment_variables: { OCI_CLI_AUTH: 'resource_principal' },
    volume_mounts: [{ mount_path: SECRETS_DIR, volume_name: 'secrets' }],
    resource_config: { vcpus_limit: 0.25, memory_limit_in_gbs: 0.5 },
  };
}

export interface OciHostProps {
  readonly name: string;
  readonly context: OciHostContext;
  /** Host number inside the subnet: the fixed private IP is cidrhost(subnetCidr, hostNumber). */
  readonly hostNumber: number;
  readonly ocpus: number;
  readonly memoryGb: number;
  /** Main container (the secrets sidecar is added, and the secrets volume mounted read-only). */
  readonly app: OciContainer;
  /** Vault secrets the sidecar writes as files for the app. */
  readonly secrets: readonly OciSecretFile[];
  /** A .pgpass line the sidecar writes from a secret file; @default none */
  readonly pgpass?: { host: string; user: string; passwordFile: string };
  /** The app's /metrics a relay sidecar posts to OCI Monitoring, and the relay's image (with Node.js); @default no relay */
  readonly metrics?: { readonly port: number; readonly catalog: readonly MetricDefinition[]; readonly image: string };
}

/** One container instance: the app container, the secrets sidecar and the metrics relay when asked, at a fixed private IP. */
export class OciHost extends Construct {
  readonly instance: InstanceType<typeof OciContainerInstance>;
  readonly privateIp: string;

  constructor(scope: Construct, id: string, props: OciHostProps) {
    super(scope, id);
    const ctx = props.context;
    this.privateIp = Fn.cidrhost(ctx.subnetCidr, props.hostNumber);
    const relay =
      props.metrics &&
      ociMetricsRelay({
        image: props.metrics.image,
        port: props.metrics.port,
        metrics: props.metrics.catalog,
        instance: props.name,
        compartmentId: ctx.compartmentId,
        region: ctx.region,
      });
    this.instance = new OciContainerInstance(
      this,
      'instance',
      {
        compartment_id: ctx.compartmentId,
        availability_domain: ctx.availabilityDomain,
        display_name: props.name,
        shape: CONTAINER_SHAPE,
        shape_config: { ocpus: props.ocpus, memory_in_gbs: props.memoryGb },
        containers: [
          { ...props.app, volume_mounts: [{ mount_path: SECRETS_DIR, volume_name: 'secrets', is_read_only: true }] },
          secretsSidecar(props.secrets, props.pgpass),
          ...(relay ? [relay.container] : []),
        ],
        vnics: [
          {
            subnet_id: ctx.subnetId,
            nsg_ids: [...ctx.nsgIds],
            private_ip: this.privateIp,
            is_public_ip_assigned: false,
            display_name: props.name,
          },
        ],
        volumes: [
          { name: 'secrets', volume_type: 'EMPTYDIR', backing_store: 'MEMORY' },
          ...(relay ? [relay.volume] : []),
        ],
        container_restart_policy: 'ALWAYS',
        graceful_shutdown_timeout_in_seconds: 30,
        image_pull_secrets: [
          { registry_endpoint: ctx.registryHost, secret_type: 'VAULT', secret_id: ctx.registrySecretId },
        ],
        ...(ctx.definedTags ? { defined_tags: { ...ctx.definedTags } } : {}),
      },
      ctx.tagDependencies ? { dependsOn: [...ctx.tagDependencies] } : {},
    );
  }
}

export interface OciRuntimeProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly serviceName: string;
  readonly context: OciHostContext;
  /** Object Storage namespace of the tenancy (registry path). */
  readonly registryNamespace: string;
  /** Public subnet of the API gateway, the only public entry. */
  readonly publicSubnetId: string;
  /** Security groups of the API gateway (HTTPS in) and of the private load balancer behind it. */
  readonly gatewayNsgId: string;
  readonly loadBalancerNsgId: string;
  /** Custom API hostname and its Certificates service certificate OCID. @default none: the gateway's own hostname and Oracle's certificate */
  readonly customDomain?: { readonly domainName: string; readonly certificate: string };
  /** Slot whose backend set the listener forwards to. */
  readonly activeSlot: Slot;
  readonly imageTags: Readonly<Record<Slot, string>>;
  /** Tag of the slot not being deployed: every instance's metrics relay runs it, so a deploy changes the app containers only. */
  readonly stableImageTag: string;
  /** Container instances per slot. */
  readonly instanceCount: number;
  /** CPU units per instance (1024 = 1 OCPU). */
  readonly cpuUnits: number;
  readonly memoryMb: number;
  /** Plain runtime environment (no secret values; secrets arrive as files). */
  readonly environment: Record<string, string>;
  readonly secrets: readonly OciSecretFile[];
  readonly pgpass: { host: string; user: string; passwordFile: string };
  /** Log group of the load balancer access log. */
  readonly logGroupId: string;
  /** Log retention in days (rounded up to OCI's 30-day steps). */
  readonly logRetentionDays: number;
  /** Port the runtime listens on. @default 3000 */
  readonly port?: number;
}

/** OCI keeps logs in 30-day steps from 30 to 180 days. */
export const ociRetention = (days: number) => Math.min(180, Math.max(30, Math.ceil(days / 30) * 30));

/** Listener port of each slot's own endpoint (opened to the gateway in constructs/network/oci.ts). */
const OCI_SLOT_PORTS: Readonly<Record<Slot, number>> = { blue: 8081, green: 8082 };
/** Path under which the gateway exposes each slot's own listener, for smoke tests before a switch. */
export const OCI_SLOT_PATH = '/_slots';

/**
 * Runtime capability on OCI: container instances per slot (blue and green, each with its own image
 * tag) registered in one backend set per slot of a private flexible load balancer; the listener's
 * default backend set is the active slot's, so switching activeSlot changes only that one field.
 * The public entry is an API gateway: HTTPS only (it has no plain HTTP listener at all), on its
 * own hostname with Oracle's certificate, or on a custom hostname with a certificate from context.
 */

export class OciRuntime extends Construct {
  readonly loadBalancer: InstanceType<typeof OciLoadBalancer>;
  readonly backendSets = {} as Record<Slot, InstanceType<typeof OciLoadBalancerBackendSet>>;
  readonly hosts = {} as Record<Slot, OciHost[]>;
  readonly imageRepository: string;
  readonly gateway: InstanceType<typeof OciApigatewayGateway>;
  readonly deployment: InstanceType<typeof OciApigatewayDeployment>;
  /** Public URL (the active slot), always HTTPS. */
  readonly url: string;
  private readonly props: OciRuntimeProps;

  constructor(scope: Construct, id: string, props: OciRuntimeProps) {
    super(scope, id);
    this.props = props;
    const port = props.port ?? 3000;
    const ctx = props.context;
    const repo = new OciArtifactsContainerRepository(this, 'repository', {
      compartment_id: ctx.compartmentId,
      display_name: `${props.prefix}/${props.serviceName}`,
      is_immutable: true,
      is_public: false,
    });
    this.imageRepository = `${ctx.registryHost}/${props.registryNamespace}/${props.prefix}/${props.serviceName}`;
    this.loadBalancer = new OciLoadBalancer(this, 'lb', {
      compartment_id: ctx.compartmentId,
      display_name: props.prefix,
      shape: 'flexible',
      shape_details: { minimum_bandwidth_in_mbps: 10, maximum_bandwidth_in_mbps: 100 },
      subnet_ids: [ctx.subnetId],
      is_private: true,
      network_security_group_ids: [props.loadBalancerNsgId],
    });
    this.gateway = new OciApigatewayGateway(this, 'gateway', {
      compartment_id: ctx.compartmentId,
      display_name: props.prefix,
      endpoint_type: 'PUBLIC',
      subnet_id: props.publicSubnetId,
      network_security_group_ids: [props.gatewayNsgId],
      certificate_id: props.customDomain?.certificate,
    });
    // The gateway to the private load balancer inside the VCN; `$${...}` is the gateway's own path variable, escaped for Terraform.
    const lbAddress = this.loadBalancer.getStringAttribute('ip_address_details[0].ip_address');
    const route = (path: string, port: number) => ({
      path: `${path}/{rest*}`,
      methods: ['ANY'],
      backend: {
        type: 'HTTP_BACKEND' as const,
        url: `http://${lbAddress}:${port}/$\${request.path[rest]}`,
        connect_timeout_in_seconds: 10,
        read_timeout_in_seconds: 60,
        send_timeout_in_seconds: 60,
      },
    });
    this.deployment = new OciApigatewayDeployment(this, 'api', {
      compartment_id: ctx.compartmentId,
      gateway_id: this.gateway.id,
      display_name: props.prefix,
      path_prefix: '/',
      specification: {
        routes: [route('', 80), ...SLOTS.map((slot) => route(`${OCI_SLOT_PATH}/${slot}`, OCI_SLOT_PORTS[slot]))],
      },
    });
    this.url = `https://${props.customDomain?.domainName ?? this.gateway.attr('hostname')}`;
    new OciLoggingLog(this, 'access-log', {
      display_name: `${props.prefix}-lb-access`,
      log_group_id: props.logGroupId,
      log_type: 'SERVICE',
      is_enabled: true,
      retention_duration: ociRetention(props.logRetentionDays),
      configuration: {
        source: {
          category: 'access',
          resource: this.loadBalancer.id,
          service: 'loadbalancer',
          source_type: 'OCISERVICE',
        },
      },
    });
    SLOTS.forEach((slot, slotIndex) => {
      this.backendSets[slot] = new OciLoadBalancerBackendSet(this, `backends-${slot}`, {
        load_balancer_id: this.loadBalancer.id,
        name: slot,
        policy: 'LEAST_CONNECTIONS',
        health_checker: {
          protocol: 'HTTP',
          port,
          url_path: '/health',
          return_code: 200,
          interval_ms: 10000,
          retries: 3,
          timeout_in_millis: 3000,
        },
      });
      this.hosts[slot] = Array.from({ length: props.instanceCount }, (_, i) => {
        const host = new OciHost(this, `${slot}-${i}`, {
          name: `${props.prefix}-api-${slot}-${i}`,
          context: ctx,
          hostNumber: 10 + slotIndex * 20 + i,
          ocpus: props.cpuUnits / 1024,
          memoryGb: props.memoryMb / 1024,
          app: {
            display_name: 'app',
            image_url: `${this.imageRepository}:${props.imageTags[slot]}`,
            arguments: runtimeCommand('oci'),
            environment_variables: { ...props.environment, PORT: String(port), HOST: '0.0.0.0', DATA_SYNC_SLOT: slot },
            health_checks: [
              { health_check_type: 'HTTP', path: '/health', port, interval_in_seconds: 10, failure_threshold: 3 },
            ],
          },
          secrets: props.secrets,
          pgpass: props.pgpass,
          metrics: { port, catalog: METRIC_LIST, image: `${this.imageRepository}:${props.stableImageTag}` },
        });
        host.node.addDependency(repo);
        new OciLoadBalancerBackend(this, `${slot}-${i}-backend`, {
          load_balancer_id: this.loadBalancer.id,
          backendset_name: this.backendSets[slot].attr('name'),
          ip_address: host.privateIp,
          port,
        });
        return host;
      });
    });
  }

  /** The private load balancer's listener behind the gateway: default backend set = the active slot's; extra path routes (n8n) when given. */
  listen(
    pathRouteSet?: InstanceType<typeof OciLoadBalancerPathRouteSet>,
  ): InstanceType<typeof OciLoadBalancerListener> {
    // Each slot also answers on its own port, so a deploy pipeline can smoke-test the idle slot.
    for (const slot of SLOTS) {
      new OciLoadBalancerListener(this, `slot-${slot}`, {
        load_balancer_id: this.loadBalancer.id,
        name: `slot-${slot}`,
        default_backend_set_name: this.backendSets[slot].attr('name'),
        port: OCI_SLOT_PORTS[slot],
        protocol: 'HTTP',
      });
    }
    return new OciLoadBalancerListener(this, 'http', {
      load_balancer_id: this.loadBalancer.id,
      name: 'http',
      default_backend_set_name: this.backendSets[this.props.activeSlot].attr('name'),
      port: 80,
      protocol: 'HTTP',
      path_route_set_name: pathRouteSet?.attr('name'),
    });
  }

  /** Each slot's own listener, through the gateway. */
  get slotUrls(): Readonly<Record<Slot, string>> {
    return { blue: `${this.url}${OCI_SLOT_PATH}/blue`, green: `${this.url}${OCI_SLOT_PATH}/green` };
  }
}
