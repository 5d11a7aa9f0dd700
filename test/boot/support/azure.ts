import { type RuntimeProcess, resourcesOf, runsRuntime } from './runtime-process';

interface AppContainer {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; secret_name?: string }[];
}

/** The Container Apps' runtime containers; secret variables name an app secret (a Key Vault reference). */
export function azureContainers(stack: any): RuntimeProcess[] {
  return resourcesOf(stack, 'azurerm_container_app').flatMap(([name, app]) => {
    const vault = new Map<string, string>(
      (app.secret ?? []).map((s: { name: string; key_vault_secret_id: string }) => [s.name, s.key_vault_secret_id]),
    );
    return (app.template.container as AppContainer[])
      .filter((c) => runsRuntime(c.args))
      .map((c) => ({
        name: `azurerm_container_app.${name}/${c.name}`,
        command: c.args!,
        env: Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!])),
        secrets: Object.fromEntries(
          (c.env ?? [])
            .filter((e) => e.secret_name)
            .map((e) => {
              const reference = vault.get(e.secret_name!);
              if (!reference)
                throw new Error(`${name}: ${e.name} names the app secret ${e.secret_name}, which it lacks`);
              return [e.name, reference];
            }),
        ),
        listed: (c.env ?? []).map((e) => e.name),
      }));
  });
}
