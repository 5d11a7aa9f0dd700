/**
 * Rules for every n8n container any cloud runs: the one pinned version, no basic-auth variable (n8n
 * removed basic auth in 1.0, so it protects nothing), the owner account managed by the environment
 * (no claimable setup page), and the encryption key, owner and credential values from the cloud's
 * secret manager, never literal. Containers are found by their image (`n8nio/n8n:`).
 */
import { N8N_PROCESS_SECRETS } from '../../../constructs/n8n/provisioning';
import { ANYWHERE, type N8nEditorCloud, editorReachable } from './n8n-editor';
import { N8N_VERSION } from '../../../constructs/shared/n8n-image';
import { type Block, type TerraformJson, parseJsonString, resourcesOf } from '../terraform-checks';
import type { PolicyRule } from '.';

/** One n8n container: plain variables by name, and the names filled from a secret. */
export interface N8nContainer {
  readonly address: string;
  /** The resource's own name (task family, service, app or instance name), e.g. `data-sync-prod-n8n`. */
  readonly name: string;
  readonly image: string;
  readonly literal: ReadonlyMap<string, string>;
  readonly secret: ReadonlySet<string>;
  /** `worker` or `webhook` for a queue-mode process (`n8n worker`, `n8n webhook`), else `main`. */
  readonly role: 'main' | 'worker' | 'webhook';
}

const N8N_IMAGE = /(^|\/)n8nio\/n8n:/;
const list = (value: unknown): Block[] =>
  Array.isArray(value) ? (value as Block[]) : value && typeof value === 'object' ? [value as Block] : [];

/** Every n8n container of a synthesized stack, with its environment read the way its cloud sets it. */
export function n8nContainers(json: TerraformJson): N8nContainer[] {
  const found: N8nContainer[] = [];
  const add = (
    address: string,
    name: unknown,
    image: unknown,
    literal: [string, unknown][],
    secret: string[],
    command?: unknown,
  ) => {
    const words = Array.isArray(command) ? command.map(String) : [];
    const role = words[0] === 'n8n' && (words[1] === 'worker' || words[1] === 'webhook') ? words[1] : 'main';
    if (typeof image === 'string' && N8N_IMAGE.test(image))
      found.push({
        address,
        name: String(name),
        image,
        literal: new Map(literal.map(([k, v]) => [k, String(v)])),
        secret: new Set(secret),
        role,
      });
  };
  for (const [name, task] of resourcesOf(json, 'aws_ecs_task_definition')) {
    for (const c of list(parseJsonString(task.container_definitions))) {
      add(
        `aws_ecs_task_definition.${name}`,
        task.family,
        c.image,
        list(c.environment).map((e) => [String(e.name), e.value]),
        list(c.secrets).map((e) => String(e.name)),
        c.entryPoint,
      );
    }
  }
  for (const [name, service] of resourcesOf(json, 'google_cloud_run_v2_service')) {
    for (const c of list((service.template as Block | undefined)?.containers)) {
      const env = list(c.env);
      add(
        `google_cloud_run_v2_service.${name}`,
        service.name,
        c.image,
        env.filter((e) => e.value !== undefined).map((e) => [String(e.name), e.value]),
        env.filter((e) => e.value_source !== undefined).map((e) => String(e.name)),
        c.command,
      );
    }
  }
  for (const [name, app] of resourcesOf(json, 'azurerm_container_app')) {
    for (const c of list((app.template as Block | undefined)?.container)) {
      const env = list(c.env);
      add(
        `azurerm_container_app.${name}`,
        app.name,
        c.image,
        env.filter((e) => e.value !== undefined).map((e) => [String(e.name), e.value]),
        env.filter((e) => e.secret_name !== undefined).map((e) => String(e.name)),
        c.command,
      );
    }
  }
  for (const [name, instance] of resourcesOf(json, 'oci_container_instances_container_instance')) {
    for (const c of list(instance.containers)) {
      const env = Object.entries((c.environment_variables as Record<string, unknown>) ?? {});
      // Vault secrets arrive as files the secrets sidecar writes; `X_FILE` is how n8n reads X.
      add(
        `oci_container_instances_container_instance.${name}`,
        instance.display_name,
        c.image_url,
        env.filter(([k]) => !k.endsWith('_FILE')),
        env
          .filter(([k, v]) => k.endsWith('_FILE') && String(v).startsWith('/secrets/'))
          .map(([k]) => k.slice(0, -'_FILE'.length)),
        c.command,
      );
    }
  }
  const configMaps = new Map(
    resourcesOf(json, 'ibm_code_engine_config_map').map(([name, map]) => [
      name,
      (map.data as Record<string, unknown>) ?? {},
    ]),
  );
  for (const [name, app] of resourcesOf(json, 'ibm_code_engine_app')) {
    const refs = list(app.run_env_variables);
    const literal = refs.flatMap((r): [string, unknown][] => {
      if (r.type === 'literal') return [[String(r.name), r.value]];
      const map =
        r.type === 'config_map_full_reference'
          ? /ibm_code_engine_config_map\.([\w-]+)\./.exec(String(r.reference))
          : null;
      return map ? Object.entries(configMaps.get(map[1]) ?? {}) : [];
    });
    // The Code Engine secret is created empty and filled from Secrets Manager out of band: a key reference
    // reads one of its keys; a whole-secret reference, every process secret not set literally.
    const secret = [
      ...refs.filter((r) => r.type === 'secret_key_reference').map((r) => String(r.name)),
      ...(refs.some((r) => r.type === 'secret_full_reference')
        ? N8N_PROCESS_SECRETS.filter((s) => !literal.some(([k]) => k === s))
        : []),
    ];
    add(`ibm_code_engine_app.${name}`, app.name, app.image_reference, literal, secret, app.run_commands);
  }
  return found;
}

/** Secrets a queue-mode worker or webhook process reads: the same encryption key as main, and Redis's password. */
const QUEUE_PROCESS_SECRETS = ['N8N_ENCRYPTION_KEY', 'QUEUE_BULL_REDIS_PASSWORD'] as const;

/** The cloud of a resource type (its provider's prefix). */
const CLOUD_OF_TYPE: Readonly<Record<string, N8nEditorCloud>> = {
  aws: 'aws',
  google: 'gcp',
  azurerm: 'azure',
  oci: 'oci',
  ibm: 'ibm',
};

/** The environment in an n8n main's name (`data-sync-prod-n8n`, `ds-staging-n8n`). */
const ENVIRONMENT_IN_NAME = /-(dev|staging|prod)-n8n$/;

export const N8N_POLICIES: readonly PolicyRule[] = [
  {
    id: 'common/n8n-editor-not-public',
    description:
      "Outside dev, n8n's editor (main) admits no request from an arbitrary internet address on any cloud that runs n8n; webhooks may stay public",
    check(json) {
      return n8nContainers(json)
        .filter((c) => c.role === 'main')
        .flatMap((main) => {
          // Stacks name their environment in every resource; JSON without one (a hand-made fixture) is not judged.
          const environment = ENVIRONMENT_IN_NAME.exec(main.name)?.[1];
          const cloud = CLOUD_OF_TYPE[main.address.split('_')[0]];
          if (!environment || environment === 'dev' || !cloud) return [];
          return editorReachable(cloud, json, ANYWHERE)
            ? [`${main.address} (${main.name}): n8n's editor admits a request from any internet address`]
            : [];
        });
    },
  },
  {
    id: 'common/n8n-hardened',
    description: `Every n8n container runs n8n ${N8N_VERSION} and sets no N8N_BASIC_AUTH_* variable; main has its owner managed by the environment and reads ${N8N_PROCESS_SECRETS.join(', ')} from a secret; queue workers and webhook processes read ${QUEUE_PROCESS_SECRETS.join(', ')} from a secret`,
    check: (json) =>
      n8nContainers(json).flatMap((c) => {
        const secrets: readonly string[] = c.role === 'main' ? N8N_PROCESS_SECRETS : QUEUE_PROCESS_SECRETS;
        return [
          ...(c.image.endsWith(`:${N8N_VERSION}`) ? [] : [`${c.address} runs ${c.image}, not n8n ${N8N_VERSION}`]),
          ...[...c.literal.keys(), ...c.secret]
            .filter((k) => k.startsWith('N8N_BASIC_AUTH_'))
            .map((k) => `${c.address} sets ${k} (n8n has no basic auth since 1.0)`),
          ...(c.role !== 'main' || c.literal.get('N8N_INSTANCE_OWNER_MANAGED_BY_ENV') === 'true'
            ? []
            : [
                `${c.address} does not set N8N_INSTANCE_OWNER_MANAGED_BY_ENV=true (its owner account could be claimed)`,
              ]),
          ...secrets.filter((s) => !c.secret.has(s)).map((s) => `${c.address} does not read ${s} from a secret`),
          ...[...N8N_PROCESS_SECRETS, ...QUEUE_PROCESS_SECRETS]
            .filter((s) => c.literal.has(s))
            .map((s) => `${c.address} sets ${s} as a plain value`),
        ];
      }),
  },
];
