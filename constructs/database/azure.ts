import { ManagementLock } from '@cdktf/provider-azurerm/lib/management-lock';
import { PostgresqlFlexibleServer } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server';
import { PostgresqlFlexibleServerDatabase } from '@cdktf/provider-azurerm/lib/postgresql-flexible-server-database';
import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { postgresUrl } from './roles';

export interface AzureDatabaseProps {
  /** Server name (globally unique, 3-63 lowercase characters). */
  readonly name: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /** Entra ID tenant for Entra authentication. */
  readonly tenantId: string;
  /** Subnet delegated to Microsoft.DBforPostgreSQL/flexibleServers. */
  readonly delegatedSubnetId: string;
  /** Private DNS zone `*.private.postgres.database.azure.com` linked to the VNet. */
  readonly privateDnsZoneId: string;
  /** The zone's VNet link: the server cannot register before it exists. */
  readonly dnsLink: ITerraformDependable;
  /** SKU, e.g. `GP_Standard_D2ds_v5`. */
  readonly skuName: string;
  /** Storage in GB (rounded up to a size Flexible Server offers). */
  readonly storageGb: number;
  /** Zone-redundant HA (a standby in another zone). */
  readonly highAvailability: boolean;
  /** A CanNotDelete lock on the server (Flexible Server has no deletion-protection flag). */
  readonly deletionProtection: boolean;
  /** Backups kept, days (Flexible Server allows 7-35; smaller values become 7). */
  readonly backupRetentionDays: number;
  /** Administrator password: a sensitive Terraform variable, write-only (never in state). */
  readonly administratorPassword: string;
  /** Databases to create. */
  readonly databases: readonly string[];
}

const STORAGE_MB = [
  32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4193280, 4194304, 8388608, 16777216, 33553408,
];

/**
 * PostgreSQL Flexible Server with VNet integration only (public network access disabled), storage
 * encrypted at rest, Entra ID and password auth, automated backups (geo-redundant and zone-redundant
 * HA in production). The administrator password is write-only, supplied from a sensitive variable.
 * Its certificate chains to public roots (DigiCert Global Root G2, Microsoft RSA Root CA 2017) and names the
 * server's FQDN, so clients verify it fully against the system's trust store, with no CA to ship.
 */
export class AzureDatabase extends Construct {
  readonly server: PostgresqlFlexibleServer;

  constructor(scope: Construct, id: string, props: AzureDatabaseProps) {
    super(scope, id);
    const storageMb = STORAGE_MB.find((mb) => mb >= props.storageGb * 1024) ?? STORAGE_MB[STORAGE_MB.length - 1];
    this.server = new PostgresqlFlexibleServer(this, 'server', {
      name: props.name,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      version: '16',
      skuName: props.skuName,
      storageMb,
      autoGrowEnabled: true,
      zone: '1',
      delegatedSubnetId: props.delegatedSubnetId,
      privateDnsZoneId: props.privateDnsZoneId,
      publicNetworkAccessEnabled: false,
      backupRetentionDays: Math.min(35, Math.max(7, props.backupRetentionDays)),
      geoRedundantBackupEnabled: props.highAvailability,
      highAvailability: props.highAvailability ? { mode: 'ZoneRedundant', standbyAvailabilityZone: '2' } : undefined,
      authentication: { activeDirectoryAuthEnabled: true, passwordAuthEnabled: true, tenantId: props.tenantId },
      administratorLogin: 'datasync_admin',
      administratorPasswordWo: props.administratorPassword,
      administratorPasswordWoVersion: 1,
      maintenanceWindow: { dayOfWeek: 0, startHour: 3, startMinute: 0 },
      dependsOn: [props.dnsLink],
    });
    for (const db of props.databases) {
      new PostgresqlFlexibleServerDatabase(this, `db-${db}`, {
        name: db,
        serverId: this.server.id,
        charset: 'UTF8',
        collation: 'en_US.utf8',
      });
    }
    if (props.deletionProtection) {
      new ManagementLock(this, 'lock', {
        name: `${props.name}-no-delete`,
        scope: this.server.id,
        lockLevel: 'CanNotDelete',
        notes: 'Production database: remove this lock deliberately before deleting',
      });
    }
  }

  /** URL of `user` on `database` without a password, verify-full against the public roots. */
  urlFor(user: string, database: string): string {
    return postgresUrl({ user, host: this.server.fqdn, database });
  }
}
