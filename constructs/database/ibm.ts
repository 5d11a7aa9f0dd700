import { Construct } from 'constructs';
import type { EnvironmentConfig } from '@data-sync/config';
import { IbmDatabase } from '../generic/ibm';

export interface IbmDatabaseProps {
  /** Instance name, e.g. `data-sync-prod` or `data-sync-prod-n8n`. */
  readonly name: string;
  readonly region: string;
  readonly resourceGroupId: string;
  /** Root key CRN: disk and backups are encrypted with it (the stack authorizes the service to read it). */
  readonly rootKeyCrn: string;
  readonly sizing: EnvironmentConfig['database'];
  /** PostgreSQL major version; default `16`. */
  readonly version?: string;
}

/**
 * Database capability on IBM Cloud: Databases for PostgreSQL on private endpoints only, disk and
 * backups encrypted with the stack's Key Protect root key. The service always spreads members over
 * zones; prod gets 3 members, other environments the minimum of 2. The admin password is not
 * in the configuration: set it out of band (`ibmcloud cdb deployment-user-password`).
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
}
