import { type RuntimeProcess, resourcesOf, runsRuntime } from './runtime-process';

interface OciContainer {
  display_name: string;
  arguments?: string[];
  command?: string[];
  environment_variables?: Record<string, string>;
}

/**
 * The container instances' runtime containers. Their secrets arrive as files: the instance's secrets
 * sidecar writes each Vault secret (`... --secret-id <ocid> ... > /secrets/<file>`) and the pgpass line.
 */
export function ociContainers(stack: any): RuntimeProcess[] {
  return resourcesOf(stack, 'oci_container_instances_container_instance').flatMap(([name, instance]) => {
    const containers = instance.containers as OciContainer[];
    const sidecar = containers.find((c) => c.display_name === 'secrets')?.command?.join(' ') ?? '';
    const files: Record<string, string> = {};
    for (const [, id, file] of sidecar.matchAll(/--secret-id (\S+) .*?> (\/secrets\/\S+?)(?: &&|$)/g)) files[file] = id;
    if (/> \/secrets\/pgpass/.test(sidecar)) files['/secrets/pgpass'] = 'pgpass';
    return containers
      .filter((c) => runsRuntime(c.arguments))
      .map((c) => ({
        name: `oci_container_instances_container_instance.${name}/${c.display_name}`,
        command: c.arguments!,
        env: c.environment_variables ?? {},
        secrets: {},
        listed: Object.keys(c.environment_variables ?? {}),
        files,
      }));
  });
}
