/** Cloudflare policy rules: queues dead-letter, Hyperdrive password from a sensitive variable, Worker secrets never inline, proxied origins behind Access, no provider credentials in the configuration. */
import { type Block, type TerraformJson, resourcesOf } from '../terraform-checks';
import type { PolicyRule } from '.';

const list = (value: unknown): Block[] =>
  value === undefined ? [] : Array.isArray(value) ? (value as Block[]) : [value as Block];

function eachResource(
  json: TerraformJson,
  types: string[],
  check: (address: string, body: Block) => string[],
): string[] {
  return types.flatMap((type) => resourcesOf(json, type).flatMap(([name, body]) => check(`${type}.${name}`, body)));
}

/** `${cloudflare_queue.NAME.queue_id|queue_name|id}` -> NAME. */
const queueRef = (value: unknown) =>
  typeof value === 'string'
    ? /^\$\{cloudflare_queue\.([\w-]+)\.(queue_id|queue_name|id)\}$/.exec(value)?.[1]
    : undefined;

export const CLOUDFLARE_POLICIES: readonly PolicyRule[] = [
  {
    id: 'cloudflare/queue-dead-letter',
    description:
      'Every queue is consumed by a Worker that dead-letters to a queue of this stack, and every dead-letter queue has a consumer that keeps its messages reachable',
    check(json) {
      const consumers = resourcesOf(json, 'cloudflare_queue_consumer').map(([name, body]) => ({
        name,
        body,
        queue: queueRef(body.queue_id),
        dlq: queueRef(body.dead_letter_queue),
      }));
      const deadLetterQueues = new Set(consumers.map((c) => c.dlq).filter((q): q is string => !!q));
      const problems: string[] = [];
      for (const [name] of resourcesOf(json, 'cloudflare_queue')) {
        const own = consumers.filter((c) => c.queue === name);
        if (deadLetterQueues.has(name)) {
          if (own.length === 0)
            problems.push(
              `dead-letter queue cloudflare_queue.${name} has no consumer: nothing can inspect or redrive it`,
            );
          continue;
        }
        // A queue another service consumes (the event bus) is pulled over HTTP, with the same dead-letter rules.
        const worker = own.find((c) => c.body.type === 'worker' || c.body.type === 'http_pull');
        if (!worker) problems.push(`cloudflare_queue.${name} has no Worker consumer`);
        else if (!worker.dlq || !json.resource?.cloudflare_queue?.[worker.dlq])
          problems.push(`cloudflare_queue_consumer.${worker.name} has no dead_letter_queue of this stack`);
        else if (typeof (worker.body.settings as Block | undefined)?.max_retries !== 'number')
          problems.push(`cloudflare_queue_consumer.${worker.name} sets no max_retries`);
      }
      return problems;
    },
  },
  {
    id: 'cloudflare/hyperdrive-password-variable',
    description: 'Hyperdrive origin passwords come from a sensitive Terraform variable',
    check: (json) =>
      eachResource(json, ['cloudflare_hyperdrive_config'], (address, body) => {
        const password = (body.origin as Block | undefined)?.password;
        const variable = typeof password === 'string' ? /^\$\{var\.([\w-]+)\}$/.exec(password)?.[1] : undefined;
        if (!variable) return [`${address} origin.password is not a variable reference`];
        return (json.variable?.[variable] as Block | undefined)?.sensitive === true
          ? []
          : [`${address} reads variable ${variable}, which is not marked sensitive`];
      }),
  },
  {
    id: 'cloudflare/worker-secrets-out-of-band',
    description: 'Workers carry no inline secret_text binding and keep the secrets set out of band',
    check: (json) =>
      eachResource(json, ['cloudflare_workers_script'], (address, body) => [
        ...list(body.bindings)
          .filter((b) => b.type === 'secret_text' || b.type === 'secret_key')
          .map((b) => `${address} declares secret binding ${String(b.name)} in the configuration`),
        ...(Array.isArray(body.keep_bindings) && body.keep_bindings.includes('secret_text')
          ? []
          : [`${address} does not keep_bindings secret_text: an upload would delete the secrets`]),
      ]),
  },
  {
    id: 'cloudflare/origins-behind-access',
    description:
      'Every proxied CNAME to an external origin is an Access application; bypass policies only on path-scoped applications',
    check(json) {
      const applications = resourcesOf(json, 'cloudflare_zero_trust_access_application').map(([, body]) => body);
      const problems = resourcesOf(json, 'cloudflare_dns_record')
        .filter(([, body]) => body.type === 'CNAME' && body.proxied === true)
        .filter(([, body]) => !applications.some((app) => app.domain === body.name))
        .map(
          ([name, body]) =>
            `cloudflare_dns_record.${name} exposes origin ${String(body.content)} without an Access application on ${String(body.name)}`,
        );
      const bypass = new Set(
        resourcesOf(json, 'cloudflare_zero_trust_access_policy')
          .filter(([, body]) => body.decision === 'bypass')
          .map(([name]) => name),
      );
      for (const [name, body] of resourcesOf(json, 'cloudflare_zero_trust_access_application')) {
        const usesBypass = list(body.policies).some((p) =>
          [...bypass].some((policy) => String(p.id).includes(`cloudflare_zero_trust_access_policy.${policy}.`)),
        );
        if (usesBypass && !String(body.domain).includes('/'))
          problems.push(`cloudflare_zero_trust_access_application.${name} bypasses Access for a whole hostname`);
      }
      return problems;
    },
  },
  {
    id: 'cloudflare/notifications-deliver',
    description: 'Every notification policy is enabled and delivers somewhere',
    check: (json) =>
      eachResource(json, ['cloudflare_notification_policy'], (address, body) => {
        const mechanisms = (body.mechanisms as Block | undefined) ?? {};
        const targets = Object.values(mechanisms).flatMap((m) => list(m));
        return [
          ...(body.enabled === true ? [] : [`${address} is not enabled`]),
          ...(targets.length > 0 ? [] : [`${address} delivers to no mechanism`]),
        ];
      }),
  },
  {
    id: 'cloudflare/no-provider-credentials',
    description: 'The provider takes its API token from the environment, never from the configuration',
    check(json) {
      const providers = list((json.provider as Record<string, unknown> | undefined)?.cloudflare);
      return providers.flatMap((p, i) =>
        ['api_token', 'api_key', 'api_user_service_key']
          .filter((key) => p[key] !== undefined)
          .map((key) => `provider cloudflare[${i}] sets ${key} in the configuration`),
      );
    },
  },
];
