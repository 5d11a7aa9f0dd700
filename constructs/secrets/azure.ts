import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { Construct } from 'constructs';

export interface AzureSecretsProps {
  /** Key Vault name (3-24 characters, globally unique). */
  readonly name: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /** Entra ID tenant of the vault. */
  readonly tenantId: string;
  /** Secret names (environment-variable style, e.g. `HUBSPOT_API_KEY`) the vault is expected to hold. */
  readonly names: readonly string[];
  /** Days a deleted secret can be recovered (7-90, default 90). */
  readonly softDeleteRetentionDays?: number;
}

/** `HUBSPOT_API_KEY` -> `hubspot-api-key` (Key Vault allows letters, digits and dashes). */
export const keyVaultSecretName = (name: string) => name.toLowerCase().replace(/_/g, '-');

/**
 * Key Vault with RBAC authorization and purge protection. No `azurerm_key_vault_secret` is declared:
 * values are set out of band (`az keyvault secret set --vault-name <vault> --name <name>`), so none
 * is in the configuration or state; apps reference them by versionless URL through their identity.
 */
export class AzureSecrets extends Construct {
  readonly vault: KeyVault;
  private readonly names: ReadonlySet<string>;

  constructor(scope: Construct, id: string, props: AzureSecretsProps) {
    super(scope, id);
    this.names = new Set(props.names);
    this.vault = new KeyVault(this, 'vault', {
      name: props.name,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      tenantId: props.tenantId,
      skuName: 'standard',
      rbacAuthorizationEnabled: true,
      purgeProtectionEnabled: true,
      softDeleteRetentionDays: props.softDeleteRetentionDays ?? 90,
      networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' },
    });
  }

  /** Versionless URL of a named secret (the latest version is used at each revision start). */
  secretUrl(name: string): string {
    if (!this.names.has(name))
      throw new Error(`Key Vault ${this.vault.name}: no secret named ${name} (known: ${[...this.names].join(', ')})`);
    return `${this.vault.vaultUri}secrets/${keyVaultSecretName(name)}`;
  }

  /** Lets an identity read secret values (Key Vault Secrets User on this vault only). */
  grantRead(id: string, principalId: string): RoleAssignment {
    return new RoleAssignment(this, id, {
      scope: this.vault.id,
      roleDefinitionName: 'Key Vault Secrets User',
      principalId,
      principalType: 'ServicePrincipal',
    });
  }
}
