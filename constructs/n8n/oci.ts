import { Construct } from 'constructs';
import type { EnvironmentConfig, FeatureFlags, N8nShape } from '@data-sync/config';
import { N8N_METRIC_LIST } from '@data-sync/monitoring/n8n-metrics';
import { WEBHOOK_PATH_PREFIX } from '@data-sync/n8n/webhooks';
import { OciLoadBalancerBackend, OciLoadBalancerBackendSet, OciLoadBalancerPathRouteSet } from '../providers/oci';
import { OciDatabase } from '../database/oci';
import { OciHost, type OciHostContext } from '../runtime/oci';
import { N8N_IMAGE } from '../shared/n8n-image';
import { n8nProcessName, n8nProcesses, type N8nProcess, type N8nRole } from './processes';
import { N8N_PORT, webhookOutputs, N8N_STARTUP_SECONDS } from './provisioning';

/** Host numbers (fixed private IPs) of n8n's container instances: main, then up to four of each pool. */
const HOST_NUMBERS: Readonly<Record<N8nRole, number>> = { main: 50, worker: 51, webhook: 55 };
const POOL_LIMIT = 4;

export interface OciN8nProps {
  /** Resource name prefix, e.g. `data-sync-prod`; n8n resources are `<prefix>-n8n`. */
  readonly prefix: string;
  readonly context: OciHostContext;
  readonly loadBalancerId: string;
  /** Public base URL of the load balancer (webhook URLs n8n generates). */
  readonly publicUrl: string;
  readonly databaseNsgId: string;
  readonly database: EnvironmentConfig['database'];
  /** Vault secret of the database password. */
  readonly dbPasswordSecretId: string;
  /** Vault secrets of n8nSecretNames(shape), by name. */
  readonly secretIds: Readonly<Record<string, string>>;
  /** Feature flags: which workflows are published. */
  readonly features: FeatureFlags;
  /** Processes (regular or queue mode) and editor access of the environment. */
  readonly shape: N8nShape;
  /** Public URL of this service's API, which workflows call. */
  readonly apiUrl: string;
  /** Path n8n is served under; @default `/n8n/`. */
  readonly pathPrefix?: string;
  /** Image; @default N8N_IMAGE. */
  readonly image?: string;
  /** Image (with Node.js) of main's metrics relay: the runtime image, whose pull the instances' registry secret allows. */
  readonly metricsRelayImage: string;
}

/**
 * n8n capability on OCI: container instances running n8n with its own OCI PostgreSQL database, their
 * database password and secrets read from Vault secrets through `*_FILE` variables (n8n's own, and
 * the start step's for N8N_CREDENTIALS), routed by the runtime's load balancer under its own path. In
 * queue mode, worker instances run the executions and webhook instances get the webhook paths. Main
 * provisions the workflows before `n8n start`. Main's metrics relay posts its /metrics to OCI Monitoring.
 */
export class OciN8n extends Construct {
  readonly database: OciDatabase;
  readonly pathRouteSet: InstanceType<typeof OciLoadBalancerPathRouteSet>;
  readonly url: string;
  /** The main process (editor, API, schedules). */
  readonly host: OciHost;
  readonly hosts: OciHost[] = [];

  constructor(scope: Construct, id: string, props: OciN8nProps) {
    super(scope, id);
    const name = `${props.prefix}-n8n`;
    const pathPrefix = props.pathPrefix ?? '/n8n/';
    const ctx = props.context;
    this.database = new OciDatabase(this, 'database', {
      name,
      compartmentId: ctx.compartmentId,
      subnetId: ctx.subnetId,
      nsgId: props.databaseNsgId,
      passwordSecretId: props.dbPasswordSecretId,
      username: 'n8n',
      sizing: props.database,
    });
    this.url = `${props.publicUrl}${pathPrefix}`;
    const processes = n8nProcesses(props.shape, props.features, props.apiUrl);
    const run = (process: N8nProcess, index: number): OciHost => {
      if (index >= POOL_LIMIT) throw new Error(`OciN8n: at most ${POOL_LIMIT} ${process.role} instances`);
      const hostName = `${n8nProcessName(name, process.role)}${process.role === 'main' ? '' : `-${index}`}`;
      // N8N_CREDENTIALS comes last: main's start step waits for it, so the others are written by then.
      const secrets = [
        ...process.secrets.filter((s) => s !== 'N8N_CREDENTIALS'),
        ...process.secrets.filter((s) => s === 'N8N_CREDENTIALS'),
      ];
      const host = new OciHost(this, process.role === 'main' ? 'host' : `host-${process.role}-${index}`, {
        name: hostName,
        context: ctx,
        hostNumber: HOST_NUMBERS[process.role] + index,
        ocpus: 1,
        memoryGb: 2,
        app: {
          display_name: 'n8n',
          image_url: props.image ?? N8N_IMAGE,
          command: [...process.command],
          environment_variables: {
            ...process.environment,
            ...Object.fromEntries(secrets.map((secret) => [`${secret}_FILE`, `/secrets/${secret}`])),
            N8N_PATH: pathPrefix,
            WEBHOOK_URL: this.url,
            DB_POSTGRESDB_HOST: this.database.host,
            DB_POSTGRESDB_DATABASE: 'postgres',
            DB_POSTGRESDB_USER: 'n8n',
            DB_POSTGRESDB_PASSWORD_FILE: '/secrets/DB_PASSWORD',
            DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED: 'true',
            // The PostgreSQL service's private CA (public content), for the endpoint FQDN in DB_POSTGRESDB_HOST.
            DB_POSTGRESDB_SSL_CA: this.database.serverCa,
          },
          health_checks: [
            {
              health_check_type: 'HTTP',
              path: '/healthz',
              port: N8N_PORT,
              interval_in_seconds: 30,
              failure_threshold: 3,
              initial_delay_in_seconds: N8N_STARTUP_SECONDS,
            },
          ],
        },
        secrets: [
          { file: 'DB_PASSWORD', secretId: props.dbPasswordSecretId },
          ...secrets.map((secret) => ({ file: secret, secretId: props.secretIds[secret] })),
        ],
        // Main exposes the metrics (N8N_METRICS, the queue gauges in queue mode); its relay posts them.
        ...(process.role === 'main'
          ? { metrics: { port: N8N_PORT, catalog: N8N_METRIC_LIST, image: props.metricsRelayImage } }
          : {}),
      });
      this.hosts.push(host);
      return host;
    };
    const missing = processes.flatMap((p) => p.secrets).filter((secret) => !props.secretIds[secret]);
    if (missing.length) throw new Error(`OciN8n: no Vault secret for ${[...new Set(missing)].join(', ')}`);
    const backendSet = (role: 'main' | 'webhook', hosts: readonly OciHost[]) => {
      const set = new OciLoadBalancerBackendSet(this, role === 'main' ? 'backends' : 'backends-webhook', {
        load_balancer_id: props.loadBalancerId,
        name: role === 'main' ? 'n8n' : 'n8n-webhooks',
        policy: 'ROUND_ROBIN',
        health_checker: { protocol: 'HTTP', port: N8N_PORT, url_path: '/healthz', return_code: 200 },
      });
      hosts.forEach(
        (host, i) =>
          new OciLoadBalancerBackend(this, role === 'main' ? 'backend' : `backend-webhook-${i}`, {
            load_balancer_id: props.loadBalancerId,
            backendset_name: set.attr('name'),
            ip_address: host.privateIp,
            port: N8N_PORT,
          }),
      );
      return set;
    };
    this.host = run(processes[0], 0);
    const main = backendSet('main', [this.host]);
    const pools = (role: N8nRole) =>
      processes.filter((p) => p.role === role).flatMap((p) => Array.from({ length: p.instances }, (_, i) => run(p, i)));
    pools('worker');
    const webhookHosts = pools('webhook');
    const webhooks = webhookHosts.length ? backendSet('webhook', webhookHosts) : main;
    const route = (path: string, set: InstanceType<typeof OciLoadBalancerBackendSet>) => ({
      backend_set_name: set.attr('name'),
      path,
      // The longest matching prefix wins, whatever the order (the webhook route lies inside `pathPrefix`).
      path_match_type: { match_type: 'FORCE_LONGEST_PREFIX_MATCH' as const },
    });
    this.pathRouteSet = new OciLoadBalancerPathRouteSet(this, 'routes', {
      load_balancer_id: props.loadBalancerId,
      name: 'n8n',
      // A restricted editor is not routed at all: the gateway has no per-path source allowlist, so only the
      // webhooks and the public API (key-authenticated, what the runtime calls) reach n8n; every other
      // /n8n/ path falls to the runtime's default backend set (404). Operators open the editor from inside
      // the VCN (for example an OCI Bastion session to the instance's private address).
      path_routes:
        props.shape.editor.access === 'public'
          ? [
              ...(webhooks === main ? [] : [route(`${pathPrefix}${WEBHOOK_PATH_PREFIX}/`, webhooks)]),
              route(pathPrefix, main),
            ]
          : [route(`${pathPrefix}${WEBHOOK_PATH_PREFIX}/`, webhooks), route(`${pathPrefix}api/v1/`, main)],
    });
    webhookOutputs(this, this.url);
  }
}
