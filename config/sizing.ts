/**
 * Per-cloud sizing and the settings that differ in prod, by environment: one table instead of
 * `env.name === 'prod' ? … : …` inside the stacks. The cloud-neutral sizes stay in environments.ts.
 */
import type { EnvironmentName } from './environments';

export interface CloudSizing {
  /** Runtime log level (debug outside prod). */
  readonly logLevel: 'info' | 'debug';
  /** AWS NAT gateways: one per AZ in prod (no cross-AZ egress dependency), one shared elsewhere. */
  readonly awsNatGateways: 1 | 2;
  /** OCI PostgreSQL DB system OCPUs and memory. */
  readonly ociDatabase: { readonly ocpus: number; readonly memoryGb: number };
  /** IBM Event Streams Enterprise plan (dedicated, multi-zone) instead of Standard. */
  readonly ibmEventStreamsEnterprise: boolean;
}

export const CLOUD_SIZING: Readonly<Record<EnvironmentName, CloudSizing>> = {
  dev: {
    logLevel: 'debug',
    awsNatGateways: 1,
    ociDatabase: { ocpus: 2, memoryGb: 32 },
    ibmEventStreamsEnterprise: false,
  },
  staging: {
    logLevel: 'debug',
    awsNatGateways: 1,
    ociDatabase: { ocpus: 2, memoryGb: 32 },
    ibmEventStreamsEnterprise: false,
  },
  prod: {
    logLevel: 'info',
    awsNatGateways: 2,
    ociDatabase: { ocpus: 4, memoryGb: 64 },
    ibmEventStreamsEnterprise: true,
  },
};
