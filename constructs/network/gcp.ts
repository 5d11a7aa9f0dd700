import { ComputeGlobalAddress } from '@cdktf/provider-google/lib/compute-global-address';
import { ComputeNetwork } from '@cdktf/provider-google/lib/compute-network';
import { ComputeSubnetwork } from '@cdktf/provider-google/lib/compute-subnetwork';
import { ServiceNetworkingConnection } from '@cdktf/provider-google/lib/service-networking-connection';
import { Construct } from 'constructs';

export interface GcpNetworkProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** Region of the subnetwork. */
  readonly region: string;
  /** CIDR of the subnetwork Cloud Run egresses through. @default `10.20.0.0/20` */
  readonly subnetCidr?: string;
  /** Prefix length reserved for private services such as Cloud SQL. @default 20 */
  readonly privateServicesPrefixLength?: number;
}

/**
 * A custom-mode VPC with one private subnetwork (Cloud Run direct VPC egress) and a private service
 * connection, so Cloud SQL gets a private IP and never a public one.
 */
export class GcpNetwork extends Construct {
  readonly network: ComputeNetwork;
  readonly subnetwork: ComputeSubnetwork;
  /** Cloud SQL instances depend on it: the peering must exist before a private IP can be assigned. */
  readonly privateServices: ServiceNetworkingConnection;

  constructor(scope: Construct, id: string, props: GcpNetworkProps) {
    super(scope, id);
    this.network = new ComputeNetwork(this, 'vpc', {
      name: `${props.prefix}-vpc`,
      autoCreateSubnetworks: false,
      routingMode: 'REGIONAL',
    });
    this.subnetwork = new ComputeSubnetwork(this, 'private', {
      name: `${props.prefix}-private`,
      network: this.network.id,
      region: props.region,
      ipCidrRange: props.subnetCidr ?? '10.20.0.0/20',
      privateIpGoogleAccess: true,
      logConfig: { aggregationInterval: 'INTERVAL_5_MIN', flowSampling: 0.5, metadata: 'INCLUDE_ALL_METADATA' },
    });
    const range = new ComputeGlobalAddress(this, 'private-services-range', {
      name: `${props.prefix}-private-services`,
      network: this.network.id,
      purpose: 'VPC_PEERING',
      addressType: 'INTERNAL',
      prefixLength: props.privateServicesPrefixLength ?? 20,
    });
    this.privateServices = new ServiceNetworkingConnection(this, 'private-services', {
      network: this.network.id,
      service: 'servicenetworking.googleapis.com',
      reservedPeeringRanges: [range.name],
    });
  }
}
