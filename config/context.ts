import { ENVIRONMENTS, EnvironmentName, FeatureFlags } from './environments';
import { contextItems } from './context-items';
import { N8N_CONTEXT_KEYS, parseEditorAllowlist, parseEditorMembers } from './n8n-shape';
import { STACK_OPTION_KEYS, type StackOptionsContext, parseStackOptions } from './stack-options';

export const SLOTS = ['blue', 'green'] as const;
export type Slot = (typeof SLOTS)[number];

export const CLOUDS = ['aws', 'gcp', 'azure', 'cloudflare', 'oci', 'ibm'] as const;
export type Cloud = (typeof CLOUDS)[number];

const FLAG_KEYS = [
  'enableCrmSync',
  'enableErpSync',
  'enableMarketingSync',
  'enableAnalyticsSync',
  'enableSocialSync',
  'enableN8nWorkflows',
  'enableProductionApis',
] as const satisfies readonly (keyof FeatureFlags)[];

/** Every context key a user may set, with what it accepts (shown in error messages). */
export const CONTEXT_KEYS = {
  environment: `one of ${ENVIRONMENTS.join(', ')} (default: all)`,
  clouds: `comma-separated list of ${CLOUDS.join(', ')} (default: all)`,
  deploymentSlot: `one of ${SLOTS.join(', ')}: the slot that receives imageTag (default: blue)`,
  activeSlot: `one of ${SLOTS.join(', ')}: the slot that receives all traffic (default: blue)`,
  imageTag: 'image tag deployed to deploymentSlot (default: stableImageTag)',
  stableImageTag: 'image tag of the slot that is not being deployed (default: 1.0.0)',
  stateBucket: 'S3 bucket for Terraform state with lock files (default: local state)',
  stateRegion: 'region of stateBucket (default: us-east-1)',
  stateLockTable: 'DynamoDB table that locks the S3 state (default: data-sync-terraform-locks)',
  ...Object.fromEntries(FLAG_KEYS.map((k) => [k, 'true or false (default: per environment)'])),
  ...STACK_OPTION_KEYS,
  ...N8N_CONTEXT_KEYS,
} as Record<string, string>;

/** The validated deploy context; feature flags only where the user set them. */
export interface DeployContext {
  readonly environments: readonly EnvironmentName[];
  readonly clouds: readonly Cloud[];
  readonly deploymentSlot: Slot;
  readonly activeSlot: Slot;
  readonly imageTag: string;
  readonly stableImageTag: string;
  readonly stateBucket?: string;
  readonly stateRegion: string;
  readonly stateLockTable: string;
  readonly flags: Partial<FeatureFlags>;
  /** Region, existing network and custom domain per cloud (config/stack-options.ts). */
  readonly stackOptions: StackOptionsContext;
  /** CIDRs that may open the n8n editor where it is restricted (config/n8n-shape.ts); none by default. */
  readonly n8nEditorAllowlist: readonly string[];
  /** IAM members that may open the n8n editor on GCP where it is restricted (config/n8n-shape.ts); none by default. */
  readonly n8nEditorMembers: readonly string[];
}

export class ContextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContextError';
  }
}

/** Keys cdktf itself puts in the context; they are not the user's to validate. */
const isCdktfKey = (key: string) =>
  key.startsWith('cdktf') ||
  key.startsWith('@cdktf/') ||
  key === 'excludeStackIdFromLogicalIds' ||
  key === 'allowSepCharsInLogicalIds';

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ContextError(
    `Invalid context value ${key}=${JSON.stringify(value)}: allowed values are ${allowed.join(', ')}`,
  );
}

function bool(key: string, value: unknown): boolean {
  if (value === true || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0') return false;
  throw new ContextError(`Invalid context value ${key}=${JSON.stringify(value)}: allowed values are true, false`);
}

const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
function imageTag(key: string, value: unknown): string {
  if (typeof value === 'string' && IMAGE_TAG.test(value)) return value;
  throw new ContextError(
    `Invalid context value ${key}=${JSON.stringify(value)}: expected a Docker image tag ([A-Za-z0-9_.-], at most 128 characters)`,
  );
}

function list<T extends string>(key: string, value: unknown, allowed: readonly T[]): T[] {
  const items = contextItems(value);
  if (items.length === 0)
    throw new ContextError(`Invalid context value ${key}="": allowed values are ${allowed.join(', ')}`);
  return [...new Set(items.map((item) => oneOf(key, item, allowed)))];
}

/** Validates raw context (from CDKTF_CONTEXT_JSON and DATA_SYNC_* variables); throws ContextError naming the key. */
export function parseContext(raw: Record<string, unknown>): DeployContext {
  for (const key of Object.keys(raw)) {
    if (!(key in CONTEXT_KEYS) && !isCdktfKey(key)) {
      throw new ContextError(`Unknown context key "${key}": allowed keys are ${Object.keys(CONTEXT_KEYS).join(', ')}`);
    }
  }
  const flags: Partial<Record<keyof FeatureFlags, boolean>> = {};
  for (const key of FLAG_KEYS) if (raw[key] !== undefined) flags[key] = bool(key, raw[key]);
  const stableImageTag = raw.stableImageTag === undefined ? '1.0.0' : imageTag('stableImageTag', raw.stableImageTag);
  if (
    raw.stateBucket !== undefined &&
    (typeof raw.stateBucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(raw.stateBucket))
  ) {
    throw new ContextError(
      `Invalid context value stateBucket=${JSON.stringify(raw.stateBucket)}: expected an S3 bucket name`,
    );
  }
  const environments =
    raw.environment === undefined ? [...ENVIRONMENTS] : [oneOf('environment', raw.environment, ENVIRONMENTS)];
  const stackOptions = parseStackOptions(raw, environments.length, (key, value, expected) => {
    throw new ContextError(`Invalid context value ${key}=${JSON.stringify(value)}: ${expected}`);
  });
  const n8nEditorAllowlist = parseEditorAllowlist(raw, (key, value, expected) => {
    throw new ContextError(`Invalid context value ${key}=${JSON.stringify(value)}: ${expected}`);
  });
  const n8nEditorMembers = parseEditorMembers(raw, (key, value, expected) => {
    throw new ContextError(`Invalid context value ${key}=${JSON.stringify(value)}: ${expected}`);
  });
  return {
    environments,
    clouds: raw.clouds === undefined ? [...CLOUDS] : list('clouds', raw.clouds, CLOUDS),
    deploymentSlot: raw.deploymentSlot === undefined ? 'blue' : oneOf('deploymentSlot', raw.deploymentSlot, SLOTS),
    activeSlot: raw.activeSlot === undefined ? 'blue' : oneOf('activeSlot', raw.activeSlot, SLOTS),
    imageTag: raw.imageTag === undefined ? stableImageTag : imageTag('imageTag', raw.imageTag),
    stableImageTag,
    stateBucket: raw.stateBucket as string | undefined,
    stateRegion: typeof raw.stateRegion === 'string' ? raw.stateRegion : 'us-east-1',
    stateLockTable: typeof raw.stateLockTable === 'string' ? raw.stateLockTable : 'data-sync-terraform-locks',
    flags,
    stackOptions,
    n8nEditorAllowlist,
    n8nEditorMembers,
  };
}

/** `activeSlot` -> `DATA_SYNC_ACTIVE_SLOT`. */
export const envVarName = (key: string) => `DATA_SYNC_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`;

/**
 * Raw context from the process: `DATA_SYNC_*` variables first, then CDKTF_CONTEXT_JSON
 * (what `npm run synth|deploy -- -c key=value` writes), which wins.
 */
export function readRawContext(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(CONTEXT_KEYS)) {
    const value = env[envVarName(key)];
    if (value !== undefined) raw[key] = value;
  }
  if (env.CDKTF_CONTEXT_JSON) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.CDKTF_CONTEXT_JSON);
    } catch {
      throw new ContextError('CDKTF_CONTEXT_JSON is not valid JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new ContextError('CDKTF_CONTEXT_JSON must be a JSON object');
    Object.assign(raw, parsed);
  }
  return raw;
}
