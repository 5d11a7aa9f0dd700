import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { DataAwsAvailabilityZones } from '@cdktf/provider-aws/lib/data-aws-availability-zones';
import { Eip } from '@cdktf/provider-aws/lib/eip';
import { InternetGateway } from '@cdktf/provider-aws/lib/internet-gateway';
import { NatGateway } from '@cdktf/provider-aws/lib/nat-gateway';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association';
import { Subnet } from '@cdktf/provider-aws/lib/subnet';
import { Vpc } from '@cdktf/provider-aws/lib/vpc';

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

  constructor(scope: Construct, id: string, props: AwsNetworkProps) {
    super(scope, id);
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
}
