import { KeyVault } from '@cdktf/provider-azurerm/lib/key-vault';
import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
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
  /** Days a deleted secret can be recovered (7-90); @default 90 */
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

  /** Sends the vault's audit log (every secret read and change, by whom) to a Log Analytics workspace. */
  auditTo(workspaceId: string): MonitorDiagnosticSetting {
    return new MonitorDiagnosticSetting(this, 'audit', {
      name: 'audit',
      targetResourceId: this.vault.id,
      logAnalyticsWorkspaceId: workspaceId,
      enabledLog: [{ category: 'AuditEvent' }],
    });
  }

  /** Versionless URL of a named secret (the latest version is used at each revision start). */
  secretUrl(name: string): string {
    if (!this.names.has(name))
      throw new Error(`Key Vault ${this.vault.name}: no secret named ${name} (known: ${[...this.names].join(', ')})`);
    return `${this.vault.vaultUri}secrets/${keyVaultSecretName(name)}`;
  }

  /**
   * Lets an identity read the named secrets and no other: Key Vault Secrets User on each secret's own
   * scope (`<vault id>/secrets/<name>`), never on the vault, so n8n cannot read the runtime's and back.
   */
  grantRead(id: string, principalId: string, names: readonly string[]): RoleAssignment[] {
    return names.map((name) => {
      this.secretUrl(name); // throws for a name the vault does not hold
      const scope = `${this.vault.id}/secrets/${keyVaultSecretName(name)}`;
      const props = {
        scope,
        roleDefinitionName: 'Key Vault Secrets User',
        principalId,
        principalType: 'ServicePrincipal',
      };
      return new RoleAssignment(this, `${id}-${keyVaultSecretName(name)}`, props);
    });
  }
}
