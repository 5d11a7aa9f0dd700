/**
 * The n8n processes of synthesized stacks, as each cloud gives them to its containers: command, plain
 * environment and the secret each variable is read from. Every environment of the clouds that run
 * n8n in containers is synthesized once per test process, with an editor allowlist and editor members
 * in context.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildApp } from '../../../app';

export const N8N_CLOUDS = ['aws', 'gcp', 'azure', 'oci', 'ibm'] as const;
export type N8nCloud = (typeof N8N_CLOUDS)[number];

/** The allowlist and the editor's IAM members the stacks are synthesized with. */
export const EDITOR_ALLOWLIST = ['203.0.113.0/24', '198.51.100.7/32'];
export const EDITOR_MEMBERS = ['group:n8n-editors@example.com', 'user:ana@example.com'];

let outdir: string | undefined;

/** The synthesized `cdk.tf.json` of `data-sync-<cloud>-<environment>`. */
export function n8nStack(cloud: N8nCloud, environment: string): any {
  if (!outdir) {
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'n8n-stacks-'));
    buildApp({
      context: {
        clouds: N8N_CLOUDS.join(','),
        n8nEditorAllowlist: EDITOR_ALLOWLIST.join(','),
        n8nEditorMembers: EDITOR_MEMBERS.join(','),
      },
      outdir,
    }).app.synth();
  }
  return JSON.parse(
    fs.readFileSync(path.join(outdir, 'stacks', `data-sync-${cloud}-${environment}`, 'cdk.tf.json'), 'utf8'),
  );
}

export interface SynthesizedN8nProcess {
  /** The service, app or task name. */
  readonly name: string;
  readonly command: readonly string[];
  /** Plain variables. */
  readonly env: Readonly<Record<string, string>>;
  /** Variables read from a secret: name -> the secret reference (ARN, secret id or Container Apps secret). */
  readonly secrets: Readonly<Record<string, string>>;
  readonly instances: number;
}

type Env = { name: string; value?: string; secret_name?: string; value_source?: any };
const split = (env: readonly Env[]) => ({
  env: Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!])),
  secrets: Object.fromEntries(
    env
      .filter((e) => e.value === undefined)
      .map((e) => [e.name, String(e.secret_name ?? e.value_source?.secret_key_ref?.secret)]),
  ),
});

/** The Vault secret reference an OCI instance's secrets sidecar writes into `file`. */
function vaultSecretWrittenTo(host: any, file: string): string {
  const sidecar = host.containers.find((c: any) => c.display_name === 'secrets');
  const steps = String(sidecar.command.at(-1)).split(' && ');
  const step = steps.find((s) => s.endsWith(`> ${file}`));
  if (!step) throw new Error(`${host.display_name}: no secret is written to ${file}`);
  return /--secret-id (\S+)/.exec(step)![1];
}

/** Every n8n process (main, workers, webhook processes) of a stack. */
export function n8nProcessesOf(cloud: N8nCloud, stack: any): SynthesizedN8nProcess[] {
  const r = stack.resource;
  if (cloud === 'ibm') {
    // Plain settings from the config map each app references whole; secrets by key from a Code Engine secret.
    const configMaps = r.ibm_code_engine_config_map as Record<string, any>;
    return Object.values(r.ibm_code_engine_app as Record<string, any>)
      .filter((a) => String(a.name).includes('-n8n'))
      .map((app) => {
        const refs: any[] = app.run_env_variables;
        const env: Record<string, string> = {};
        for (const ref of refs.filter((e) => e.type === 'config_map_full_reference')) {
          const map = /ibm_code_engine_config_map\.([\w-]+)\./.exec(ref.reference)![1];
          Object.assign(env, configMaps[map].data);
        }
        for (const ref of refs.filter((e) => e.type === 'literal')) env[ref.name] = ref.value;
        const keyed = refs.filter((e) => e.type === 'secret_key_reference');
        return {
          name: app.name,
          command: app.run_commands,
          env,
          secrets: Object.fromEntries(keyed.map((e) => [e.name, `${e.reference}#${e.key}`])),
          instances: app.scale_min_instances,
        };
      });
  }
  if (cloud === 'oci') {
    // One container instance per process instance (`<name>-<i>` in a pool); secrets arrive as `X_FILE`.
    const byName = new Map<string, SynthesizedN8nProcess>();
    for (const host of Object.values(r.oci_container_instances_container_instance as Record<string, any>)) {
      const name = String(host.display_name).replace(/-\d+$/, '');
      if (!name.includes('-n8n')) continue;
      const app = host.containers[0];
      const vars = Object.entries(app.environment_variables as Record<string, string>);
      const seen = byName.get(name);
      byName.set(name, {
        name,
        command: app.command,
        env: Object.fromEntries(vars.filter(([k]) => !k.endsWith('_FILE'))),
        // The Vault secret the secrets sidecar writes into each file.
        secrets: Object.fromEntries(
          vars
            .filter(([k]) => k.endsWith('_FILE'))
            .map(([k, file]) => [k.slice(0, -'_FILE'.length), vaultSecretWrittenTo(host, file)]),
        ),
        instances: (seen?.instances ?? 0) + 1,
      });
    }
    return [...byName.values()];
  }
  if (cloud === 'aws') {
    const services = Object.values(r.aws_ecs_service as Record<string, any>);
    return Object.values(r.aws_ecs_task_definition as Record<string, any>)
      .filter((t) => String(t.family).includes('-n8n'))
      .map((task) => {
        const container = JSON.parse(task.container_definitions)[0];
        const service = services.find((s) => s.name === task.family);
        return {
          name: task.family,
          command: [...container.entryPoint, ...(container.command ?? [])],
          env: Object.fromEntries(container.environment.map((e: any) => [e.name, e.value])),
          secrets: Object.fromEntries(container.secrets.map((e: any) => [e.name, e.valueFrom])),
          instances: service.desired_count,
        };
      });
  }
  if (cloud === 'gcp')
    return Object.values(r.google_cloud_run_v2_service as Record<string, any>)
      .filter((s) => String(s.name).includes('-n8n'))
      .map((s) => ({
        name: s.name,
        command: s.template.containers[0].command,
        ...split(s.template.containers[0].env),
        instances: s.template.scaling.min_instance_count,
      }));
  return Object.values(r.azurerm_container_app as Record<string, any>)
    .filter((a) => String(a.name).includes('-n8n'))
    .map((a) => ({
      name: a.name,
      command: a.template.container[0].command,
      ...split(a.template.container[0].env),
      instances: a.template.min_replicas,
    }));
}

/** The process whose name ends with `suffix` (`-n8n`, `-n8n-workers`, `-n8n-webhooks`). */
export function processNamed(processes: readonly SynthesizedN8nProcess[], suffix: string): SynthesizedN8nProcess {
  const found = processes.find((p) => p.name.endsWith(suffix));
  if (!found) throw new Error(`no n8n process *${suffix} (has ${processes.map((p) => p.name).join(', ')})`);
  return found;
}
