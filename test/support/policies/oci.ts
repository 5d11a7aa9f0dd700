/** OCI policy rules: streams encrypted with a dead-letter stream, databases private, no broad IAM, log retention, key rotation, no secret content. */
import { type Block, type TerraformJson, resourcesOf } from '../terraform-checks';
import type { PolicyRule } from '.';

const each = (json: TerraformJson, type: string, check: (address: string, body: Block) => string[]) =>
  resourcesOf(json, type).flatMap(([name, body]) => check(`${type}.${name}`, body));
const first = (value: unknown): Block => (Array.isArray(value) ? (value[0] as Block) : (value as Block)) ?? {};

export const OCI_POLICIES: readonly PolicyRule[] = [
  {
    id: 'oci/streams-encrypted-private',
    description: 'Every stream pool uses a Vault key and a private endpoint',
    check: (json) =>
      each(json, 'oci_streaming_stream_pool', (address, body) => [
        ...(first(body.custom_encryption_key).kms_key_id ? [] : [`${address} has no custom_encryption_key.kms_key_id`]),
        ...(first(body.private_endpoint_settings).subnet_id ? [] : [`${address} has no private endpoint`]),
      ]),
  },
  {
    id: 'oci/dead-letter-stream',
    description: 'Every stream pool that holds a jobs stream also holds a dead-letter stream',
    check(json) {
      const byPool = new Map<string, string[]>();
      for (const [, stream] of resourcesOf(json, 'oci_streaming_stream'))
        byPool.set(String(stream.stream_pool_id), [
          ...(byPool.get(String(stream.stream_pool_id)) ?? []),
          String(stream.name),
        ]);
      return [...byPool]
        .filter(([, names]) => !names.some((n) => n.endsWith('-dlq')))
        .map(([pool]) => `stream pool ${pool} has no dead-letter (-dlq) stream`);
    },
  },
  {
    id: 'oci/database-private',
    description: 'PostgreSQL systems sit in a subnet without public IPs and take their password from the Vault',
    check(json) {
      const privateSubnets = new Set(
        resourcesOf(json, 'oci_core_subnet')
          .filter(([, s]) => s.prohibit_public_ip_on_vnic === true)
          .map(([name]) => name),
      );
      return each(json, 'oci_psql_db_system', (address, body) => {
        const subnet = /^\$\{oci_core_subnet\.([\w-]+)\.id\}$/.exec(String(first(body.network_details).subnet_id))?.[1];
        const password = first(first(body.credentials).password_details);
        return [
          ...(subnet && privateSubnets.has(subnet) ? [] : [`${address} is not in a private subnet of this stack`]),
          ...(password.password_type === 'VAULT_SECRET' ? [] : [`${address} password is not a Vault secret`]),
        ];
      });
    },
  },
  {
    id: 'oci/no-broad-iam',
    description:
      'No policy grants all-resources or manage on a whole tenancy, and any-user grants carry a where clause',
    check: (json) =>
      each(json, 'oci_identity_policy', (address, body) =>
        ((body.statements as string[]) ?? []).flatMap((statement) => [
          ...(/\ball-resources\b/i.test(statement) ? [`${address} grants all-resources: ${statement}`] : []),
          ...(/\bin tenancy\b/i.test(statement) && /\bto manage\b/i.test(statement)
            ? [`${address} grants manage in the tenancy: ${statement}`]
            : []),
          ...(/\bany-user\b/i.test(statement) && !/\bwhere\b/i.test(statement)
            ? [`${address} grants any-user without a condition: ${statement}`]
            : []),
        ]),
      ),
  },
  {
    id: 'oci/log-retention',
    description: 'Every log sets a retention',
    check: (json) =>
      each(json, 'oci_logging_log', (address, body) =>
        typeof body.retention_duration === 'number' && body.retention_duration >= 30
          ? []
          : [`${address} has no retention_duration`],
      ),
  },
  {
    id: 'oci/key-rotation',
    description: 'Every Vault key rotates automatically',
    check: (json) =>
      each(json, 'oci_kms_key', (address, body) =>
        body.is_auto_rotation_enabled === true ? [] : [`${address} does not rotate`],
      ),
  },
  {
    id: 'oci/no-secret-content',
    description: 'No Vault secret carries content in the configuration: the Vault generates it',
    check: (json) =>
      each(json, 'oci_vault_secret', (address, body) => [
        ...(body.secret_content !== undefined ? [`${address} has secret_content in the configuration`] : []),
        ...(body.enable_auto_generation === true ? [] : [`${address} is neither generated nor empty`]),
      ]),
  },
  {
    id: 'oci/containers-private',
    description: 'Container instances have no public IP',
    check: (json) =>
      each(json, 'oci_container_instances_container_instance', (address, body) =>
        ((body.vnics as Block[]) ?? [])
          .filter((vnic) => vnic.is_public_ip_assigned !== false)
          .map(() => `${address} may get a public IP`),
      ),
  },
];
