import { ContainerApp } from '@cdktf/provider-azurerm/lib/container-app';
import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import {
  keyVaultSecretEnv,
  prometheusAgentSidecar,
  type AzureAppIdentity,
  type AzureMetricsSink,
} from '../runtime/azure';
import type { AzureSecrets } from '../secrets/azure';
import { runtimeCommand } from '../shared/runtime-bundle';

export interface AzureWorkerProps {
  /** Container app name (at most 32 characters), e.g. `ds-prod-worker`. */
  readonly name: string;
  readonly resourceGroupName: string;
  readonly environmentId: string;
  /** Full image reference; the worker runs the active slot's image. */
  readonly image: string;
  /** Registry login server the identity pulls from. */
  readonly registry: string;
  /** Identity with a role on the Service Bus queue; the queue binding's variables come in `env`. */
  readonly identity: AzureAppIdentity;
  /** Replicas consuming the queue. */
  readonly replicas: number;
  /** CPU units (1024 = 1 vCPU) and memory in MiB. */
  readonly cpuUnits: number;
  readonly memoryMb: number;
  /** Plain environment variables shared with the runtime. */
  readonly env: Readonly<Record<string, string>>;
  readonly secrets: AzureSecrets;
  readonly secretNames: readonly string[];
  readonly metrics: AzureMetricsSink;
  /** The identity's Key Vault grants (the job cannot resolve its secrets before them); @default none */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * The queue worker: a Container App without ingress running the runtime's worker loop, receiving
 * from the Service Bus queue with its managed identity (peek-lock; abandon to retry, the queue's
 * max delivery count dead-letters). It runs the active slot's image, so jobs are processed by the
 * version that takes traffic.
 */
export class AzureWorker extends Construct {
  readonly app: ContainerApp;

  constructor(scope: Construct, id: string, props: AzureWorkerProps) {
    super(scope, id);
    const fromVault = keyVaultSecretEnv(props.secrets, props.identity.id, props.secretNames);
    this.app = new ContainerApp(this, 'app', {
      name: props.name,
      resourceGroupName: props.resourceGroupName,
      containerAppEnvironmentId: props.environmentId,
      revisionMode: 'Single',
      workloadProfileName: 'Consumption',
      identity: { type: 'UserAssigned', identityIds: [props.identity.id] },
      registry: [{ server: props.registry, identity: props.identity.id }],
      secret: fromVault.secret,
      template: {
        minReplicas: props.replicas,
        maxReplicas: props.replicas,
        terminationGracePeriodSeconds: 60,
        container: [
          {
            name: 'worker',
            image: props.image,
            args: runtimeCommand('azure'),
            cpu: props.cpuUnits / 1024,
            memory: `${props.memoryMb / 1024}Gi`,
            env: [
              ...Object.entries(props.env).map(([name, value]) => ({ name, value })),
              // `all`: the worker loop plus the HTTP server for /health and /metrics (the `worker` role serves no HTTP);
              // without ingress the API is unreachable from outside the app.
              { name: 'DATA_SYNC_ROLE', value: 'all' },
              { name: 'HOST', value: '0.0.0.0' },
              { name: 'PORT', value: '8080' },
              { name: 'AZURE_CLIENT_ID', value: props.identity.clientId },
              ...fromVault.env,
            ],
            livenessProbe: [
              { transport: 'HTTP', path: '/health', port: 8080, intervalSeconds: 15, failureCountThreshold: 4 },
            ],
          },
          prometheusAgentSidecar(props.metrics, 8080, { service: 'data-sync', app: props.name }),
        ],
      },
      dependsOn: props.dependsOn,
    });
  }
}
