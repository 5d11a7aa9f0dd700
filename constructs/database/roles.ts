/**
 * The database roles every stack gives the runtime (see the README, "Database TLS and roles"). The cloud's
 * admin or master login is used by operators only, out of band, to create these two; no process gets it.
 * Both are created with their passwords from the cloud's secret manager, so no password is in Terraform.
 */

/** The role the runtime's API and workers serve as: DML only, granted by every migration run. */
export const RUNTIME_ROLE = 'data_sync_app';

/** The role that owns the runtime's database and so its tables: the migration step logs in as it (DATABASE_MIGRATION_URL). */
export const OWNER_ROLE = 'data_sync_owner';

/** n8n's own role, owner of its own database, where n8n shares a server with no login of its own (IBM). */
export const N8N_ROLE = 'n8n';

/** How a client checks the server's certificate: the chain and the host name, or (Cloud SQL by IP) the chain only. */
export type VerifyMode = 'verify-full' | 'verify-ca';

export interface PostgresUrlParts {
  /** The role to log in as (its password comes from PGPASSWORD or a password file). */
  readonly user: string;
  /** Host name (or, where the certificate cannot name one, the address) clients dial. */
  readonly host: string;
  /** Port; @default 5432 */
  readonly port?: string | number;
  /** Database to connect to. */
  readonly database: string;
  /** How the server certificate is checked; @default verify-full */
  readonly verify?: VerifyMode;
}

/**
 * A PostgreSQL URL without a password that verifies the server: against DATABASE_CA where the stack sets it
 * (the runtime writes it to a file and adds sslrootcert), else against the system's public roots.
 */
export function postgresUrl(parts: PostgresUrlParts): string {
  return `postgres://${parts.user}@${parts.host}:${parts.port ?? 5432}/${parts.database}?sslmode=${parts.verify ?? 'verify-full'}`;
}
