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
  /** Azure Flexible Server SKUs of the runtime's and n8n's servers (Burstable in dev; HA needs General Purpose). */
  readonly azurePostgresSku: { readonly runtime: string; readonly n8n: string };
  /** GCP Cloud SQL machine tiers of the runtime's and n8n's instances (the AWS instance classes' counterparts). */
  readonly gcpSqlTier: { readonly runtime: string; readonly n8n: string };
}

const AZURE_SKU = { burstable: 'B_Standard_B1ms', d2: 'GP_Standard_D2ds_v5', d4: 'GP_Standard_D4ds_v5' } as const;
const GCP_TIER = { small: 'db-custom-1-3840', medium: 'db-custom-2-7680', large: 'db-custom-4-16384' } as const;

export const CLOUD_SIZING: Readonly<Record<EnvironmentName, CloudSizing>> = {
  dev: {
    logLevel: 'debug',
    awsNatGateways: 1,
    ociDatabase: { ocpus: 2, memoryGb: 32 },
    ibmEventStreamsEnterprise: false,
    azurePostgresSku: { runtime: AZURE_SKU.burstable, n8n: AZURE_SKU.burstable },
    gcpSqlTier: { runtime: GCP_TIER.small, n8n: GCP_TIER.small },
  },
  staging: {
    logLevel: 'debug',
    awsNatGateways: 1,
    ociDatabase: { ocpus: 2, memoryGb: 32 },
    ibmEventStreamsEnterprise: false,
    azurePostgresSku: { runtime: AZURE_SKU.d2, n8n: AZURE_SKU.burstable },
    gcpSqlTier: { runtime: GCP_TIER.medium, n8n: GCP_TIER.small },
  },
  // n8n's server is highly available in prod, which a Burstable SKU cannot be.
  prod: {
    logLevel: 'info',
    awsNatGateways: 2,
    ociDatabase: { ocpus: 4, memoryGb: 64 },
    ibmEventStreamsEnterprise: true,
    azurePostgresSku: { runtime: AZURE_SKU.d4, n8n: AZURE_SKU.d2 },
    gcpSqlTier: { runtime: GCP_TIER.large, n8n: GCP_TIER.small },
  },
};
