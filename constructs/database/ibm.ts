import { Construct } from 'constructs';
import type { EnvironmentConfig } from '@data-sync/config';
import { Fn } from 'cdktf';
import { IbmDatabase } from '../providers/ibm';
import { postgresUrl } from './roles';

export interface IbmDatabaseProps {
  /** Instance name, e.g. `data-sync-prod` or `data-sync-prod-n8n`. */
  readonly name: string;
  readonly region: string;
  readonly resourceGroupId: string;
  /** Root key CRN: disk and backups are encrypted with it (the stack authorizes the service to read it). */
  readonly rootKeyCrn: string;
  readonly sizing: EnvironmentConfig['database'];
  /** PostgreSQL major version; @default `16` */
  readonly version?: string;
}

/**
 * Database capability on IBM Cloud: Databases for PostgreSQL on private endpoints only, disk and
 * backups encrypted with the stack's Key Protect root key. The service always spreads members over
 * zones; prod gets 3 members, other environments the minimum of 2. The admin password is not
 * in the configuration: set it out of band (`ibmcloud cdb deployment-user-password`). The server
 * certificate comes from the deployment's own self-signed CA (connectionstrings[0].certbase64, public) for
 * the private endpoint's host name: clients verify it fully against that CA.
 */
export class IbmPostgres extends Construct {
  readonly database: InstanceType<typeof IbmDatabase>;

  constructor(scope: Construct, id: string, props: IbmDatabaseProps) {
    super(scope, id);
    const members = props.sizing.multiAz ? 3 : 2;
    this.database = new IbmDatabase(this, 'db', {
      name: props.name,
      plan: 'standard',
      location: props.region,
      service: 'databases-for-postgresql',
      version: props.version ?? '16',
      resource_group_id: props.resourceGroupId,
      service_endpoints: 'private',
      key_protect_key: props.rootKeyCrn,
      backup_encryption_key_crn: props.rootKeyCrn,
      group: [
        {
          group_id: 'member',
          members: { allocation_count: members },
          memory: { allocation_mb: 4096 * members },
          disk: { allocation_mb: props.sizing.allocatedStorageGb * 1024 * members },
        },
      ],
    });
  }

  /** The private endpoint's host name and port. */
  get endpoint(): { readonly host: string; readonly port: string } {
    return {
      host: this.database.getStringAttribute('connectionstrings[0].hosts[0].hostname'),
      port: this.database.getStringAttribute('connectionstrings[0].hosts[0].port'),
    };
  }

  /** The deployment's CA as IBM gives it: base64 of the PEM (DATABASE_CA accepts it as it is). */
  get serverCaBase64(): string {
    return this.database.getStringAttribute('connectionstrings[0].certbase64');
  }

  /** The deployment's CA as PEM (n8n takes PEM only). */
  get serverCaPem(): string {
    return Fn.base64decode(this.serverCaBase64);
  }

  /** URL of `user` on `database` without a password (PGPASSWORD), verify-full against the deployment's CA. */
  urlFor(user: string, database: string): string {
    return postgresUrl({ user, ...this.endpoint, database });
  }
}
