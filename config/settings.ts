import type { Cloud, DeployContext, Slot } from './context';
import {
  ENVIRONMENT_CONFIGS,
  EnvironmentConfig,
  EnvironmentName,
  FAMILY_FLAG,
  FeatureFlags,
  BackendConfig,
} from './environments';
import { INTEGRATIONS, IntegrationSettings } from './integrations';
import { type N8nShape, n8nShape } from './n8n-shape';

/** Everything one stack needs: environment values, effective flags, enabled integrations and slots. */
export interface StackSettings {
  readonly cloud: Cloud;
  readonly env: EnvironmentConfig;
  /** Environment defaults with the context's overrides applied. */
  readonly features: FeatureFlags;
  /** Integrations whose family flag is on and which are enabled in the catalog. */
  readonly integrations: readonly IntegrationSettings[];
  readonly activeSlot: Slot;
  readonly deploymentSlot: Slot;
  /** Image tag per slot: deploymentSlot gets imageTag, the other slot stableImageTag. */
  readonly imageTags: Readonly<Record<Slot, string>>;
  readonly backend: BackendConfig;
  /** `data-sync-<cloud>-<environment>`. */
  readonly stackName: string;
  /** Short resource prefix, `data-sync-<environment>`. */
  readonly prefix: string;
  /** n8n's processes and editor access in this environment (config/n8n-shape.ts). */
  readonly n8n: N8nShape;
}

export const stackName = (cloud: Cloud, environment: EnvironmentName) => `data-sync-${cloud}-${environment}`;

export function resolveSettings(cloud: Cloud, environment: EnvironmentName, context: DeployContext): StackSettings {
  const env = ENVIRONMENT_CONFIGS[environment];
  const features: FeatureFlags = { ...env.features, ...context.flags };
  const other: Slot = context.deploymentSlot === 'blue' ? 'green' : 'blue';
  return {
    cloud,
    env,
    features,
    integrations: INTEGRATIONS.filter((i) => i.enabled && features[FAMILY_FLAG[i.family]]),
    activeSlot: context.activeSlot,
    deploymentSlot: context.deploymentSlot,
    imageTags: { [context.deploymentSlot]: context.imageTag, [other]: context.stableImageTag } as Record<Slot, string>,
    backend: context.stateBucket
      ? {
          type: 's3',
          bucket: context.stateBucket,
          region: context.stateRegion,
          keyPrefix: `data-sync/${cloud}/${environment}`,
          lockTable: context.stateLockTable,
        }
      : env.backend,
    stackName: stackName(cloud, environment),
    prefix: `data-sync-${environment}`,
    n8n: n8nShape(environment, { cidrs: context.n8nEditorAllowlist, members: context.n8nEditorMembers }),
  };
}
