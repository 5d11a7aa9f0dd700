/** The database rules of test/support/policies/database.ts; the synthesized stacks pass them in security-table.test.ts. */
import type { Cloud } from '@data-sync/config';
import { type TerraformJson, checkPolicies } from '../support/terraform-checks';

const rule = (json: TerraformJson, cloud: Cloud, id: string) =>
  checkPolicies(json, cloud).filter((p) => p.startsWith(`[${id}]`));
const resource = (r: Record<string, Record<string, unknown>>) => ({ resource: r }) as TerraformJson;
const ecsTask = (environment: { name: string; value: string }[]) => ({
  container_definitions: JSON.stringify([{ name: 'app', image: 'runtime:1', environment }]),
});

describe('database connections verify the server', () => {
  const tls = (json: TerraformJson, cloud: Cloud = 'aws') => rule(json, cloud, 'common/db-tls-verified');

  test.each(['no-verify', 'require', 'prefer', 'disable', 'allow'])(
    'a runtime URL with sslmode=%s is refused',
    (mode) => {
      const json = resource({
        aws_ecs_task_definition: {
          api: ecsTask([{ name: 'DATABASE_URL', value: `postgres://app@db/x?sslmode=${mode}` }]),
        },
      });
      expect(tls(json)).toEqual([
        `[common/db-tls-verified] aws_ecs_task_definition.api sets a database URL with sslmode=${mode}`,
      ]);
    },
  );

  test('a runtime URL with no sslmode at all (pg then does not encrypt) is refused; verify-full and verify-ca pass', () => {
    const json = resource({
      aws_lambda_function: { worker: { environment: { variables: { DATABASE_MIGRATION_URL: 'postgres://o@db/x' } } } },
      google_cloud_run_v2_service: {
        ok: {
          template: {
            containers: [{ env: [{ name: 'DATABASE_URL', value: 'postgres://a@10.0.0.3/x?sslmode=verify-ca' }] }],
          },
        },
      },
      oci_container_instances_container_instance: {
        ok: { containers: [{ environment_variables: { DATABASE_URL: 'postgres://a@db/x?sslmode=verify-full' } }] },
      },
    });
    expect(tls(json)).toEqual([
      '[common/db-tls-verified] aws_lambda_function.worker sets DATABASE_MIGRATION_URL without sslmode=verify-full or verify-ca',
    ]);
  });

  test('n8n told not to verify is refused in every environment shape; told to verify passes', () => {
    const json = resource({
      aws_ecs_task_definition: { n8n: ecsTask([{ name: 'DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED', value: 'false' }]) },
      ibm_code_engine_config_map: { n8n: { data: { DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED: 'false' } } },
      azurerm_container_app: {
        app: { template: { container: [{ env: [{ name: 'NODE_TLS_REJECT_UNAUTHORIZED', value: '0' }] }] } },
        ok: { template: { container: [{ env: [{ name: 'DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED', value: 'true' }] }] } },
      },
    });
    expect(tls(json)).toEqual([
      '[common/db-tls-verified] aws_ecs_task_definition.n8n sets DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED=false',
      '[common/db-tls-verified] ibm_code_engine_config_map.n8n sets DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED=false',
      '[common/db-tls-verified] azurerm_container_app.app sets NODE_TLS_REJECT_UNAUTHORIZED=0',
    ]);
  });

  test("no service is excepted: GCP's n8n told not to verify, or over TCP without TLS, is refused; on Cloud SQL's proxy socket it passes", () => {
    const n8n = (env: { name: string; value: string }[]) => ({ template: { containers: [{ env }] } });
    const json = resource({
      google_cloud_run_v2_service: {
        n8n_service_1: n8n([
          { name: 'DB_POSTGRESDB_HOST', value: '${google_sql_database_instance.n8n.private_ip_address}' },
          { name: 'DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED', value: 'false' },
        ]),
        n8n_service_2: n8n([
          { name: 'DB_POSTGRESDB_HOST', value: '/cloudsql/${google_sql_database_instance.n8n.connection_name}' },
        ]),
        // TLS off over TCP: nothing to verify, nothing encrypted.
        n8n_service_3: n8n([{ name: 'DB_POSTGRESDB_HOST', value: '10.0.0.7' }]),
        n8n_service_4: n8n([
          { name: 'DB_POSTGRESDB_HOST', value: '10.0.0.7' },
          { name: 'DB_POSTGRESDB_SSL_ENABLED', value: 'true' },
        ]),
      },
    });
    expect(tls(json, 'gcp')).toEqual([
      '[common/db-tls-verified] google_cloud_run_v2_service.n8n_service_1 sets DB_POSTGRESDB_HOST over TCP without DB_POSTGRESDB_SSL_ENABLED=true',
      '[common/db-tls-verified] google_cloud_run_v2_service.n8n_service_1 sets DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED=false',
      '[common/db-tls-verified] google_cloud_run_v2_service.n8n_service_3 sets DB_POSTGRESDB_HOST over TCP without DB_POSTGRESDB_SSL_ENABLED=true',
    ]);
  });
});

describe('the runtime does not log in as the master user', () => {
  const roles = (json: TerraformJson, cloud: Cloud) => rule(json, cloud, 'common/runtime-not-db-admin');

  test.each<[Cloud, Record<string, Record<string, unknown>>, string]>([
    ['aws', { aws_db_instance: { db: { username: 'datasync' } } }, 'datasync'],
    [
      'azure',
      { azurerm_postgresql_flexible_server: { s: { administrator_login: 'datasync_admin' } } },
      'datasync_admin',
    ],
    ['oci', { oci_psql_db_system: { db: { credentials: { username: 'datasync' } } } }, 'datasync'],
    ['gcp', { google_sql_database_instance: { db: {} } }, 'postgres'],
    ['ibm', { ibm_database: { db: {} } }, 'admin'],
  ])(
    '%s: a DATABASE_URL naming the admin login or the owner role is refused, the serving role passes',
    (cloud, server, admin) => {
      const withUser = (user: string) =>
        resource({
          ...server,
          aws_ecs_task_definition: {
            api: ecsTask([
              { name: 'DATABASE_URL', value: `postgres://${user}@\${db.host}:5432/x?sslmode=verify-full` },
            ]),
          },
        });
      expect(roles(withUser(admin), cloud)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^\\[common/runtime-not-db-admin\\] aws_ecs_task_definition\\.api: DATABASE_URL logs in as ${admin}, the admin login of `,
          ),
        ),
      ]);
      expect(roles(withUser('data_sync_app'), cloud)).toEqual([]);
      // The owner role has DDL rights: it is the migrations' (DATABASE_MIGRATION_URL), never the serving URL's.
      expect(roles(withUser('data_sync_owner'), cloud)).toEqual([
        `[common/runtime-not-db-admin] aws_ecs_task_definition.api: DATABASE_URL logs in as data_sync_owner, the owner role (DDL rights: only DATABASE_MIGRATION_URL names it)`,
      ]);
    },
  );

  test('PGUSER naming the admin is refused, and a URL hidden in a secret or file (no login to check) is reported', () => {
    const server = { aws_db_instance: { db: { username: 'datasync' } } };
    expect(
      roles(
        resource({
          ...server,
          aws_ecs_task_definition: {
            api: ecsTask([
              { name: 'DATABASE_URL', value: 'postgres://db/x?sslmode=verify-full' },
              { name: 'PGUSER', value: 'datasync' },
            ]),
          },
        }),
        'aws',
      ),
    ).toEqual([
      '[common/runtime-not-db-admin] aws_ecs_task_definition.api: DATABASE_URL names no login (postgres://db/x?sslmode=verify-full)',
      '[common/runtime-not-db-admin] aws_ecs_task_definition.api: PGUSER logs in as datasync, the admin login of aws_db_instance.db',
    ]);
    const hidden = resource({
      ...server,
      aws_ecs_task_definition: {
        api: { container_definitions: JSON.stringify([{ secrets: [{ name: 'DATABASE_URL', valueFrom: 'arn:s' }] }]) },
      },
      oci_container_instances_container_instance: {
        api: { containers: [{ environment_variables: { DATABASE_URL_FILE: '/secrets/DATABASE_URL' } }] },
      },
    });
    expect(roles(hidden, 'aws')).toEqual([
      '[common/runtime-not-db-admin] aws_ecs_task_definition.api: DATABASE_URL comes from a secret, so its login cannot be checked',
      '[common/runtime-not-db-admin] oci_container_instances_container_instance.api: DATABASE_URL comes from a file, so its login cannot be checked',
    ]);
  });
});
