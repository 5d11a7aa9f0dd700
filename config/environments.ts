import type { IntegrationFamily } from './integrations';

export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;
export type EnvironmentName = (typeof ENVIRONMENTS)[number];

/** Integration feature flags, named as the context variables that override them. */
export interface FeatureFlags {
  readonly enableCrmSync: boolean;
  readonly enableErpSync: boolean;
  readonly enableMarketingSync: boolean;
  readonly enableAnalyticsSync: boolean;
  readonly enableSocialSync: boolean;
  readonly enableN8nWorkflows: boolean;
  readonly enableProductionApis: boolean;
}

export const FAMILY_FLAG: Record<IntegrationFamily, keyof FeatureFlags> = {
  crm: 'enableCrmSync',
  erp: 'enableErpSync',
  marketing: 'enableMarketingSync',
  analytics: 'enableAnalyticsSync',
  social: 'enableSocialSync',
};

/** Where Terraform keeps state: local by default so synth needs no cloud account. */
export type BackendConfig =
  | { readonly type: 'local' }
  | {
      readonly type: 's3';
      readonly bucket: string;
      readonly region: string;
      readonly keyPrefix: string;
      readonly lockTable: string;
    };

export interface EnvironmentConfig {
  readonly name: EnvironmentName;
  /** Service name, prefix of every resource name. */
  readonly serviceName: string;
  /** Runtime tasks/instances per slot. */
  readonly instanceCount: number;
  /** CPU units per task (1024 = 1 vCPU). */
  readonly cpuUnits: number;
  /** Memory per task in MiB. */
  readonly memoryMb: number;
  /** Default feature flags; context variables override them. */
  readonly features: FeatureFlags;
  /** Days logs are kept. */
  readonly logRetentionDays: number;
  /** Queue deliveries before a message goes to the dead-letter queue. */
  readonly maxReceiveCount: number;
  /** Longest a worker may spend on one job, in seconds; queue visibility is set above it. */
  readonly workerTimeoutSeconds: number;
  /** Database sizing and protection. */
  readonly database: {
    readonly instanceClass: string;
    readonly allocatedStorageGb: number;
    readonly multiAz: boolean;
    readonly deletionProtection: boolean;
    readonly backupRetentionDays: number;
  };
  /** Terraform state backend. */
  readonly backend: BackendConfig;
  /** Address that receives alert notifications. */
  readonly alertEmail: string;
}

const DESIGN_DEFAULTS = {
  serviceName: 'data-sync-service',
  instanceCount: 2,
  cpuUnits: 1024,
  memoryMb: 2048,
} as const;

export const ENVIRONMENT_CONFIGS: Record<EnvironmentName, EnvironmentConfig> = {
  dev: {
    name: 'dev',
    ...DESIGN_DEFAULTS,
    // "Development (limited integrations)": CRM and marketing only, sandbox APIs.
    features: {
      enableCrmSync: true,
      enableErpSync: false,
      enableMarketingSync: true,
      enableAnalyticsSync: false,
      enableSocialSync: false,
      enableN8nWorkflows: true,
      enableProductionApis: false,
    },
    logRetentionDays: 7,
    maxReceiveCount: 3,
    workerTimeoutSeconds: 300,
    database: {
      instanceClass: 'db.t4g.micro',
      allocatedStorageGb: 20,
      multiAz: false,
      deletionProtection: false,
      backupRetentionDays: 1,
    },
    backend: { type: 'local' },
    alertEmail: 'data-sync-alerts-dev@example.com',
  },
  staging: {
    name: 'staging',
    ...DESIGN_DEFAULTS,
    // The design document's feature flag defaults.
    features: {
      enableCrmSync: true,
      enableErpSync: false,
      enableMarketingSync: true,
      enableAnalyticsSync: true,
      enableSocialSync: false,
      enableN8nWorkflows: true,
      enableProductionApis: false,
    },
    logRetentionDays: 30,
    maxReceiveCount: 5,
    workerTimeoutSeconds: 300,
    database: {
      instanceClass: 'db.t4g.medium',
      allocatedStorageGb: 50,
      multiAz: false,
      deletionProtection: false,
      backupRetentionDays: 7,
    },
    backend: { type: 'local' },
    alertEmail: 'data-sync-alerts-staging@example.com',
  },
  prod: {
    name: 'prod',
    ...DESIGN_DEFAULTS,
    // "Production (all integrations)".
    features: {
      enableCrmSync: true,
      enableErpSync: true,
      enableMarketingSync: true,
      enableAnalyticsSync: true,
      enableSocialSync: true,
      enableN8nWorkflows: true,
      enableProductionApis: true,
    },
    logRetentionDays: 90,
    maxReceiveCount: 5,
    workerTimeoutSeconds: 300,
    database: {
      instanceClass: 'db.r6g.large',
      allocatedStorageGb: 100,
      multiAz: true,
      deletionProtection: true,
      backupRetentionDays: 30,
    },
    backend: { type: 'local' },
    alertEmail: 'data-sync-alerts@example.com',
  },
};
