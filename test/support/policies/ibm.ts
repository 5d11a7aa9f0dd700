/** IBM Cloud policy rules: topics with a dead-letter topic, databases private and customer-key encrypted, scoped IAM, log retention, key rotation, empty secrets. */
import { type Block, type TerraformJson, resourcesOf } from '../terraform-checks';
import type { PolicyRule } from '.';

const each = (json: TerraformJson, type: string, check: (address: string, body: Block) => string[]) =>
  resourcesOf(json, type).flatMap(([name, body]) => check(`${type}.${name}`, body));
const BROAD_ROLES = new Set(['Administrator', 'Manager', 'Editor']);

export const IBM_POLICIES: readonly PolicyRule[] = [
  {
    id: 'ibm/dead-letter-topic',
    description: 'Every Event Streams instance with topics has a dead-letter (-dlq) topic',
    check(json) {
      const byInstance = new Map<string, string[]>();
      for (const [, topic] of resourcesOf(json, 'ibm_event_streams_topic'))
        byInstance.set(String(topic.resource_instance_id), [
          ...(byInstance.get(String(topic.resource_instance_id)) ?? []),
          String(topic.name),
        ]);
      return [...byInstance]
        .filter(([, names]) => !names.some((n) => n.endsWith('-dlq')))
        .map(([instance]) => `Event Streams ${instance} has no dead-letter topic`);
    },
  },
  {
    id: 'ibm/database-private-encrypted',
    description: 'Databases use private endpoints only and a Key Protect key for disks and backups',
    check: (json) =>
      each(json, 'ibm_database', (address, body) => [
        ...(body.service_endpoints === 'private' ? [] : [`${address} is reachable on public endpoints`]),
        ...(body.key_protect_key ? [] : [`${address} has no key_protect_key`]),
        ...(body.backup_encryption_key_crn ? [] : [`${address} has no backup_encryption_key_crn`]),
        ...(body.adminpassword !== undefined ? [`${address} sets adminpassword in the configuration`] : []),
      ]),
  },
  {
    id: 'ibm/scoped-iam',
    description: 'Every service policy names a service and an instance, and grants no administrative role',
    check: (json) =>
      each(json, 'ibm_iam_service_policy', (address, body) => {
        const attributes = (body.resource_attributes as Block[]) ?? [];
        const names = new Set(attributes.map((a) => a.name));
        return [
          ...(names.has('serviceName') && names.has('serviceInstance')
            ? []
            : [`${address} is not scoped to one service instance`]),
          ...((body.roles as string[]) ?? []).filter((r) => BROAD_ROLES.has(r)).map((r) => `${address} grants ${r}`),
        ];
      }),
  },
  {
    id: 'ibm/log-retention',
    description: 'Every Cloud Logs instance sets a retention period',
    check: (json) =>
      each(json, 'ibm_resource_instance', (address, body) =>
        body.service === 'logs' && typeof (body.parameters as Block | undefined)?.retention_period !== 'number'
          ? [`${address} has no retention_period`]
          : [],
      ),
  },
  {
    id: 'ibm/key-rotation',
    description: 'Every root key has a rotation policy',
    check(json) {
      const rotated = new Set(
        resourcesOf(json, 'ibm_kms_key_policies')
          .filter(([, p]) => (p.rotation as Block)?.enabled === true)
          .map(([, p]) => String(p.key_id)),
      );
      return resourcesOf(json, 'ibm_kms_key')
        .filter(([name]) => ![...rotated].some((ref) => ref.includes(`ibm_kms_key.${name}.`)))
        .map(([name]) => `ibm_kms_key.${name} has no rotation policy`);
    },
  },
  {
    id: 'ibm/secrets-empty',
    description: 'Secrets Manager secrets and Code Engine secrets hold no value in the configuration',
    check: (json) => [
      ...each(json, 'ibm_sm_arbitrary_secret', (address, body) =>
        body.payload === '' ? [] : [`${address} has a payload in the configuration`],
      ),
      ...each(json, 'ibm_code_engine_secret', (address, body) =>
        Object.keys((body.data as Block) ?? {}).length === 0 ? [] : [`${address} has data in the configuration`],
      ),
    ],
  },
];
