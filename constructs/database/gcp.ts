import { SqlDatabase } from '@cdktf/provider-google/lib/sql-database';
import { SqlDatabaseInstance } from '@cdktf/provider-google/lib/sql-database-instance';
import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { postgresUrl } from './roles';

export interface GcpDatabaseProps {
  /** Instance name, e.g. `data-sync-prod-db`. */
  readonly name: string;
  /** Region of the instance. */
  readonly region: string;
  /** VPC network id the private IP is allocated in. */
  readonly networkId: string;
  /** The private service connection; the instance cannot get a private IP before it exists. */
  readonly privateServices: ITerraformDependable;
  /** Machine tier, e.g. `db-custom-2-7680`. */
  readonly tier: string;
  /** Initial disk size in GB (grows automatically). */
  readonly diskSizeGb: number;
  /** Regional (HA, a standby in another zone) instead of zonal. */
  readonly highAvailability: boolean;
  /** Deletion protection, both in Terraform and in the Cloud SQL API. */
  readonly deletionProtection: boolean;
  /** Automated backups kept (at least 1). */
  readonly backupRetentionDays: number;
  /** Databases to create on the instance. */
  readonly databases: readonly string[];
  /** PostgreSQL major version; @default POSTGRES_16 */
  readonly version?: string;
}

/**
 * Cloud SQL for PostgreSQL with a private IP only (no public IPv4), TLS required, automated backups
 * and, in production, HA and deletion protection. Storage is encrypted at rest by Google. Database
 * users are created out of band with their password from Secret Manager, so none is in Terraform.
 * The server certificate comes from the instance's own CA (per-instance CA, the default server CA mode)
 * and names no private IP, so clients verify the chain against that CA (verify-ca): a CA dedicated to one
 * instance signs no other server's certificate.
 */
export class GcpDatabase extends Construct {
  readonly instance: SqlDatabaseInstance;
  readonly databases: Readonly<Record<string, SqlDatabase>>;

  constructor(scope: Construct, id: string, props: GcpDatabaseProps) {
    super(scope, id);
    this.instance = new SqlDatabaseInstance(this, 'instance', {
      name: props.name,
      region: props.region,
      databaseVersion: props.version ?? 'POSTGRES_16',
      deletionProtection: props.deletionProtection,
      settings: {
        tier: props.tier,
        edition: 'ENTERPRISE',
        availabilityType: props.highAvailability ? 'REGIONAL' : 'ZONAL',
        deletionProtectionEnabled: props.deletionProtection,
        diskType: 'PD_SSD',
        diskSize: props.diskSizeGb,
        diskAutoresize: true,
        ipConfiguration: {
          ipv4Enabled: false,
          privateNetwork: props.networkId,
          sslMode: 'ENCRYPTED_ONLY',
          // Pinned: verify-ca is as strong as a name check only while the CA signs this instance alone.
          serverCaMode: 'GOOGLE_MANAGED_INTERNAL_CA',
          enablePrivatePathForGoogleCloudServices: true,
        },
        backupConfiguration: {
          enabled: true,
          startTime: '03:00',
          pointInTimeRecoveryEnabled: props.highAvailability,
          transactionLogRetentionDays: Math.min(7, Math.max(1, props.backupRetentionDays)),
          backupRetentionSettings: { retainedBackups: Math.max(1, props.backupRetentionDays), retentionUnit: 'COUNT' },
        },
        insightsConfig: { queryInsightsEnabled: true },
        maintenanceWindow: { day: 7, hour: 4, updateTrack: 'stable' },
      },
      dependsOn: [props.privateServices],
    });
    this.databases = Object.fromEntries(
      props.databases.map((db) => [db, new SqlDatabase(this, `db-${db}`, { name: db, instance: this.instance.name })]),
    );
  }

  /** PEM of the instance's server CA (public; Cloud SQL rotates it only when asked). */
  get serverCa(): string {
    return this.instance.serverCaCert.get(0).cert;
  }

  /** URL of `user` on `database` by private IP, without a password, verifying the chain against serverCa. */
  urlFor(user: string, database: string): string {
    return postgresUrl({ user, host: this.instance.privateIpAddress, database, verify: 'verify-ca' });
  }
}
