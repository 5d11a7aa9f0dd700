import { Construct } from 'constructs';
import type { EnvironmentConfig, FeatureFlags } from '@data-sync/config';
import { IbmCodeEngineApp, IbmCodeEngineConfigMap, IbmCodeEngineSecret } from '../providers/ibm';
import { IbmPostgres } from '../database/ibm';
import { N8N_ROLE } from '../database/roles';
import { envFrom } from '../runtime/ibm';
import { N8N_IMAGE } from '../shared/n8n-image';
import { N8N_PORT, n8nStart, webhookOutputs } from './provisioning';

export interface IbmN8nProps {
  /** Resource name prefix, e.g. `data-sync-prod`; n8n resources are `<prefix>-n8n`. */
  readonly prefix: string;
  readonly projectId: string;
  readonly region: string;
  readonly resourceGroupId: string;
  readonly rootKeyCrn: string;
  readonly database: EnvironmentConfig['database'];
  /** Feature flags: which workflows are published. */
  readonly features: FeatureFlags;
  /** Public URL of this service's API; @default none: DATA_SYNC_API_URL comes from the N8N_CREDENTIALS settings. */
  readonly apiUrl?: string;
  /** Image; @default N8N_IMAGE. */
  readonly image?: string;
}

/**
 * n8n capability on IBM Cloud: a Code Engine app running n8n (one warm instance) with its own
 * Databases for PostgreSQL; N8N_PROCESS_SECRETS (encryption key, owner, credential values) and
 * DB_POSTGRESDB_PASSWORD come from a Code Engine secret that Terraform creates empty and never reads
 * back (filled from Secrets Manager out of band). The app provisions the workflows before `n8n start`.
 */
export class IbmN8n extends Construct {
  readonly database: IbmPostgres;
  readonly app: InstanceType<typeof IbmCodeEngineApp>;

  constructor(scope: Construct, id: string, props: IbmN8nProps) {
    super(scope, id);
    const name = `${props.prefix}-n8n`;
    this.database = new IbmPostgres(this, 'database', {
      name,
      region: props.region,
      resourceGroupId: props.resourceGroupId,
      rootKeyCrn: props.rootKeyCrn,
      sizing: props.database,
    });
    const start = n8nStart(props.features, props.apiUrl);
    const config = new IbmCodeEngineConfigMap(this, 'config', {
      project_id: props.projectId,
      name: 'n8n-config',
      data: {
        ...start.environment,
        DB_POSTGRESDB_HOST: this.database.endpoint.host,
        DB_POSTGRESDB_PORT: this.database.endpoint.port,
        // Its own role and database, created out of band (the admin stays with operators).
        DB_POSTGRESDB_DATABASE: 'n8n',
        DB_POSTGRESDB_USER: N8N_ROLE,
        DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED: 'true',
        DB_POSTGRESDB_SSL_CA: this.database.serverCaPem,
      },
    });
    const secret = new IbmCodeEngineSecret(
      this,
      'secret',
      { project_id: props.projectId, name: 'n8n-credentials', format: 'generic', data: {} },
      { lifecycle: { ignoreChanges: ['data'] } },
    );
    this.app = new IbmCodeEngineApp(this, 'app', {
      project_id: props.projectId,
      name,
      image_reference: props.image ?? N8N_IMAGE,
      image_port: N8N_PORT,
      run_commands: [...start.command],
      run_arguments: [],
      managed_domain_mappings: 'local_public',
      run_env_variables: envFrom(config.attr('name'), secret.attr('name')),
      scale_min_instances: 1,
      scale_max_instances: 1,
      scale_cpu_limit: '1',
      scale_memory_limit: '4G',
      probe_readiness: [{ type: 'http', path: '/healthz', port: N8N_PORT, interval: 30, failure_threshold: 3 }],
    });
    webhookOutputs(this, this.app.attr('endpoint'));
  }
}
