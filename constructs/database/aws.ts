import { TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { DbInstance } from '@cdktf/provider-aws/lib/db-instance';
import { DbParameterGroup } from '@cdktf/provider-aws/lib/db-parameter-group';
import { DbSubnetGroup } from '@cdktf/provider-aws/lib/db-subnet-group';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule';
import type { EnvironmentConfig } from '@data-sync/config';
import { postgresUrl } from './roles';

export interface AwsDatabaseProps {
  /** Name of the instance, e.g. `data-sync-prod` or `data-sync-prod-n8n`. */
  readonly identifier: string;
  /** Database created inside the instance. */
  readonly databaseName: string;
  /** Master user name; its password is generated and kept by RDS in Secrets Manager. */
  readonly username: string;
  /** Sizing and protection from the environment (instance class, storage, multi-AZ, deletion protection, backups). */
  readonly sizing: EnvironmentConfig['database'];
  readonly vpcId: string;
  /** Private subnets (two AZs) the instance lives in. */
  readonly subnetIds: readonly string[];
  /** KMS key ARN for storage and the managed master secret. */
  readonly kmsKeyArn: string;
  /** PostgreSQL major version; @default `16` */
  readonly engineVersion?: string;
  /** The RDS CA that signs the server certificate, pinned so clients know which root to trust; @default `rds-ca-rsa2048-g1` */
  readonly caCertIdentifier?: string;
}

/**
 * Database capability on AWS: RDS PostgreSQL, storage-encrypted with the stack key, private (own
 * subnet group and security group), TLS enforced with a pinned CA, master password managed by RDS in
 * Secrets Manager (and rotated by it: so operators only use it, out of band, to create the stack's roles).
 */
export class AwsDatabase extends Construct {
  readonly instance: DbInstance;
  readonly securityGroup: SecurityGroup;
  /** ARN of the RDS-managed secret holding `{"username","password"}`. */
  readonly masterSecretArn: string;
  readonly port = 5432;
  /** The CA the server certificate chains to (its root is in the region's RDS bundle). */
  readonly caCertIdentifier: string;

  constructor(scope: Construct, id: string, props: AwsDatabaseProps) {
    super(scope, id);
    const engineVersion = props.engineVersion ?? '16';
    this.caCertIdentifier = props.caCertIdentifier ?? 'rds-ca-rsa2048-g1';
    const subnets = new DbSubnetGroup(this, 'subnets', { name: props.identifier, subnetIds: [...props.subnetIds] });
    this.securityGroup = new SecurityGroup(this, 'sg', {
      name: `${props.identifier}-db`,
      description: `PostgreSQL ${props.identifier}: clients only`,
      vpcId: props.vpcId,
    });
    const parameters = new DbParameterGroup(this, 'parameters', {
      name: `${props.identifier}-pg${engineVersion}`,
      family: `postgres${engineVersion}`,
      parameter: [{ name: 'rds.force_ssl', value: '1' }],
    });
    const { sizing } = props;
    this.instance = new DbInstance(this, 'instance', {
      identifier: props.identifier,
      engine: 'postgres',
      engineVersion,
      instanceClass: sizing.instanceClass,
      allocatedStorage: sizing.allocatedStorageGb,
      maxAllocatedStorage: sizing.allocatedStorageGb * 4,
      storageType: 'gp3',
      storageEncrypted: true,
      kmsKeyId: props.kmsKeyArn,
      dbName: props.databaseName,
      username: props.username,
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: props.kmsKeyArn,
      dbSubnetGroupName: subnets.name,
      vpcSecurityGroupIds: [this.securityGroup.id],
      parameterGroupName: parameters.name,
      caCertIdentifier: this.caCertIdentifier,
      publiclyAccessible: false,
      multiAz: sizing.multiAz,
      deletionProtection: sizing.deletionProtection,
      backupRetentionPeriod: sizing.backupRetentionDays,
      skipFinalSnapshot: !sizing.deletionProtection,
      finalSnapshotIdentifier: sizing.deletionProtection ? `${props.identifier}-final` : undefined,
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      // Performance Insights does not exist for the micro and small classes.
      ...(/\.(micro|small)$/.test(sizing.instanceClass)
        ? {}
        : { performanceInsightsEnabled: true, performanceInsightsKmsKeyId: props.kmsKeyArn }),
    });
    this.masterSecretArn = this.instance.masterUserSecret.get(0).secretArn;
  }

  /** Lets a client security group reach PostgreSQL. */
  allowFrom(name: string, securityGroupId: string): void {
    new VpcSecurityGroupIngressRule(this, `from-${name}`, {
      securityGroupId: this.securityGroup.id,
      referencedSecurityGroupId: securityGroupId,
      ipProtocol: 'tcp',
      fromPort: this.port,
      toPort: this.port,
      description: `PostgreSQL from ${name}`,
    });
  }

  /** Connection URL of `user` without a password (PGPASSWORD), verify-full: RDS certificates name the instance's address. */
  urlFor(user: string): string {
    return postgresUrl({ user, host: this.instance.address, port: this.port, database: this.instance.dbName });
  }
}

/**
 * The RDS root CA clients verify against, as a Terraform variable: the bundle cannot be fetched at synth, is
 * public (no secret), and is small enough for the Lambda worker's environment (4 KB in all) only as one root.
 */
export function rdsCaCertificate(scope: Construct, caCertIdentifier = 'rds-ca-rsa2048-g1'): string {
  return new TerraformVariable(scope, 'rds_ca_certificate', {
    type: 'string',
    nullable: false,
    description: `PEM of the RDS root CAs of the stack's region, ${caCertIdentifier} among them: https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem (public, not a secret; the terraform-stack workflow downloads it)`,
  }).stringValue;
}
