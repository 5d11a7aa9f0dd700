import { PrivateDnsZone } from '@cdktf/provider-azurerm/lib/private-dns-zone';
import { PrivateDnsZoneVirtualNetworkLink } from '@cdktf/provider-azurerm/lib/private-dns-zone-virtual-network-link';
import { Subnet } from '@cdktf/provider-azurerm/lib/subnet';
import { VirtualNetwork } from '@cdktf/provider-azurerm/lib/virtual-network';
import { Construct } from 'constructs';

export interface AzureNetworkProps {
  /** Resource name prefix, e.g. `ds-prod`. */
  readonly prefix: string;
  /** Resource group name and location. */
  readonly resourceGroupName: string;
  readonly location: string;
  /** Address space: apps get the first /23, PostgreSQL the next /24. @default `10.30.0.0/16` */
  readonly addressSpace?: string;
}

/**
 * A VNet with a subnet delegated to Container Apps (the environment's infrastructure) and one
 * delegated to PostgreSQL Flexible Server, plus the private DNS zone the servers register in, so
 * the databases are reachable from the apps only, by private name.
 */
export class AzureNetwork extends Construct {
  readonly vnet: VirtualNetwork;
  readonly appsSubnet: Subnet;
  readonly databaseSubnet: Subnet;
  readonly databaseDnsZone: PrivateDnsZone;
  /** Servers depend on it: registering in the zone fails before the VNet link exists. */
  readonly databaseDnsLink: PrivateDnsZoneVirtualNetworkLink;

  constructor(scope: Construct, id: string, props: AzureNetworkProps) {
    super(scope, id);
    const [a, b] = (props.addressSpace ?? '10.30.0.0/16').split('.');
    const base = { resourceGroupName: props.resourceGroupName };
    this.vnet = new VirtualNetwork(this, 'vnet', {
      ...base,
      name: `${props.prefix}-vnet`,
      location: props.location,
      addressSpace: [props.addressSpace ?? '10.30.0.0/16'],
    });
    this.appsSubnet = new Subnet(this, 'apps', {
      ...base,
      name: 'apps',
      virtualNetworkName: this.vnet.name,
      addressPrefixes: [`${a}.${b}.0.0/23`],
      delegation: [
        {
          name: 'container-apps',
          serviceDelegation: {
            name: 'Microsoft.App/environments',
            actions: ['Microsoft.Network/virtualNetworks/subnets/join/action'],
          },
        },
      ],
    });
    this.databaseSubnet = new Subnet(this, 'database', {
      ...base,
      name: 'database',
      virtualNetworkName: this.vnet.name,
      addressPrefixes: [`${a}.${b}.2.0/24`],
      serviceEndpoints: ['Microsoft.Storage'],
      delegation: [
        {
          name: 'postgresql',
          serviceDelegation: {
            name: 'Microsoft.DBforPostgreSQL/flexibleServers',
            actions: ['Microsoft.Network/virtualNetworks/subnets/join/action'],
          },
        },
      ],
    });
    this.databaseDnsZone = new PrivateDnsZone(this, 'database-dns', {
      ...base,
      name: `${props.prefix}.private.postgres.database.azure.com`,
    });
    this.databaseDnsLink = new PrivateDnsZoneVirtualNetworkLink(this, 'database-dns-link', {
      ...base,
      name: `${props.prefix}-database`,
      privateDnsZoneName: this.databaseDnsZone.name,
      virtualNetworkId: this.vnet.id,
      registrationEnabled: false,
    });
  }
}
