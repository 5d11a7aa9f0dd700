import { Construct } from 'constructs';
import type { EnvironmentConfig, FeatureFlags, N8nShape } from '@data-sync/config';
import {
  IbmCodeEngineApp,
  IbmCodeEngineConfigMap,
  type IbmCodeEngineEnvVariable,
  IbmCodeEngineSecret,
} from '../providers/ibm';
import { IbmPostgres } from '../database/ibm';
import { N8N_ROLE } from '../database/roles';
import { N8N_IMAGE } from '../shared/n8n-image';
import { n8nProcessName, n8nProcesses, type N8nProcess, type N8nRole } from './processes';
import { N8N_PORT, webhookOutputs } from './provisioning';

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
  /** Processes (regular or queue mode) and editor access of the environment. */
  readonly shape: N8nShape;
  /** Public URL of this service's API; @default none: DATA_SYNC_API_URL comes from the N8N_CREDENTIALS settings. */
  readonly apiUrl?: string;
  /** Image; @default N8N_IMAGE. */
  readonly image?: string;
}

type App = InstanceType<typeof IbmCodeEngineApp>;

/** The Code Engine secret Terraform creates empty and never reads back; filled from Secrets Manager out of band. */
export const IBM_N8N_SECRET = 'n8n-credentials';
/** The database admin's password, in IBM_N8N_SECRET beside the n8nSecretNames(shape). */
const DB_PASSWORD = 'DB_POSTGRESDB_PASSWORD';

/** Who reaches each process's endpoint: main's only the private network where the editor is restricted. */
function visibility(role: N8nRole, shape: N8nShape): 'local' | 'local_private' | 'local_public' {
  // Workers take no requests: no endpoint beyond the project.
  if (role === 'worker') return 'local';
  if (role === 'webhook') return 'local_public';
  return shape.editor.access === 'public' ? 'local_public' : 'local_private';
}

/**
 * n8n capability on IBM Cloud: Code Engine apps with their own Databases for PostgreSQL. Main (one warm
 * instance: it owns schedules and provisioning) and, in queue mode, `n8n worker` apps (no endpoint) and
 * public `n8n webhook` apps the webhook URLs point at. Where the editor is restricted, main's endpoint is
 * private (the IBM Cloud private network, or a VPE): the runtime calls it there. Each process reads
 * exactly its secrets (n8nProcesses) and DB_POSTGRESDB_PASSWORD by key from IBM_N8N_SECRET. Main provisions
 * the workflows before `n8n start`.
 */
export class IbmN8n extends Construct {
  readonly database: IbmPostgres;
  /** The main process (editor, API, schedules); its endpoint is private where the editor is restricted. */
  readonly app: App;
  readonly apps: Partial<Record<N8nRole, App>> = {};
  /** Public base URL of the webhooks (the webhook apps in queue mode, else main). */
  readonly webhookBaseUrl: string;

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
    const secret = new IbmCodeEngineSecret(
      this,
      'secret',
      { project_id: props.projectId, name: IBM_N8N_SECRET, format: 'generic', data: {} },
      { lifecycle: { ignoreChanges: ['data'] } },
    );
    const database = {
      DB_POSTGRESDB_HOST: this.database.endpoint.host,
      DB_POSTGRESDB_PORT: this.database.endpoint.port,
      // Its own role and database, created out of band (the admin stays with operators).
      DB_POSTGRESDB_DATABASE: 'n8n',
      DB_POSTGRESDB_USER: N8N_ROLE,
      DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED: 'true',
      DB_POSTGRESDB_SSL_CA: this.database.serverCaPem,
    };
    const processes = n8nProcesses(props.shape, props.features, props.apiUrl);
    const run = (process: N8nProcess, webhookUrl?: string): App => {
      const suffix = process.role === 'main' ? '' : `-${process.role}`;
      const config = new IbmCodeEngineConfigMap(this, `config${suffix}`, {
        project_id: props.projectId,
        name: n8nProcessName('n8n', process.role) + '-config',
        data: { ...process.environment, ...database, ...(webhookUrl ? { WEBHOOK_URL: `${webhookUrl}/` } : {}) },
      });
      const env: IbmCodeEngineEnvVariable[] = [
        { type: 'config_map_full_reference', reference: config.attr('name') },
        ...[...process.secrets, DB_PASSWORD].map((key) => ({
          type: 'secret_key_reference' as const,
          name: key,
          reference: secret.attr('name'),
          key,
        })),
      ];
      const app = new IbmCodeEngineApp(this, `app${suffix}`, {
        project_id: props.projectId,
        name: n8nProcessName(name, process.role),
        image_reference: props.image ?? N8N_IMAGE,
        image_port: N8N_PORT,
        run_commands: [...process.command],
        run_arguments: [],
        managed_domain_mappings: visibility(process.role, props.shape),
        run_env_variables: env,
        scale_min_instances: process.instances,
        scale_max_instances: process.instances,
        scale_cpu_limit: '1',
        scale_memory_limit: process.role === 'main' ? '4G' : '2G',
        // Workers answer /healthz there too (QUEUE_HEALTH_CHECK_ACTIVE).
        probe_readiness: [{ type: 'http', path: '/healthz', port: N8N_PORT, interval: 30, failure_threshold: 3 }],
      });
      this.apps[process.role] = app;
      return app;
    };
    const webhook = processes.find((p) => p.role === 'webhook');
    // The webhook app first: main and the workers tell n8n its URL (the editor shows it, Wait nodes resume there).
    const webhookApp = webhook && run(webhook);
    for (const process of processes.filter((p) => p.role !== 'webhook')) run(process, webhookApp?.attr('endpoint'));
    this.app = this.apps.main!;
    this.webhookBaseUrl = (webhookApp ?? this.app).attr('endpoint');
    webhookOutputs(this, this.webhookBaseUrl);
  }
}
