import { CloudRunV2Service } from '@cdktf/provider-google/lib/cloud-run-v2-service';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { ServiceAccount } from '@cdktf/provider-google/lib/service-account';
import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';
import { GcpDatabase, type GcpDatabaseProps } from '../database/gcp';
import type { FeatureFlags, N8nShape } from '@data-sync/config';
import { N8N_IMAGE } from '../shared/n8n-image';
import { GCP_RUNTIME_PORT, GMP_SIDECAR_IMAGE } from '../runtime/gcp';
import type { GcpSecrets } from '../secrets/gcp';
import { n8nProcessName, n8nProcesses, n8nSecretNames, type N8nProcess, type N8nRole } from './processes';
import { N8N_DB_PASSWORD_SECRET, N8N_PORT, N8N_STARTUP_SECONDS, webhookOutputs } from './provisioning';

/** The Cloud SQL volume's name and where Cloud Run mounts it (the only path it allows). */
const CLOUD_SQL_VOLUME = 'cloudsql';
const CLOUD_SQL_MOUNT = '/cloudsql';

export interface GcpN8nProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** Short prefix for the service account id, e.g. `ds-prod`. */
  readonly accountPrefix: string;
  /** Region of the service and its database. */
  readonly region: string;
  /** Secrets holding n8nSecretNames(shape) and N8N_DB_PASSWORD_SECRET (filled out of band). */
  readonly secrets: GcpSecrets;
  /** Its own Cloud SQL instance: everything but name and databases. */
  readonly database: Omit<GcpDatabaseProps, 'name' | 'databases' | 'region'>;
  /** VPC network and subnetwork for direct VPC egress: the private paths to the database's proxy and to Redis. */
  readonly network: { readonly networkId: string; readonly subnetworkId: string };
  /** Feature flags: which workflows are published. */
  readonly features: FeatureFlags;
  /** Processes (regular or queue mode) and editor access of the environment. */
  readonly shape: N8nShape;
  /** The project id: main's metrics writer grant. */
  readonly project: string;
  /** The project's number: Cloud Run's deterministic URLs (`https://<name>-<number>.<region>.run.app`). */
  readonly projectNumber: string;
  /** Public URL of this service's API; @default none: DATA_SYNC_API_URL comes from the N8N_CREDENTIALS settings. */
  readonly apiUrl?: string;
  /** Image; @default N8N_IMAGE. */
  readonly image?: string;
}

/**
 * n8n on Cloud Run with its own Cloud SQL instance: main (one instance: it owns schedules and
 * provisioning) and, in queue mode, worker services (internal ingress, no invoker: nothing calls them)
 * and public webhook services the webhook URLs point at. Where the editor is restricted (staging, prod),
 * main admits only Google identities with the invoker role: the editor's members and the runtime. Its
 * encryption key, owner, credential values, Redis and database password come from Secret Manager; the
 * database user `n8n` is created out of band with that password. Each process reaches the database through
 * Cloud Run's Cloud SQL connection (a Unix socket; the platform's Auth Proxy verifies the instance). Main
 * provisions the workflows before `n8n start` (constructs/n8n/provisioning.ts).
 */
export class GcpN8n extends Construct {
  /** The main process (editor, API, schedules). */
  readonly service: CloudRunV2Service;
  readonly services: Partial<Record<N8nRole, CloudRunV2Service>> = {};
  readonly database: GcpDatabase;
  readonly serviceAccount: ServiceAccount;
  /** Public base URL of the webhooks (the webhook processes in queue mode, else main). */
  readonly webhookBaseUrl: string;

  constructor(scope: Construct, id: string, props: GcpN8nProps) {
    super(scope, id);
    this.database = new GcpDatabase(this, 'database', {
      ...props.database,
      name: `${props.prefix}-n8n-db`,
      region: props.region,
      databases: ['n8n'],
    });
    this.serviceAccount = new ServiceAccount(this, 'identity', {
      accountId: `${props.accountPrefix}-n8n`,
      displayName: `${props.prefix} n8n`,
    });
    const grants = props.secrets.grantAccess('n8n', `serviceAccount:${this.serviceAccount.email}`, [
      ...n8nSecretNames(props.shape),
      N8N_DB_PASSWORD_SECRET,
    ]);
    const secret = (name: string) => ({
      secretKeyRef: { secret: props.secrets.secrets[name].secretId, version: 'latest' },
    });
    const processes = n8nProcesses(props.shape, props.features, props.apiUrl);
    const serviceName = (role: N8nRole) => n8nProcessName(`${props.prefix}-n8n`, role);
    const webhookRole: N8nRole = processes.some((p) => p.role === 'webhook') ? 'webhook' : 'main';
    // Deterministic: the webhook service's own URI in its environment would be a cycle.
    this.webhookBaseUrl = `https://${serviceName(webhookRole)}-${props.projectNumber}.${props.region}.run.app`;
    // Main's /metrics go to Managed Prometheus through Google's sidecar, which scrapes :8080/metrics: main listens there.
    const metricWriter = new ProjectIamMember(this, 'metric-writer', {
      project: props.project,
      role: 'roles/monitoring.metricWriter',
      member: `serviceAccount:${this.serviceAccount.email}`,
    });
    // Cloud SQL has no per-instance IAM policy: the project grant is conditioned on n8n's own instance.
    const sqlClient = new ProjectIamMember(this, 'sql-client', {
      project: props.project,
      role: 'roles/cloudsql.client',
      member: `serviceAccount:${this.serviceAccount.email}`,
      condition: {
        title: 'n8n-database-only',
        description: "Connect to n8n's own Cloud SQL instance only",
        expression: `resource.type == "sqladmin.googleapis.com/Instance" && resource.name == "projects/${props.project}/instances/${this.database.instance.name}"`,
      },
    });
    // Cloud Run's Cloud SQL volume runs the Auth Proxy for the instance: mTLS to the instance it names, checked by
    // its identity (no host name to match), and a Unix socket at /cloudsql/<connection name> inside the container.
    const socketDir = `${CLOUD_SQL_MOUNT}/${this.database.instance.connectionName}`;
    const run = (process: N8nProcess): CloudRunV2Service => {
      const port = process.role === 'main' ? GCP_RUNTIME_PORT : N8N_PORT;
      const service = new CloudRunV2Service(this, process.role === 'main' ? 'service' : `service-${process.role}`, {
        name: serviceName(process.role),
        location: props.region,
        // Workers take no requests; Cloud Run still needs their health port, which nothing outside reaches.
        ingress: process.role === 'worker' ? 'INGRESS_TRAFFIC_INTERNAL_ONLY' : 'INGRESS_TRAFFIC_ALL',
        deletionProtection: props.database.deletionProtection,
        template: {
          serviceAccount: this.serviceAccount.email,
          scaling: { minInstanceCount: process.instances, maxInstanceCount: process.instances },
          volumes: [
            { name: CLOUD_SQL_VOLUME, cloudSqlInstance: { instances: [this.database.instance.connectionName] } },
          ],
          vpcAccess: {
            egress: 'PRIVATE_RANGES_ONLY',
            networkInterfaces: [{ network: props.network.networkId, subnetwork: props.network.subnetworkId }],
          },
          containers: [
            {
              name: 'n8n',
              image: props.image ?? N8N_IMAGE,
              command: [...process.command],
              ports: { containerPort: port },
              volumeMounts: [{ name: CLOUD_SQL_VOLUME, mountPath: CLOUD_SQL_MOUNT }],
              resources: { limits: { cpu: '1', memory: '2048Mi' }, cpuIdle: false },
              env: [
                // The socket is the proxy's, which speaks plain PostgreSQL: n8n asking it for TLS would be refused.
                ...Object.entries({ ...process.environment, N8N_PORT: String(port) })
                  .filter(([name]) => name !== 'DB_POSTGRESDB_SSL_ENABLED')
                  .map(([name, value]) => ({ name, value })),
                { name: 'WEBHOOK_URL', value: `${this.webhookBaseUrl}/` },
                // pg takes a host starting with '/' as the directory of the socket `.s.PGSQL.<port>`.
                { name: 'DB_POSTGRESDB_HOST', value: socketDir },
                { name: 'DB_POSTGRESDB_PORT', value: '5432' },
                { name: 'DB_POSTGRESDB_DATABASE', value: 'n8n' },
                { name: 'DB_POSTGRESDB_USER', value: 'n8n' },
                { name: 'DB_POSTGRESDB_PASSWORD', valueSource: secret(N8N_DB_PASSWORD_SECRET) },
                ...process.secrets.map((name) => ({ name, valueSource: secret(name) })),
                { name: 'N8N_PROTOCOL', value: 'https' },
                { name: 'N8N_PROXY_HOPS', value: '1' },
              ],
              // Main runs n8n's CLI once per workflow before the server listens (2-3 minutes).
              startupProbe: {
                httpGet: { path: '/healthz', port },
                periodSeconds: 10,
                failureThreshold: N8N_STARTUP_SECONDS / 10,
              },
            },
            ...(process.role === 'main'
              ? [
                  {
                    name: 'metrics',
                    image: GMP_SIDECAR_IMAGE,
                    dependsOn: ['n8n'],
                    resources: { limits: { cpu: '0.5', memory: '512Mi' } },
                  },
                ]
              : []),
          ],
        },
        dependsOn: process.role === 'main' ? [...grants, sqlClient, metricWriter] : [...grants, sqlClient],
      });
      this.services[process.role] = service;
      return service;
    };
    this.service = run(processes[0]);
    for (const process of processes.slice(1)) run(process);
    // Webhook services serve only /webhook/*: callers have no Google credentials, so anyone may invoke them.
    const webhooks = this.services.webhook;
    if (webhooks) this.invoker('public-invoker-webhook', webhooks, 'allUsers');
    // Main is the editor and n8n's API. Restricted, it admits only Google identities that hold the invoker role
    // (the editor's members, through `gcloud run services proxy`, and the runtime, grantInvoker): its ingress
    // stays ALL because IAM, not the network, is the guard.
    if (props.shape.editor.access === 'public') this.invoker('public-invoker', this.service, 'allUsers');
    else props.shape.editor.members.forEach((member, i) => this.invoker(`editor-invoker-${i}`, this.service, member));
    new TerraformOutput(this, 'url', { value: this.service.uri, description: 'n8n URL' }).overrideLogicalId('n8n_url');
    webhookOutputs(this, this.webhookBaseUrl);
  }

  /** Lets `member` (e.g. `serviceAccount:<runtime>`) call main: its ID token for main's URL is then admitted. */
  grantInvoker(id: string, member: string): CloudRunV2ServiceIamMember {
    return this.invoker(id, this.service, member);
  }

  private invoker(id: string, service: CloudRunV2Service, member: string): CloudRunV2ServiceIamMember {
    return new CloudRunV2ServiceIamMember(this, id, {
      name: service.name,
      location: service.location,
      role: 'roles/run.invoker',
      member,
    });
  }
}
