import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { DataAwsAvailabilityZones } from '@cdktf/provider-aws/lib/data-aws-availability-zones';
import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group';
import { DataAwsElbServiceAccount } from '@cdktf/provider-aws/lib/data-aws-elb-service-account';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktf/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { FlowLog } from '@cdktf/provider-aws/lib/flow-log';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';
import { ServiceRole } from '../iam/aws';

/** A VPC the stack does not own, given by id with its subnets. */
export interface ExistingAwsVpc {
  /** VPC id (`vpc-...`). */
  readonly vpcId: string;
  /** Two or more private subnet ids in different AZs with egress (internal load balancer, tasks, Lambda, database). */
  readonly privateSubnetIds: readonly string[];
}

export interface AwsNetworkProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** CIDR of the new VPC, ignored with `existing`. @default `10.20.0.0/16` */
  readonly cidr?: string;
  /** NAT gateways: 2 gives one per AZ (no cross-AZ egress dependency), 1 shares one. @default 2 */
  readonly natGateways?: 1 | 2;
  /** Use this VPC instead of creating one. @default a new VPC */
  readonly existing?: ExistingAwsVpc;
}

/**
 * Network capability on AWS: a VPC across two AZs whose public subnets hold only the NAT gateways
 * (the load balancer is internal, reached through CloudFront), or an existing VPC's private subnets.
 */
export class AwsNetwork extends Construct {
  readonly vpcId: string;
  readonly privateSubnetIds: string[];

  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: AwsNetworkProps) {
    super(scope, id);
    this.prefix = props.prefix;
    if (props.existing) {
      const { vpcId, privateSubnetIds } = props.existing;
      if (privateSubnetIds.length < 2)
        throw new Error(
          `AwsNetwork ${props.prefix}: an existing VPC needs at least two private subnets in different AZs (got ${privateSubnetIds.length})`,
        );
      this.vpcId = vpcId;
      this.privateSubnetIds = [...privateSubnetIds];
      return;
    }
    const cidr = props.cidr ?? '10.20.0.0/16';
    const zones = new DataAwsAvailabilityZones(this, 'zones', { state: 'available' });
    const vpc = new Vpc(this, 'vpc', {
      cidrBlock: cidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: props.prefix },
    });
    const igw = new InternetGateway(this, 'igw', { vpcId: vpc.id, tags: { Name: props.prefix } });
    const publicRoutes = new RouteTable(this, 'public-routes', {
      vpcId: vpc.id,
      route: [{ cidrBlock: '0.0.0.0/0', gatewayId: igw.id }],
      tags: { Name: `${props.prefix}-public` },
    });
    const natCount = props.natGateways ?? 2;
    const nats: NatGateway[] = [];
    this.privateSubnetIds = [];
    for (const az of [0, 1]) {
      const zone = Fn.element(zones.names, az);
      const pub = new Subnet(this, `public-${az}`, {
        vpcId: vpc.id,
        availabilityZone: zone,
        cidrBlock: Fn.cidrsubnet(cidr, 4, az),
        tags: { Name: `${props.prefix}-public-${az}`, tier: 'public' },
      });
      new RouteTableAssociation(this, `public-${az}-routes`, { subnetId: pub.id, routeTableId: publicRoutes.id });
      if (az < natCount) {
        const eip = new Eip(this, `nat-${az}-ip`, { domain: 'vpc', tags: { Name: `${props.prefix}-nat-${az}` } });
        nats.push(
          new NatGateway(this, `nat-${az}`, {
            allocationId: eip.allocationId,
            subnetId: pub.id,
            tags: { Name: `${props.prefix}-${az}` },
            dependsOn: [igw],
          }),
        );
      }
    }
    for (const az of [0, 1]) {
      const zone = Fn.element(zones.names, az);
      const priv = new Subnet(this, `private-${az}`, {
        vpcId: vpc.id,
        availabilityZone: zone,
        cidrBlock: Fn.cidrsubnet(cidr, 4, 8 + az),
        tags: { Name: `${props.prefix}-private-${az}`, tier: 'private' },
      });
      const routes = new RouteTable(this, `private-${az}-routes-table`, {
        vpcId: vpc.id,
        route: [{ cidrBlock: '0.0.0.0/0', natGatewayId: nats[Math.min(az, nats.length - 1)].id }],
        tags: { Name: `${props.prefix}-private-${az}` },
      });
      new RouteTableAssociation(this, `private-${az}-routes`, { subnetId: priv.id, routeTableId: routes.id });
      this.privateSubnetIds.push(priv.id);
    }
    this.vpcId = vpc.id;
  }

  /** Records every accepted and rejected connection of the VPC in an encrypted CloudWatch log group. */
  flowLogs(props: { readonly accountId: string; readonly kmsKeyArn: string; readonly retentionDays: number }): FlowLog {
    const name = `/vpc/${this.prefix}/flow-logs`;
    const group = new CloudwatchLogGroup(this, 'flow-logs', {
      name,
      retentionInDays: props.retentionDays,
      kmsKeyId: props.kmsKeyArn,
    });
    const role = new ServiceRole(this, 'flow-logs-role', {
      name: `${this.prefix}-flow-logs`,
      service: 'vpc-flow-logs.amazonaws.com',
      accountId: props.accountId,
      statements: [
        {
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
          resources: [group.arn, `${group.arn}:*`],
        },
      ],
    });
    return new FlowLog(this, 'flow-log', {
      vpcId: this.vpcId,
      trafficType: 'ALL',
      logDestination: group.arn,
      iamRoleArn: role.arn,
    });
  }
}

export interface AwsAccessLogsProps {
  /** Resource name prefix, e.g. `data-sync-prod`; the bucket is `<prefix>-access-logs-<account>`. */
  readonly prefix: string;
  readonly accountId: string;
  /** Days the logs are kept. */
  readonly retentionDays: number;
}

/**
 * The bucket the load balancer and the CloudFront distributions write their access logs to: private, encrypted
 * with S3-managed keys (the only kind ALB log delivery supports), expired after the retention, written only by
 * the region's Elastic Load Balancing account (under `alb/`) and CloudFront's log delivery (through the bucket
 * ACL it adds itself, hence ownership "BucketOwnerPreferred": CloudFront standard logging needs ACLs).
 */
export class AwsAccessLogs extends Construct {
  readonly bucketName: string;
  /** `<bucket>.s3.amazonaws.com`, what a CloudFront logging_config names. */
  readonly bucketDomainName: string;
  /** Key prefix of the load balancer's logs. */
  readonly albPrefix = 'alb';

  constructor(scope: Construct, id: string, props: AwsAccessLogsProps) {
    super(scope, id);
    const bucket = new S3Bucket(this, 'bucket', {
      bucket: `${props.prefix}-access-logs-${props.accountId}`,
      forceDestroy: false,
    });
    new S3BucketPublicAccessBlock(this, 'private', {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'encryption', {
      bucket: bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' } }],
    });
    new S3BucketOwnershipControls(this, 'ownership', {
      bucket: bucket.id,
      rule: { objectOwnership: 'BucketOwnerPreferred' },
    });
    new S3BucketLifecycleConfiguration(this, 'expiry', {
      bucket: bucket.id,
      rule: [
        { id: 'expire', status: 'Enabled', filter: [{ prefix: '' }], expiration: [{ days: props.retentionDays }] },
      ],
    });
    const elb = new DataAwsElbServiceAccount(this, 'elb-account');
    new S3BucketPolicy(this, 'policy', {
      bucket: bucket.id,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AlbLogDelivery',
            Effect: 'Allow',
            Principal: { AWS: elb.arn },
            Action: 's3:PutObject',
            Resource: `${bucket.arn}/${this.albPrefix}/AWSLogs/${props.accountId}/*`,
          },
          {
            Sid: 'TlsOnly',
            Effect: 'Deny',
            Principal: '*',
            Action: 's3:*',
            Resource: [bucket.arn, `${bucket.arn}/*`],
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          },
        ],
      }),
    });
    this.bucketName = bucket.bucket;
    this.bucketDomainName = bucket.bucketDomainName;
  }
}
