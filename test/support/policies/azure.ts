/** Azure policy rules: Service Bus dead-letters with Entra-only auth, PostgreSQL private, Key Vault RBAC without values in Terraform, no broad role assignments, log retention, HTTPS-only ingress. */
import { type Block, type TerraformJson, resourcesOf } from '../terraform-checks';
import type { PolicyRule } from '.';

const first = (value: unknown): Block | undefined =>
  Array.isArray(value) ? (value[0] as Block | undefined) : (value as Block | undefined);
const list = (value: unknown): Block[] =>
  value === undefined ? [] : Array.isArray(value) ? (value as Block[]) : [value as Block];

function eachResource(
  json: TerraformJson,
  types: string[],
  check: (address: string, body: Block) => string[],
): string[] {
  return types.flatMap((type) => resourcesOf(json, type).flatMap(([name, body]) => check(`${type}.${name}`, body)));
}

const BROAD_ROLES = new Set([
  'Owner',
  'Contributor',
  'User Access Administrator',
  'Role Based Access Control Administrator',
]);

export const AZURE_POLICIES: readonly PolicyRule[] = [
  {
    id: 'azure/servicebus-dead-letter',
    description: 'Every Service Bus queue dead-letters after a max delivery count and on expiry',
    check: (json) =>
      eachResource(json, ['azurerm_servicebus_queue'], (address, body) => [
        ...(typeof body.max_delivery_count === 'number' && body.max_delivery_count >= 1
          ? []
          : [`${address} has no max_delivery_count`]),
        ...(body.dead_lettering_on_message_expiration === true
          ? []
          : [`${address} does not dead-letter expired messages`]),
      ]),
  },
  {
    id: 'azure/servicebus-entra-tls',
    description: 'Service Bus namespaces accept Entra ID only (no shared access keys) over TLS 1.2',
    check: (json) =>
      eachResource(json, ['azurerm_servicebus_namespace'], (address, body) => [
        ...(body.local_auth_enabled === false ? [] : [`${address} allows shared access keys (local_auth_enabled)`]),
        ...(body.minimum_tls_version === '1.2' ? [] : [`${address} minimum_tls_version is not 1.2`]),
      ]),
  },
  {
    id: 'azure/postgres-private',
    description:
      'PostgreSQL Flexible Servers have public network access disabled, a delegated subnet and private DNS zone, backups of at least 7 days, and a write-only administrator password',
    check: (json) =>
      eachResource(json, ['azurerm_postgresql_flexible_server'], (address, body) => [
        ...(body.public_network_access_enabled === false ? [] : [`${address} allows public network access`]),
        ...(body.delegated_subnet_id && body.private_dns_zone_id
          ? []
          : [`${address} is not VNet-integrated (delegated_subnet_id, private_dns_zone_id)`]),
        ...(typeof body.backup_retention_days === 'number' && body.backup_retention_days >= 7
          ? []
          : [`${address} keeps backups fewer than 7 days`]),
        ...(body.administrator_password !== undefined
          ? [`${address} stores administrator_password in state (use administrator_password_wo)`]
          : []),
      ]),
  },
  {
    id: 'azure/key-vault',
    description: 'Key Vaults use RBAC and purge protection; no secret value is declared in Terraform',
    check: (json) => [
      ...eachResource(json, ['azurerm_key_vault'], (address, body) => [
        ...(body.rbac_authorization_enabled === true ? [] : [`${address} does not use RBAC authorization`]),
        ...(body.purge_protection_enabled === true ? [] : [`${address} has no purge protection`]),
      ]),
      ...eachResource(json, ['azurerm_key_vault_secret'], (address, body) =>
        body.value !== undefined ? [`${address} puts a secret value into the configuration`] : [],
      ),
    ],
  },
  {
    id: 'azure/app-secrets-from-vault',
    description: 'Container app and job secrets are Key Vault references, never inline values',
    check: (json) =>
      eachResource(json, ['azurerm_container_app', 'azurerm_container_app_job'], (address, body) =>
        list(body.secret).flatMap((secret) =>
          secret.key_vault_secret_id && secret.value === undefined
            ? []
            : [`${address} secret ${String(secret.name)} is not a Key Vault reference`],
        ),
      ),
  },
  {
    id: 'azure/no-broad-roles',
    description: 'No Owner/Contributor/access-admin role assignment, and none at subscription scope',
    check: (json) =>
      eachResource(json, ['azurerm_role_assignment'], (address, body) => [
        ...(typeof body.role_definition_name === 'string' && BROAD_ROLES.has(body.role_definition_name)
          ? [`${address} assigns broad role ${body.role_definition_name}`]
          : []),
        ...(typeof body.scope === 'string' && /^\/subscriptions\/[^/]+\/?$/.test(body.scope)
          ? [`${address} is scoped to a whole subscription`]
          : []),
        ...(body.role_definition_name || body.role_definition_id ? [] : [`${address} names no role`]),
      ]),
  },
  {
    id: 'azure/log-retention',
    description: 'Log Analytics workspaces set a retention and every Container Apps environment logs to one',
    check: (json) => [
      ...eachResource(json, ['azurerm_log_analytics_workspace'], (address, body) =>
        typeof body.retention_in_days === 'number' && body.retention_in_days > 0
          ? []
          : [`${address} has no retention_in_days`],
      ),
      ...eachResource(json, ['azurerm_container_app_environment'], (address, body) =>
        body.log_analytics_workspace_id ? [] : [`${address} sends logs nowhere (log_analytics_workspace_id)`],
      ),
    ],
  },
  {
    id: 'azure/https-only',
    description: 'Container app ingress never allows plain HTTP; registries have no admin user or anonymous pull',
    check: (json) => [
      ...eachResource(json, ['azurerm_container_app'], (address, body) =>
        first(body.ingress)?.allow_insecure_connections === true
          ? [`${address} allows insecure (HTTP) connections`]
          : [],
      ),
      ...eachResource(json, ['azurerm_container_registry'], (address, body) =>
        body.admin_enabled === true || body.anonymous_pull_enabled === true
          ? [`${address} enables the admin user or anonymous pull`]
          : [],
      ),
    ],
  },
];
