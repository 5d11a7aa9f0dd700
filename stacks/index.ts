import type { Construct } from 'constructs';
import type { Cloud, StackOptionsContext, StackSettings } from '@data-sync/config';
import { AwsStack } from './aws';
import type { DataSyncStack } from './data-sync-stack';
import { AzureStack } from './azure';
import { CloudflareStack } from './cloudflare';
import { GcpStack } from './gcp';
import { OciStack } from './oci';
import { IbmStack } from './ibm';

export type StackFactory = (scope: Construct, settings: StackSettings, options: StackOptionsContext) => DataSyncStack;

/** One composition per cloud, given its options from context; a cloud without an entry cannot be synthesized yet. */
export const STACK_FACTORIES: Partial<Record<Cloud, StackFactory>> = {
  aws: (scope, settings, options) => new AwsStack(scope, settings, options.aws),
  oci: (scope, settings, options) => new OciStack(scope, settings, options.oci),
  ibm: (scope, settings, options) => new IbmStack(scope, settings, options.ibm),
  gcp: (scope, settings, options) => new GcpStack(scope, settings, options.gcp),
  azure: (scope, settings, options) => new AzureStack(scope, settings, options.azure),
  cloudflare: (scope, settings) => new CloudflareStack(scope, settings),
};
