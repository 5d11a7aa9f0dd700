import type { Construct } from 'constructs';
import type { Cloud, StackSettings } from '../config';
import { AwsStack } from './aws';
import type { DataSyncStack } from './data-sync-stack';
import { AzureStack } from './azure';
import { CloudflareStack } from './cloudflare';
import { GcpStack } from './gcp';
import { OciStack } from './oci';
import { IbmStack } from './ibm';

export type StackFactory = (scope: Construct, settings: StackSettings) => DataSyncStack;

/** One composition per cloud; a cloud without an entry cannot be synthesized yet. */
export const STACK_FACTORIES: Partial<Record<Cloud, StackFactory>> = {
  aws: (scope, settings) => new AwsStack(scope, settings),
  oci: (scope, settings) => new OciStack(scope, settings),
  ibm: (scope, settings) => new IbmStack(scope, settings),
  gcp: (scope, settings) => new GcpStack(scope, settings),
  azure: (scope, settings) => new AzureStack(scope, settings),
  cloudflare: (scope, settings) => new CloudflareStack(scope, settings),
};
