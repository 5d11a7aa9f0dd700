import {
  ContainerApp,
  ContainerAppSecret,
  ContainerAppTemplateContainer,
  ContainerAppTemplateContainerEnv,
} from '@cdktf/provider-azurerm/lib/container-app';
import { ContainerAppEnvironment } from '@cdktf/provider-azurerm/lib/container-app-environment';
import { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace';
import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { createHash } from 'crypto';
import { SLOTS, type Slot } from '@data-sync/config';
import { keyVaultSecretName, type AzureSecrets } from '../secrets/azure';
import { runtimeCommand } from '../shared/runtime-bundle';

export interface AzureAppsEnvironmentProps {
  /** Resource name prefix, e.g. `ds-prod`. */
  readonly prefix: string;
  readonly resourceGroupName: string;
  readonly location: string;
  /** Subnet delegated to Microsoft.App/environments. */
  readonly subnetId: string;
  /** Days logs are kept (Log Analytics keeps 30-730; shorter values become 30). */
  readonly logRetentionDays: number;
  /** Spread replicas across availability zones. */
  readonly zoneRedundant: boolean;
}

/** The Container Apps environment every app and job runs in, VNet-integrated, logging to Log Analytics. */
export class AzureAppsEnvironment extends Construct {
  readonly logs: LogAnalyticsWorkspace;
  readonly environment: ContainerAppEnvironment;

  constructor(scope: Construct, id: string, props: AzureAppsEnvironmentProps) {
    super(scope, id);
    this.logs = new LogAnalyticsWorkspace(this, 'logs', {
      name: `${props.prefix}-logs`,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      sku: 'PerGB2018',
      retentionInDays: Math.min(730, Math.max(30, props.logRetentionDays)),
    });
    this.environment = new ContainerAppEnvironment(this, 'environment', {
      name: `${props.prefix}-apps`,
      resourceGroupName: props.resourceGroupName,
      location: props.location,
      logAnalyticsWorkspaceId: this.logs.id,
      infrastructureSubnetId: props.subnetId,
      zoneRedundancyEnabled: props.zoneRedundant,
      workloadProfile: [{ name: 'Consumption', workloadProfileType: 'Consumption' }],
    });
  }
}

/** Identity (user-assigned) an app or job runs as: its resource id and client id. */
export interface AzureAppIdentity {
  readonly id: string;
  readonly clientId: string;
}

/** Key Vault references for `names`: the app's `secret` blocks and the env entries that read them. */
export function keyVaultSecretEnv(
  secrets: AzureSecrets,
  identityId: string,
  names: readonly string[],
): { secret: ContainerAppSecret[]; env: ContainerAppTemplateContainerEnv[] } {
  return {
    secret: names.map((name) => ({
      name: keyVaultSecretName(name),
      keyVaultSecretId: secrets.secretUrl(name),
      identity: identityId,
    })),
    env: names.map((name) => ({ name, secretName: keyVaultSecretName(name) })),
  };
}

/** The Prometheus agent sidecar that scrapes the runtime and remote-writes to an Azure Monitor workspace. */
export const PROMETHEUS_AGENT_IMAGE = 'quay.io/prometheus/prometheus:v3.5.0';

/** Where the runtime's metrics go: a DCR ingestion URL and the identity allowed to publish to it. */
export interface AzureMetricsSink {
  /** `<DCE metrics ingestion endpoint>/dataCollectionRules/<immutable id>/streams/Microsoft-PrometheusMetrics/api/v1/write?api-version=2023-04-24`. */
  readonly remoteWriteUrl: string;
  /** Client id of the identity holding Monitoring Metrics Publisher on the DCR. */
  readonly clientId: string;
}

/** A sidecar container running Prometheus in agent mode: scrapes localhost:`port`/metrics, writes with Entra ID auth. */
export function prometheusAgentSidecar(
  sink: AzureMetricsSink,
  port: number,
  labels: Readonly<Record<string, string>>,
): ContainerAppTemplateContainer {
  const config = {
    global: { scrape_interval: '30s', external_labels: labels },
    scrape_configs: [
      { job_name: 'data-sync', metrics_path: '/metrics', static_configs: [{ targets: [`localhost:${port}`] }] },
    ],
    remote_write: [
      { url: sink.remoteWriteUrl, azuread: { cloud: 'AzurePublic', managed_identity: { client_id: sink.clientId } } },
    ],
  };
  return {
    name: 'metrics',
    image: PROMETHEUS_AGENT_IMAGE,
    cpu: 0.25,
    memory: '0.5Gi',
    // The image has a busybox shell; the config (JSON is YAML) comes in through the environment.
    command: [
      '/bin/sh',
      '-c',
      'printf "%s" "$PROMETHEUS_CONFIG" > /tmp/prometheus.yml && exec /bin/prometheus --agent --config.file=/tmp/prometheus.yml --storage.agent.path=/tmp/agent',
    ],
    env: [{ name: 'PROMETHEUS_CONFIG', value: JSON.stringify(config) }],
  };
}

export interface AzureRuntimeProps {
  /** Container app name (at most 32 characters), e.g. `ds-prod-runtime`. */
  readonly name: string;
  readonly resourceGroupName: string;
  /** The Container Apps environment: its id, and its default domain (for the label URLs). */
  readonly environment: { readonly id: string; readonly defaultDomain: string };
  /** Registry login server and image repository, e.g. `acme.azurecr.io` and `data-sync-service`. */
  readonly registry: string;
  readonly repository: string;
  /** Image tag per slot; the deploying slot's tag becomes the new revision. */
  readonly imageTags: Readonly<Record<Slot, string>>;
  /** Slot that receives 100% of traffic; the other gets 0% and keeps its label URL. */
  readonly activeSlot: Slot;
  /** Slot whose revision the template creates (the new image). */
  readonly deploymentSlot: Slot;
  /** Identity the app runs as (pulls images, reads secrets, publishes metrics). */
  readonly identity: AzureAppIdentity;
  /** CPU units (1024 = 1 vCPU) and memory in MiB (Consumption: 0.25 vCPU steps, 2 GiB per vCPU). */
  readonly cpuUnits: number;
  readonly memoryMb: number;
  /** Replicas per revision at least; at most 5x under load. */
  readonly instanceCount: number;
  /** Plain environment variables. */
  readonly env: Readonly<Record<string, string>>;
  /** Secrets from Key Vault read into environment variables of the same name. */
  readonly secrets: AzureSecrets;
  readonly secretNames: readonly string[];
  /** Where the Prometheus agent sidecar writes the runtime's metrics. */
  readonly metrics: AzureMetricsSink;
  /** Grants the revisions need before they start (AcrPull, Key Vault). @default none */
  readonly dependsOn?: ITerraformDependable[];
}

/** The port the runtime listens on inside its container. */
export const AZURE_RUNTIME_PORT = 8080;

/**
 * Revision suffix for an image tag (`1.4.0` -> `v1-4-0`; tags longer than 19 characters -> `v` and a
 * hash), so `<app>--<suffix>` stays within the 54 characters of a revision name. It depends on the
 * tag only, so the slot that is not deploying keeps pointing at the revision its tag created, and on
 * a first deploy both labels point at the one revision that exists.
 */
export function azureRevisionSuffix(tag: string): string {
  const clean = tag
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return clean && clean.length <= 19 ? `v${clean}` : `v${createHash('sha256').update(tag).digest('hex').slice(0, 12)}`;
}

/**
 * The API and webhook runtime as a Container App with `revision_mode = Multiple`: one traffic weight
 * per slot labelled `blue`/`green` (each label has its own URL), 100 on the active slot and 0 on the
 * other. The template (revision) carries the deploying slot's image; switching `activeSlot` changes
 * only the weights.
 */
export class AzureRuntime extends Construct {
  readonly app: ContainerApp;
  /** Revision suffix per slot. */
  readonly revisions: Readonly<Record<Slot, string>>;
  /** App URL (the active slot). */
  readonly url: string;
  /** Label URL of each slot. */
  readonly slotUrls: Readonly<Record<Slot, string>>;

  constructor(scope: Construct, id: string, props: AzureRuntimeProps) {
    super(scope, id);
    this.revisions = Object.fromEntries(
      SLOTS.map((slot) => [slot, azureRevisionSuffix(props.imageTags[slot])]),
    ) as Record<Slot, string>;
    const fromVault = keyVaultSecretEnv(props.secrets, props.identity.id, props.secretNames);
    const probe = { transport: 'HTTP', path: '/health', port: AZURE_RUNTIME_PORT };
    this.app = new ContainerApp(this, 'app', {
      name: props.name,
      resourceGroupName: props.resourceGroupName,
      containerAppEnvironmentId: props.environment.id,
      revisionMode: 'Multiple',
      workloadProfileName: 'Consumption',
      identity: { type: 'UserAssigned', identityIds: [props.identity.id] },
      registry: [{ server: props.registry, identity: props.identity.id }],
      secret: fromVault.secret,
      ingress: {
        externalEnabled: true,
        targetPort: AZURE_RUNTIME_PORT,
        transport: 'auto',
        allowInsecureConnections: false,
        trafficWeight: SLOTS.map((slot) => ({
          label: slot,
          revisionSuffix: this.revisions[slot],
          latestRevision: false,
          percentage: slot === props.activeSlot ? 100 : 0,
        })),
      },
      template: {
        revisionSuffix: this.revisions[props.deploymentSlot],
        minReplicas: props.instanceCount,
        maxReplicas: props.instanceCount * 5,
        httpScaleRule: [{ name: 'http', concurrentRequests: '40' }],
        container: [
          {
            name: 'runtime',
            image: `${props.registry}/${props.repository}:${props.imageTags[props.deploymentSlot]}`,
            args: runtimeCommand('azure'),
            cpu: props.cpuUnits / 1024,
            memory: `${props.memoryMb / 1024}Gi`,
            env: [
              ...Object.entries(props.env).map(([name, value]) => ({ name, value })),
              { name: 'HOST', value: '0.0.0.0' },
              { name: 'PORT', value: String(AZURE_RUNTIME_PORT) },
              { name: 'AZURE_CLIENT_ID', value: props.identity.clientId },
              ...fromVault.env,
            ],
            startupProbe: [{ ...probe, failureCountThreshold: 10, intervalSeconds: 5 }],
            livenessProbe: [{ ...probe, intervalSeconds: 10, failureCountThreshold: 3 }],
            readinessProbe: [{ ...probe, path: '/health/ready', intervalSeconds: 10, failureCountThreshold: 3 }],
          },
          prometheusAgentSidecar(props.metrics, AZURE_RUNTIME_PORT, { service: 'data-sync', app: props.name }),
        ],
      },
      dependsOn: props.dependsOn,
    });
    this.url = `https://${this.app.ingress.fqdn}`;
    this.slotUrls = {
      blue: `https://${props.name}---blue.${props.environment.defaultDomain}`,
      green: `https://${props.name}---green.${props.environment.defaultDomain}`,
    };
  }
}
