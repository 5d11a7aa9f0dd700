import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import {
  OciLoggingLog,
  OciCoreInternetGateway,
  OciCoreNatGateway,
  OciCoreNetworkSecurityGroup,
  OciCoreNetworkSecurityGroupSecurityRule,
  OciCoreRouteTable,
  OciCoreSubnet,
  OciCoreVcn,
} from '../providers/oci';

export interface OciNetworkProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly compartmentId: string;
  /** VCN CIDR. @default `10.30.0.0/16` */
  readonly cidr?: string;
}

/**
 * Network capability on OCI: a VCN with a public subnet (load balancer) and a private subnet
 * (containers, functions, stream pool endpoint, databases) behind a NAT gateway, and network
 * security groups: API gateway (HTTPS in), load balancer (from the gateway), apps (from the load
 * balancer), database (from apps).
 */
export class OciNetwork extends Construct {
  readonly vcnId: string;
  readonly publicSubnetId: string;
  readonly privateSubnetId: string;
  readonly privateCidr: string;
  readonly gatewayNsgId: string;
  readonly loadBalancerNsgId: string;
  readonly appNsgId: string;
  readonly databaseNsgId: string;
  /** n8n's own group: the runtime's database does not admit it. */
  readonly n8nNsgId: string;
  /** n8n's database: admits n8n only. */
  readonly n8nDatabaseNsgId: string;
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: OciNetworkProps) {
    super(scope, id);
    this.prefix = props.prefix;
    const cidr = props.cidr ?? '10.30.0.0/16';
    const compartment_id = props.compartmentId;
    const vcn = new OciCoreVcn(this, 'vcn', {
      compartment_id,
      cidr_blocks: [cidr],
      display_name: props.prefix,
      dns_label: props.prefix.replace(/[^a-z0-9]/g, '').slice(0, 15),
    });
    const igw = new OciCoreInternetGateway(this, 'igw', {
      compartment_id,
      vcn_id: vcn.id,
      display_name: `${props.prefix}-igw`,
      enabled: true,
    });
    const nat = new OciCoreNatGateway(this, 'nat', {
      compartment_id,
      vcn_id: vcn.id,
      display_name: `${props.prefix}-nat`,
    });
    const publicRoutes = new OciCoreRouteTable(this, 'public-routes', {
      compartment_id,
      vcn_id: vcn.id,
      display_name: `${props.prefix}-public`,
      route_rules: [{ network_entity_id: igw.id, destination: '0.0.0.0/0', destination_type: 'CIDR_BLOCK' }],
    });
    const privateRoutes = new OciCoreRouteTable(this, 'private-routes', {
      compartment_id,
      vcn_id: vcn.id,
      display_name: `${props.prefix}-private`,
      route_rules: [{ network_entity_id: nat.id, destination: '0.0.0.0/0', destination_type: 'CIDR_BLOCK' }],
    });
    this.privateCidr = Fn.cidrsubnet(cidr, 8, 1);
    this.publicSubnetId = new OciCoreSubnet(this, 'public', {
      compartment_id,
      vcn_id: vcn.id,
      cidr_block: Fn.cidrsubnet(cidr, 8, 0),
      display_name: `${props.prefix}-public`,
      dns_label: 'pub',
      prohibit_public_ip_on_vnic: false,
      route_table_id: publicRoutes.id,
    }).id;
    this.privateSubnetId = new OciCoreSubnet(this, 'private', {
      compartment_id,
      vcn_id: vcn.id,
      cidr_block: this.privateCidr,
      display_name: `${props.prefix}-private`,
      dns_label: 'priv',
      prohibit_public_ip_on_vnic: true,
      route_table_id: privateRoutes.id,
    }).id;
    this.vcnId = vcn.id;

    const nsg = (name: string) =>
      new OciCoreNetworkSecurityGroup(this, `${name}-nsg`, {
        compartment_id,
        vcn_id: vcn.id,
        display_name: `${props.prefix}-${name}`,
      }).id;
    this.gatewayNsgId = nsg('gateway');
    this.loadBalancerNsgId = nsg('lb');
    this.appNsgId = nsg('apps');
    this.databaseNsgId = nsg('db');
    this.n8nNsgId = nsg('n8n');
    this.n8nDatabaseNsgId = nsg('n8n-db');
    const tcp = (min: number, max = min) => ({ destination_port_range: { min, max } });
    // The API gateway is the only public entry, HTTPS only; the load balancer behind it is private.
    new OciCoreNetworkSecurityGroupSecurityRule(this, 'gateway-in-443', {
      network_security_group_id: this.gatewayNsgId,
      direction: 'INGRESS',
      protocol: '6',
      source: '0.0.0.0/0',
      source_type: 'CIDR_BLOCK',
      tcp_options: tcp(443),
      description: 'HTTPS from the internet',
    });
    new OciCoreNetworkSecurityGroupSecurityRule(this, 'gateway-out', {
      network_security_group_id: this.gatewayNsgId,
      direction: 'EGRESS',
      protocol: '6',
      destination: this.loadBalancerNsgId,
      destination_type: 'NETWORK_SECURITY_GROUP',
      tcp_options: tcp(80, 8082),
      description: 'to the load balancer listeners',
    });
    // 8081/8082: each blue-green slot's own listener, for smoke tests before a switch.
    for (const port of [80, 8081, 8082]) {
      new OciCoreNetworkSecurityGroupSecurityRule(this, `lb-in-${port}`, {
        network_security_group_id: this.loadBalancerNsgId,
        direction: 'INGRESS',
        protocol: '6',
        source: this.gatewayNsgId,
        source_type: 'NETWORK_SECURITY_GROUP',
        tcp_options: tcp(port),
        description: `listener ${port} from the API gateway`,
      });
    }
    new OciCoreNetworkSecurityGroupSecurityRule(this, 'lb-out', {
      network_security_group_id: this.loadBalancerNsgId,
      direction: 'EGRESS',
      protocol: '6',
      destination: this.appNsgId,
      destination_type: 'NETWORK_SECURITY_GROUP',
      tcp_options: tcp(1024, 65535),
      description: 'to the apps',
    });
    new OciCoreNetworkSecurityGroupSecurityRule(this, 'apps-in', {
      network_security_group_id: this.appNsgId,
      direction: 'INGRESS',
      protocol: '6',
      source: this.loadBalancerNsgId,
      source_type: 'NETWORK_SECURITY_GROUP',
      tcp_options: tcp(1024, 65535),
      description: 'from the load balancer',
    });
    // The stream pool's private endpoint sits in the apps group: HTTPS and Kafka from group members.
    for (const port of [443, 9092]) {
      new OciCoreNetworkSecurityGroupSecurityRule(this, `apps-in-self-${port}`, {
        network_security_group_id: this.appNsgId,
        direction: 'INGRESS',
        protocol: '6',
        source: this.appNsgId,
        source_type: 'NETWORK_SECURITY_GROUP',
        tcp_options: tcp(port),
        description: 'stream pool endpoint',
      });
    }
    new OciCoreNetworkSecurityGroupSecurityRule(this, 'apps-out', {
      network_security_group_id: this.appNsgId,
      direction: 'EGRESS',
      protocol: '6',
      destination: '0.0.0.0/0',
      destination_type: 'CIDR_BLOCK',
      description: 'vendor APIs, OCI APIs, database, stream pool',
    });
    new OciCoreNetworkSecurityGroupSecurityRule(this, 'db-in', {
      network_security_group_id: this.databaseNsgId,
      direction: 'INGRESS',
      protocol: '6',
      source: this.appNsgId,
      source_type: 'NETWORK_SECURITY_GROUP',
      tcp_options: tcp(5432),
      description: 'PostgreSQL from the apps',
    });
    const rule = (
      id: string,
      nsgId: string,
      direction: 'INGRESS' | 'EGRESS',
      peer: string,
      ports: [number, number?],
      description: string,
    ) => {
      const type = peer === '0.0.0.0/0' ? ('CIDR_BLOCK' as const) : ('NETWORK_SECURITY_GROUP' as const);
      const ends =
        direction === 'INGRESS' ? { source: peer, source_type: type } : { destination: peer, destination_type: type };
      const [min, max] = ports;
      const body = {
        network_security_group_id: nsgId,
        direction,
        protocol: '6',
        ...ends,
        tcp_options: tcp(min, max),
        description,
      };
      return new OciCoreNetworkSecurityGroupSecurityRule(this, id, body);
    };
    // n8n: reached by the load balancer on its port, reaches its own database and the internet, nothing of the runtime's.
    rule('lb-out-n8n', this.loadBalancerNsgId, 'EGRESS', this.n8nNsgId, [5678], 'to n8n');
    rule('n8n-in', this.n8nNsgId, 'INGRESS', this.loadBalancerNsgId, [5678], 'n8n from the load balancer');
    rule('n8n-out', this.n8nNsgId, 'EGRESS', '0.0.0.0/0', [1, 65535], 'vendor APIs, OCI APIs, its database');
    rule('n8n-db-in', this.n8nDatabaseNsgId, 'INGRESS', this.n8nNsgId, [5432], 'PostgreSQL from n8n');
  }

  /**
   * VCN flow logs of both subnets (every accepted and rejected flow) into `logGroupId`, kept
   * `retentionDuration` days: what reached the containers and the databases, and what was refused.
   */
  addFlowLogs(logGroupId: string, retentionDuration: number): void {
    for (const [name, subnetId] of [
      ['public', this.publicSubnetId],
      ['private', this.privateSubnetId],
    ] as const)
      new OciLoggingLog(this, `flow-log-${name}`, {
        display_name: `${this.prefix}-${name}-flows`,
        log_group_id: logGroupId,
        log_type: 'SERVICE',
        is_enabled: true,
        retention_duration: retentionDuration,
        configuration: {
          source: { category: 'all', resource: subnetId, service: 'flowlogs', source_type: 'OCISERVICE' },
        },
      });
  }
}
