import { type RuntimeProcess, resourcesOf, runsRuntime } from './runtime-process';

interface CloudRunContainer {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; value_source?: { secret_key_ref: { secret: string } } }[];
}

/** The Cloud Run services' runtime containers. */
export function gcpContainers(stack: any): RuntimeProcess[] {
  return resourcesOf(stack, 'google_cloud_run_v2_service').flatMap(([name, service]) =>
    (service.template.containers as CloudRunContainer[])
      .filter((c) => runsRuntime(c.args))
      .map((c) => ({
        name: `google_cloud_run_v2_service.${name}/${c.name}`,
        command: c.args!,
        env: Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!])),
        secrets: Object.fromEntries(
          (c.env ?? []).filter((e) => e.value_source).map((e) => [e.name, e.value_source!.secret_key_ref.secret]),
        ),
        listed: (c.env ?? []).map((e) => e.name),
      })),
  );
}
