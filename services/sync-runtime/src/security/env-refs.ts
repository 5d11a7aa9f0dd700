/**
 * Credentials by reference: an integration's config may hold `{ "$env": "HUBSPOT_API_KEY" }` where a
 * secret goes. The stacks put each catalog credential into the runtime's environment from the cloud's
 * secret manager, so the secret never passes through the API or the database, and rotating it there
 * takes effect at the next start. Only the credential names of the integration's own system resolve: a
 * reference to any other variable (DATABASE_URL, the encryption key, another vendor's key) would let an admin
 * send it to a URL that system calls.
 */
import * as fs from 'fs';
import { INTEGRATIONS, findIntegration } from '@data-sync/config/integrations';

/** Every variable some config may reference (what the stacks may set): the catalog's credentials. */
export const REFERABLE_VARIABLES: ReadonlySet<string> = new Set(INTEGRATIONS.flatMap((i) => i.credentials));

/** The variables a config of `system` may reference: its catalog entry's credentials. */
export const referableVariables = (system: string): readonly string[] => findIntegration(system)?.credentials ?? [];

export interface EnvRef {
  readonly $env: string;
}

export const isEnvRef = (value: unknown): value is EnvRef =>
  value !== null &&
  typeof value === 'object' &&
  !Array.isArray(value) &&
  Object.keys(value).length === 1 &&
  typeof (value as { $env?: unknown }).$env === 'string';

/** A reference that cannot be resolved, with the config path and the variable it names. */
export class EnvRefError extends Error {
  constructor(
    readonly path: string,
    readonly variable: string,
    reason: string,
  ) {
    super(`config ${path || '(root)'} references ${variable}, which ${reason}`);
    this.name = 'EnvRefError';
  }
}

/**
 * `config` (of an integration of `system`) with every reference replaced by its variable's value (or the content
 * of `<NAME>_FILE`, one trailing newline dropped, for mounted secrets). Throws EnvRefError for a name that is not
 * one of the system's catalog credentials, or unset.
 */
export function resolveEnvRefs(config: unknown, env: NodeJS.ProcessEnv, system: string, path = ''): unknown {
  if (isEnvRef(config)) {
    const name = config.$env;
    const referable = referableVariables(system);
    if (!referable.includes(name))
      throw new EnvRefError(
        path,
        name,
        `is not a credential of ${system} in the integration catalog (${[...referable].sort().join(', ') || 'it has none'})`,
      );
    const value = env[name];
    if (value) return value;
    const file = env[`${name}_FILE`];
    if (file) {
      try {
        return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        throw new EnvRefError(
          path,
          name,
          `could not be read from ${name}_FILE (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        );
      }
    }
    throw new EnvRefError(path, name, 'is not set in this deployment');
  }
  if (Array.isArray(config)) return config.map((item, i) => resolveEnvRefs(item, env, system, `${path}/${i}`));
  if (config !== null && typeof config === 'object')
    return Object.fromEntries(
      Object.entries(config).map(([k, v]) => [k, resolveEnvRefs(v, env, system, `${path}/${k}`)]),
    );
  return config;
}

/** `parsed` (a validated, resolved config) with the references of `raw` put back where they were. */
export function keepEnvRefs(parsed: unknown, raw: unknown): unknown {
  if (isEnvRef(raw)) return raw;
  if (Array.isArray(parsed) && Array.isArray(raw)) return parsed.map((item, i) => keepEnvRefs(item, raw[i]));
  if (
    parsed !== null &&
    typeof parsed === 'object' &&
    !Array.isArray(parsed) &&
    raw !== null &&
    typeof raw === 'object' &&
    !Array.isArray(raw)
  ) {
    const source = raw as Record<string, unknown>;
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, k in source ? keepEnvRefs(v, source[k]) : v]));
  }
  return parsed;
}
