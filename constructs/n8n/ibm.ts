import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config';
import { IbmCodeEngineApp, IbmCodeEngineConfigMap, IbmCodeEngineSecret } from '../generic/ibm';
import { IbmPostgres } from '../database/ibm';
import { envFrom } from '../runtime/ibm';
import { N8N_IMAGE } from '../generic/workload';

export interface IbmN8nProps {
  /** Resource name prefix, e.g. `data-sync-prod`; n8n resources are `<prefix>-n8n`. */
  readonly prefix: string;
  readonly projectId: string;
  readonly region: string;
  readonly resourceGroupId: string;
  readonly rootKeyCrn: string;
  readonly database: EnvironmentConfig['database'];
  readonly image?: string;
}

/**
 * n8n capability on IBM Cloud: a Code Engine app running n8n (one warm instance) with its own
 * Databases for PostgreSQL; N8N_ENCRYPTION_KEY, the basic-auth password and the database password
 * come from a Code Engine secret that Terraform creates empty and never reads back.
 */
export class IbmN8n extends Construct {
  readonly database: IbmPostgres;
  readonly app: InstanceType<typeof IbmCodeEngineApp>;

  constructor(scope: Construct, id: string, props: IbmN8nProps) {
    super(scope, id);
    const name = `${props.prefix}-n8n`;
    this.database = new IbmPostgres(this, 'database', { name, region: props.region, resourceGroupId: props.resourceGroupId, rootKeyCrn: props.rootKeyCrn, sizing: props.database });
    const config = new IbmCodeEngineConfigMap(this, 'config', {
      project_id: props.projectId,
      name: 'n8n-config',
      data: {
        DB_TYPE: 'postgresdb',
        DB_POSTGRESDB_HOST: this.database.database.getStringAttribute('connectionstrings[0].hosts[0].hostname'),
        DB_POSTGRESDB_PORT: this.database.database.getStringAttribute('connectionstrings[0].hosts[0].port'),
        DB_POSTGRESDB_DATABASE: 'ibmclouddb',
        DB_POSTGRESDB_USER: 'admin',
        DB_POSTGRESDB_SSL_ENABLED: 'true',
        DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED: 'false',
        N8N_BASIC_AUTH_ACTIVE: 'true',
        N8N_BASIC_AUTH_USER: 'admin',
        N8N_DIAGNOSTICS_ENABLED: 'false',
        N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
      },
    });
    const secret = new IbmCodeEngineSecret(this, 'secret', { project_id: props.projectId, name: 'n8n-credentials', format: 'generic', data: {} }, { lifecycle: { ignoreChanges: ['data'] } });
    this.app = new IbmCodeEngineApp(this, 'app', {
      project_id: props.projectId,
      name,
      image_reference: props.image ?? N8N_IMAGE,
      image_port: 5678,
      managed_domain_mappings: 'local_public',
      run_env_variables: envFrom(config.attr('name'), secret.attr('name')),
      scale_min_instances: 1,
      scale_max_instances: 1,
      scale_cpu_limit: '1',
      scale_memory_limit: '4G',
      probe_readiness: [{ type: 'http', path: '/healthz', port: 5678, interval: 30, failure_threshold: 3 }],
    });
  }
}
