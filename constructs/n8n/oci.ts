import { Construct } from 'constructs';
import type { EnvironmentConfig, FeatureFlags, N8nShape } from '@data-sync/config';
import { WEBHOOK_PATH_PREFIX } from '@data-sync/n8n/webhooks';
import { OciLoadBalancerBackend, OciLoadBalancerBackendSet, OciLoadBalancerPathRouteSet } from '../providers/oci';
import { OciDatabase } from '../database/oci';
import { OciHost, type OciHostContext } from '../runtime/oci';
import { N8N_IMAGE } from '../shared/n8n-image';
import { N8N_PORT, N8N_PROCESS_SECRETS, n8nStart, webhookOutputs, N8N_STARTUP_SECONDS } from './provisioning';

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
  /** Vault secrets of N8N_PROCESS_SECRETS, by name. */
  readonly secretIds: Readonly<Record<(typeof N8N_PROCESS_SECRETS)[number], string>>;
  /** Feature flags: which workflows are published. */
  readonly features: FeatureFlags;
  /** Editor access of the environment (OCI runs n8n in regular mode: its processes are not split here). */
  readonly shape: N8nShape;
  /** Public URL of this service's API, which workflows call. */
  readonly apiUrl: string;
  /** Path n8n is served under; @default `/n8n/`. */
  readonly pathPrefix?: string;
  /** Image; @default N8N_IMAGE. */
  readonly image?: string;
}

/**
 * n8n capability on OCI: a container instance running n8n with its own OCI PostgreSQL database, its
 * database password and N8N_PROCESS_SECRETS read from Vault secrets through `*_FILE` variables
 * (n8n's own, and the start step's for N8N_CREDENTIALS), routed by the runtime's load balancer under
 * its own path. The container provisions the workflows before `n8n start`.
 */
export class OciN8n extends Construct {
  readonly database: OciDatabase;
  readonly pathRouteSet: InstanceType<typeof OciLoadBalancerPathRouteSet>;
  readonly url: string;
  readonly host: OciHost;

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
    const start = n8nStart(props.features, props.apiUrl);
    const host = (this.host = new OciHost(this, 'host', {
      name,
      context: ctx,
      hostNumber: 50,
      ocpus: 1,
      memoryGb: 2,
      app: {
        display_name: 'n8n',
        image_url: props.image ?? N8N_IMAGE,
        command: [...start.command],
        environment_variables: {
          ...start.environment,
          ...Object.fromEntries(N8N_PROCESS_SECRETS.map((name) => [`${name}_FILE`, `/secrets/${name}`])),
          N8N_PATH: pathPrefix,
          WEBHOOK_URL: this.url,
          DB_POSTGRESDB_HOST: this.database.host,
          DB_POSTGRESDB_DATABASE: 'postgres',
          DB_POSTGRESDB_USER: 'n8n',
          DB_POSTGRESDB_PASSWORD_FILE: '/secrets/DB_PASSWORD',
          DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED: 'false',
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
        // N8N_CREDENTIALS comes last: the start step waits for it, so the others are written by then.
        ...N8N_PROCESS_SECRETS.map((name) => ({ file: name, secretId: props.secretIds[name] })),
      ],
    }));
    const backends = new OciLoadBalancerBackendSet(this, 'backends', {
      load_balancer_id: props.loadBalancerId,
      name: 'n8n',
      policy: 'ROUND_ROBIN',
      health_checker: { protocol: 'HTTP', port: N8N_PORT, url_path: '/healthz', return_code: 200 },
    });
    new OciLoadBalancerBackend(this, 'backend', {
      load_balancer_id: props.loadBalancerId,
      backendset_name: backends.attr('name'),
      ip_address: host.privateIp,
      port: N8N_PORT,
    });
    this.pathRouteSet = new OciLoadBalancerPathRouteSet(this, 'routes', {
      load_balancer_id: props.loadBalancerId,
      name: 'n8n',
      // A restricted editor is not routed at all: the gateway has no per-path source allowlist, so only the
      // webhooks and the public API (key-authenticated, what the runtime calls) reach n8n; every other
      // /n8n/ path falls to the runtime's default backend set (404). Operators open the editor from inside
      // the VCN (for example an OCI Bastion session to the instance's private address).
      path_routes: (props.shape.editor.access === 'public'
        ? [pathPrefix]
        : [`${pathPrefix}${WEBHOOK_PATH_PREFIX}/`, `${pathPrefix}api/v1/`]
      ).map((path) => ({
        backend_set_name: backends.attr('name'),
        path,
        path_match_type: { match_type: 'PREFIX_MATCH' },
      })),
    });
    webhookOutputs(this, this.url);
  }
}
