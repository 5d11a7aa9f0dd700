/**
 * Database connections as every stack configures them: each runtime and n8n connection verifies the server
 * it reaches (no sslmode that skips the check or the encryption, no switch that turns n8n's or Node's check
 * off, n8n over TCP only with TLS on; over a Unix socket, Cloud SQL's Auth Proxy on GCP, it needs none), and
 * the runtime never serves as the database's admin or master login nor as the owner role: it serves as its
 * own DML-only role (constructs/database/roles.ts). Environment variables are read in every platform's shape.
 */
import { type Block, type TerraformJson, resourcesOf, walk, walkObjects } from '../terraform-checks';
import { OWNER_ROLE } from '../../../constructs/database/roles';
import type { PolicyRule } from '.';

/** A database URL that encrypts without checking whose certificate it is (or does not encrypt). */
const UNVERIFIED_URL = /[?&]sslmode=(disable|allow|prefer|require|no-verify)\b/;
/** Settings that switch certificate verification off, by variable name. */
const UNVERIFIED_SETTING: Readonly<Record<string, string>> = {
  DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED: 'false',
  NODE_TLS_REJECT_UNAUTHORIZED: '0',
};
/** The runtime's connection variables: each must ask for verification itself (pg's default is no TLS at all). */
const RUNTIME_URLS = ['DATABASE_URL', 'DATABASE_MIGRATION_URL'];
const VERIFYING_URL = /[?&]sslmode=verify-(full|ca)\b/;

/** Every `name = value` a resource sets in its environment: maps (Lambda, OCI, IBM config maps) and `{ name, value }` lists. */
function environmentOf(body: Block): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  walk(body, (_path, leaf, key) => {
    if (typeof leaf === 'string' && /^[A-Z][A-Z0-9_]*$/.test(key)) found.push([key, leaf]);
  });
  walkObjects(body, (_path, object) => {
    if (typeof object.name === 'string' && typeof object.value === 'string') found.push([object.name, object.value]);
  });
  return found;
}

/** Ways a resource turns certificate verification off: its URLs and its environment. */
export function unverifiedTls(body: Block): string[] {
  const found = new Set<string>();
  walk(body, (_path, leaf) => {
    if (typeof leaf === 'string' && UNVERIFIED_URL.test(leaf))
      found.add(`a database URL with ${UNVERIFIED_URL.exec(leaf)![0].slice(1)}`);
  });
  const environment = environmentOf(body);
  // n8n encrypts only when told to; a Unix socket (Cloud SQL's proxy on GCP) is local, and the proxy encrypts.
  const tcpHost = environment.find(([name, value]) => name === 'DB_POSTGRESDB_HOST' && !value.startsWith('/'));
  if (tcpHost && !environment.some(([name, value]) => name === 'DB_POSTGRESDB_SSL_ENABLED' && value === 'true'))
    found.add('DB_POSTGRESDB_HOST over TCP without DB_POSTGRESDB_SSL_ENABLED=true');
  for (const [name, value] of environment) {
    if (UNVERIFIED_SETTING[name] !== undefined && value === UNVERIFIED_SETTING[name]) found.add(`${name}=${value}`);
    if (RUNTIME_URLS.includes(name) && !VERIFYING_URL.test(value) && !UNVERIFIED_URL.test(value))
      found.add(`${name} without sslmode=verify-full or verify-ca`);
  }
  return [...found];
}

/** The login of a PostgreSQL URL, when it names one. */
const userOf = (url: string) => /^postgres(?:ql)?:\/\/([^:@/]+)(?::[^@]*)?@/.exec(url)?.[1];

/** The admin or master logins of the stack's database servers, with where each is declared. */
function adminLogins(json: TerraformJson): Map<string, string> {
  const logins = new Map<string, string>();
  const add = (login: unknown, where: string) => {
    if (typeof login === 'string' && !logins.has(login)) logins.set(login, where);
  };
  for (const [name, db] of resourcesOf(json, 'aws_db_instance')) add(db.username, `aws_db_instance.${name}`);
  for (const [name, server] of resourcesOf(json, 'azurerm_postgresql_flexible_server'))
    add(server.administrator_login, `azurerm_postgresql_flexible_server.${name}`);
  for (const [name, db] of resourcesOf(json, 'oci_psql_db_system')) {
    const credentials = [db.credentials].flat()[0] as Block | undefined;
    add(credentials?.username, `oci_psql_db_system.${name}`);
  }
  // Built-in logins: Cloud SQL's `postgres` user and IBM Cloud Databases' `admin`.
  for (const [name] of resourcesOf(json, 'google_sql_database_instance'))
    add('postgres', `google_sql_database_instance.${name}`);
  for (const [name] of resourcesOf(json, 'ibm_database')) add('admin', `ibm_database.${name}`);
  return logins;
}

export const DATABASE_POLICIES: readonly PolicyRule[] = [
  {
    id: 'common/db-tls-verified',
    description:
      'Every database connection verifies the server: no sslmode=disable|allow|prefer|require|no-verify, the runtime URLs ask for verify-full (or verify-ca), no DB_POSTGRESDB_SSL_REJECT_UNAUTHORIZED=false or NODE_TLS_REJECT_UNAUTHORIZED=0',
    check: (json) =>
      Object.entries(json.resource ?? {}).flatMap(([type, byName]) =>
        Object.entries(byName).flatMap(([name, body]) => {
          const address = `${type}.${name}`;
          return unverifiedTls(body).map((what) => `${address} sets ${what}`);
        }),
      ),
  },
  {
    id: 'common/runtime-not-db-admin',
    description:
      "The runtime's DATABASE_URL (and PGUSER) names a login of its own, never the database server's admin or master login nor the owner role the migrations run as, and is set in the configuration (not from a secret or file) so that it can be checked",
    check(json) {
      const admins = adminLogins(json);
      if (admins.size === 0) return [];
      const problems: string[] = [];
      for (const [type, byName] of Object.entries(json.resource ?? {}))
        for (const [name, body] of Object.entries(byName)) {
          const address = `${type}.${name}`;
          for (const [variable, value] of environmentOf(body)) {
            if (variable === 'DATABASE_URL_FILE')
              problems.push(`${address}: DATABASE_URL comes from a file, so its login cannot be checked`);
            if (variable !== 'DATABASE_URL' && variable !== 'PGUSER') continue;
            const user = variable === 'PGUSER' ? value : userOf(value);
            if (variable === 'DATABASE_URL' && !user)
              problems.push(`${address}: DATABASE_URL names no login (${value.slice(0, 60)})`);
            else if (user && admins.has(user))
              problems.push(`${address}: ${variable} logs in as ${user}, the admin login of ${admins.get(user)}`);
            else if (user === OWNER_ROLE)
              problems.push(
                `${address}: ${variable} logs in as ${user}, the owner role (DDL rights: only DATABASE_MIGRATION_URL names it)`,
              );
          }
          // A secret holding the whole URL ({ name, valueFrom | value_source | secret_name }) hides the login.
          walkObjects(body, (_path, object) => {
            if (object.name === 'DATABASE_URL' && object.value === undefined)
              problems.push(`${address}: DATABASE_URL comes from a secret, so its login cannot be checked`);
          });
        }
      return problems;
    },
  },
];
