import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config';
import { OciLoadBalancerBackend, OciLoadBalancerBackendSet, OciLoadBalancerPathRouteSet } from '../generic/oci';
import { OciDatabase } from '../database/oci';
import { OciHost, type OciHostContext } from '../runtime/oci';
import { N8N_IMAGE } from '../generic/workload';

export interface OciN8nProps {
  /** Resource name prefix, e.g. `data-sync-prod`; n8n resources are `<prefix>-n8n`. */
  readonly prefix: string;
  readonly context: OciHostContext;
  readonly loadBalancerId: string;
  /** Public base URL of the load balancer (webhook URLs n8n generates). */
  readonly publicUrl: string;
  readonly databaseNsgId: string;
  readonly database: EnvironmentConfig['database'];
  /** Vault secrets: database password, encryption key, basic-auth password. */
  readonly dbPasswordSecretId: string;
  readonly encryptionKeySecretId: string;
  readonly basicAuthPasswordSecretId: string;
  /** Path n8n is served under; default `/n8n/`. */
  readonly pathPrefix?: string;
  readonly image?: string;
}

/**
 * n8n capability on OCI: a container instance running n8n with its own OCI PostgreSQL database,
 * N8N_ENCRYPTION_KEY, basic-auth password and database password read from Vault secrets through
 * n8n's `*_FILE` variables, routed by the runtime's load balancer under its own path.
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
    const host = (this.host = new OciHost(this, 'host', {
      name,
      context: ctx,
      hostNumber: 50,
      ocpus: 1,
      memoryGb: 2,
      app: {
        display_name: 'n8n',
        image_url: props.image ?? N8N_IMAGE,
        environment_variables: {
          N8N_PATH: pathPrefix,
          WEBHOOK_URL: this.url,
          N8N_DIAGNOSTICS_ENABLED: 'false',
          N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
          N8N_BASIC_AUTH_ACTIVE: 'true',
          N8N_BASIC_AUTH_USER: 'admin',
          N8N_BASIC_AUTH_PASSWORD_FILE: '/secrets/N8N_BASIC_AUTH_PASSWORD',
          N8N_ENCRYPTION_KEY_FILE: '/secrets/N8N_ENCRYPTION_KEY',
          DB_TYPE: 'postgresdb',
          DB_POSTGRESDB_HOST: this.database.host,
          DB_POSTGRESDB_DATABASE: 'postgres',
          DB_POSTGRESDB_USER: 'n8n',
          DB_POSTGRESDB_PASSWORD_FILE: '/secrets/DB_PASSWORD',
          DB_POSTGRESDB_SSL_ENABLED: 'true',
          DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED: 'false',
        },
        health_checks: [{ health_check_type: 'HTTP', path: '/healthz', port: 5678, interval_in_seconds: 30, failure_threshold: 3 }],
      },
      secrets: [
        { file: 'DB_PASSWORD', secretId: props.dbPasswordSecretId },
        { file: 'N8N_ENCRYPTION_KEY', secretId: props.encryptionKeySecretId },
        { file: 'N8N_BASIC_AUTH_PASSWORD', secretId: props.basicAuthPasswordSecretId },
      ],
    }));
    const backends = new OciLoadBalancerBackendSet(this, 'backends', {
      load_balancer_id: props.loadBalancerId,
      name: 'n8n',
      policy: 'ROUND_ROBIN',
      health_checker: { protocol: 'HTTP', port: 5678, url_path: '/healthz', return_code: 200 },
    });
    new OciLoadBalancerBackend(this, 'backend', { load_balancer_id: props.loadBalancerId, backendset_name: backends.attr('name'), ip_address: host.privateIp, port: 5678 });
    this.pathRouteSet = new OciLoadBalancerPathRouteSet(this, 'routes', {
      load_balancer_id: props.loadBalancerId,
      name: 'n8n',
      path_routes: [{ backend_set_name: backends.attr('name'), path: pathPrefix, path_match_type: { match_type: 'PREFIX_MATCH' } }],
    });
  }
}
