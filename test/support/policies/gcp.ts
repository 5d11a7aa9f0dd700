/** GCP policy rules: Pub/Sub encrypted with dead letters kept, Cloud SQL private with TLS and backups, no primitive or public IAM but the invoker, empty CMEK secrets, key rotation, log retention. */
import { type Block, type TerraformJson, resourcesOf } from '../terraform-checks';
import type { PolicyRule } from '.';

/** A nested block as cdktf writes it: an object, or a one-element list. */
const first = (value: unknown): Block | undefined =>
  Array.isArray(value) ? (value[0] as Block | undefined) : (value as Block | undefined);

function eachResource(
  json: TerraformJson,
  types: string[],
  check: (address: string, body: Block) => string[],
): string[] {
  return types.flatMap((type) => resourcesOf(json, type).flatMap(([name, body]) => check(`${type}.${name}`, body)));
}

/** `${google_pubsub_topic.NAME.id}` (or `.name`) -> NAME. */
const topicRef = (value: unknown) =>
  typeof value === 'string' ? /^\$\{google_pubsub_topic\.([\w-]+)\.(id|name)\}$/.exec(value)?.[1] : undefined;

const IAM_MEMBER_TYPES = [
  'google_project_iam_member',
  'google_project_iam_binding',
  'google_service_account_iam_member',
  'google_cloud_run_v2_service_iam_member',
  'google_cloud_run_v2_service_iam_binding',
  'google_pubsub_topic_iam_member',
  'google_pubsub_subscription_iam_member',
  'google_secret_manager_secret_iam_member',
  'google_kms_crypto_key_iam_member',
  'google_kms_key_ring_iam_member',
  'google_storage_bucket_iam_member',
];
const PRIMITIVE_ROLES = new Set(['roles/owner', 'roles/editor', 'roles/viewer']);
const PUBLIC_MEMBERS = new Set(['allUsers', 'allAuthenticatedUsers']);

export const GCP_POLICIES: readonly PolicyRule[] = [
  {
    id: 'gcp/pubsub-encrypted',
    description: 'Every Pub/Sub topic is encrypted with a customer-managed KMS key',
    check: (json) =>
      eachResource(json, ['google_pubsub_topic'], (address, body) =>
        body.kms_key_name ? [] : [`${address} has no kms_key_name`],
      ),
  },
  {
    id: 'gcp/pubsub-dead-letter',
    description:
      'Every subscription of a job topic dead-letters to a topic declared in the stack (5-100 deliveries); every dead-letter topic has a subscription keeping its messages',
    check(json) {
      const subscriptions = resourcesOf(json, 'google_pubsub_subscription');
      const deadLetterTopics = new Set(
        subscriptions
          .map(([, body]) => topicRef(first(body.dead_letter_policy)?.dead_letter_topic))
          .filter((t): t is string => !!t),
      );
      const problems: string[] = [];
      for (const [name, body] of subscriptions) {
        const topic = topicRef(body.topic);
        if (topic && deadLetterTopics.has(topic)) continue;
        const policy = first(body.dead_letter_policy);
        const target = topicRef(policy?.dead_letter_topic);
        if (!policy || !target) {
          problems.push(`google_pubsub_subscription.${name} has no dead_letter_policy to a topic of this stack`);
          continue;
        }
        if (!json.resource?.google_pubsub_topic?.[target])
          problems.push(`google_pubsub_subscription.${name} dead-letters to undeclared topic ${target}`);
        const attempts = policy.max_delivery_attempts;
        if (!(typeof attempts === 'number' && attempts >= 5 && attempts <= 100))
          problems.push(
            `google_pubsub_subscription.${name} max_delivery_attempts must be 5-100, got ${String(attempts)}`,
          );
      }
      for (const topic of deadLetterTopics) {
        if (!subscriptions.some(([, body]) => topicRef(body.topic) === topic))
          problems.push(
            `dead-letter topic google_pubsub_topic.${topic} has no subscription: its messages would be dropped`,
          );
      }
      return problems;
    },
  },
  {
    id: 'gcp/sql-private-tls-backups',
    description:
      'Cloud SQL instances have no public IPv4 and no authorized networks, a private network, TLS-only connections and automated backups',
    check: (json) =>
      eachResource(json, ['google_sql_database_instance'], (address, body) => {
        const settings = first(body.settings);
        const ip = first(settings?.ip_configuration);
        const backup = first(settings?.backup_configuration);
        return [
          ...(ip?.ipv4_enabled === false ? [] : [`${address} does not set ip_configuration.ipv4_enabled = false`]),
          ...(ip?.private_network ? [] : [`${address} has no private_network`]),
          ...(ip?.authorized_networks ? [`${address} has authorized_networks`] : []),
          ...(ip?.ssl_mode === 'ENCRYPTED_ONLY' || ip?.ssl_mode === 'TRUSTED_CLIENT_CERTIFICATE_REQUIRED'
            ? []
            : [`${address} accepts unencrypted connections (ssl_mode ${String(ip?.ssl_mode)})`]),
          ...(backup?.enabled === true ? [] : [`${address} has no automated backups`]),
        ];
      }),
  },
  {
    id: 'gcp/no-primitive-or-public-iam',
    description:
      'No owner/editor/viewer grant; allUsers/allAuthenticatedUsers only as Cloud Run invoker (public webhooks)',
    check: (json) =>
      eachResource(json, IAM_MEMBER_TYPES, (address, body) => {
        const members = [body.member, ...(Array.isArray(body.members) ? body.members : [])].filter(
          (m): m is string => typeof m === 'string',
        );
        const problems: string[] = [];
        if (typeof body.role === 'string' && PRIMITIVE_ROLES.has(body.role))
          problems.push(`${address} grants primitive role ${body.role}`);
        for (const member of members) {
          if (
            PUBLIC_MEMBERS.has(member) &&
            !(address.startsWith('google_cloud_run_v2_service_iam') && body.role === 'roles/run.invoker')
          ) {
            problems.push(`${address} grants ${String(body.role)} to ${member}`);
          }
        }
        return problems;
      }),
  },
  {
    id: 'gcp/secrets-empty-and-cmek',
    description:
      'Secret Manager secrets are encrypted with a customer-managed key in every replica and no secret version (value) is declared',
    check: (json) => [
      ...eachResource(json, ['google_secret_manager_secret'], (address, body) => {
        const replication = first(body.replication);
        const replicas = (first(replication?.user_managed)?.replicas as Block[] | undefined) ?? [];
        const auto = first(replication?.auto);
        const encrypted =
          replicas.length > 0
            ? replicas.every((r) => first(r.customer_managed_encryption)?.kms_key_name)
            : !!first(auto?.customer_managed_encryption)?.kms_key_name;
        return encrypted ? [] : [`${address} is not encrypted with a customer-managed key`];
      }),
      ...eachResource(json, ['google_secret_manager_secret_version'], (address) => [
        `${address} puts a secret value into the configuration`,
      ]),
    ],
  },
  {
    id: 'gcp/kms-rotation',
    description: 'Every KMS crypto key rotates at least every 90 days',
    check: (json) =>
      eachResource(json, ['google_kms_crypto_key'], (address, body) => {
        const seconds =
          typeof body.rotation_period === 'string' ? Number(/^(\d+)s$/.exec(body.rotation_period)?.[1]) : NaN;
        return seconds > 0 && seconds <= 90 * 86400
          ? []
          : [`${address} rotation_period ${String(body.rotation_period)} is missing or longer than 90 days`];
      }),
  },
  {
    id: 'gcp/log-retention',
    description: 'Service logs are routed by a sink to a log bucket of this stack with a retention set',
    check(json) {
      const buckets = resourcesOf(json, 'google_logging_project_bucket_config');
      const problems = buckets.flatMap(([name, body]) =>
        typeof body.retention_days === 'number' && body.retention_days > 0
          ? []
          : [`google_logging_project_bucket_config.${name} has no retention_days`],
      );
      const routed = resourcesOf(json, 'google_logging_project_sink').some(([, body]) =>
        buckets.some(([name]) => String(body.destination).includes(`google_logging_project_bucket_config.${name}.`)),
      );
      if (!routed) problems.push('no log sink routes the services\u2019 logs to a log bucket with retention');
      return problems;
    },
  },
];
