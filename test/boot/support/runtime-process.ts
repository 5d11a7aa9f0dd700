/**
 * A runtime process as a stack deploys it, read off the synthesized JSON: the command its container
 * starts, its plain environment (Terraform references still in it) and the variables the platform
 * fills from the secret manager. Each cloud's reader (./<cloud>.ts) finds its processes.
 */
export interface RuntimeProcess {
  /** Resource and container, e.g. `aws_ecs_task_definition.runtime_blue_task/app`. */
  readonly name: string;
  /** The container's CMD (node dist/runtime/<bundle>.js), run from the image's WORKDIR. */
  readonly command: readonly string[];
  /** Plain variables as synthesized. */
  readonly env: Readonly<Record<string, string>>;
  /** Variables the platform injects from its secret manager: name -> the secret's reference. */
  readonly secrets: Readonly<Record<string, string>>;
  /** Every variable name as listed (plain and secret), to find a name set twice. */
  readonly listed: readonly string[];
  /** Files a secrets sidecar writes before the app reads them: path -> the secret's reference. */
  readonly files?: Readonly<Record<string, string>>;
}

/** The resources of `type` whose logical name starts with `prefix`, by name. */
export function resourcesOf(stack: any, type: string, prefix = ''): [string, any][] {
  return Object.entries<any>(stack.resource?.[type] ?? {}).filter(([name]) => name.startsWith(prefix));
}

/** Whether a container runs one of the runtime's bundles. */
export const runsRuntime = (command: unknown): command is string[] =>
  Array.isArray(command) && command.some((word) => /^dist\/runtime\/\w+\.js$/.test(String(word)));
