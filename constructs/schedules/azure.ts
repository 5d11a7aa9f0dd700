import { ContainerAppJob } from '@cdktf/provider-azurerm/lib/container-app-job';
import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import type { IntegrationSettings } from '@data-sync/config';
import { keyVaultSecretName, type AzureSecrets } from '../secrets/azure';
import { cronFor } from './gcp';

/** A small image with curl and a shell, for the scheduled trigger calls. */
export const CURL_IMAGE = 'docker.io/curlimages/curl:8.16.0';
/** The Key Vault secret holding an operator-role API token of the runtime, for the scheduled triggers. */
export const SCHEDULER_TOKEN_SECRET = 'SCHEDULER_API_TOKEN';

export interface AzureSchedulesProps {
  /** Job name prefix (job names are at most 32 characters), e.g. `ds-prod`. */
  readonly prefix: string;
  readonly resourceGroupName: string;
  readonly location: string;
  readonly environmentId: string;
  /** Runtime base URL, e.g. `https://<fqdn>`: jobs call `POST /api/sync/trigger/<integration>`. */
  readonly runtimeUrl: string;
  /** Identity that reads the token from Key Vault. */
  readonly identityId: string;
  readonly secrets: AzureSecrets;
  /** Enabled integrations: one job each, on its sync_interval. */
  readonly integrations: readonly IntegrationSettings[];
  /** The identity's Key Vault grant: a job cannot resolve its secret before it. */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * One scheduled Container Apps job per enabled integration (cron from its sync_interval, UTC) that
 * asks the runtime to enqueue a sync (`POST /api/sync/trigger/<integration>` with an operator token
 * from Key Vault); the runtime puts the job on the Service Bus queue.
 */
export class AzureSchedules extends Construct {
  /** By integration name. */
  readonly jobs: Readonly<Record<string, ContainerAppJob>>;

  constructor(scope: Construct, id: string, props: AzureSchedulesProps) {
    super(scope, id);
    const tokenSecret = keyVaultSecretName(SCHEDULER_TOKEN_SECRET);
    this.jobs = Object.fromEntries(
      props.integrations.map((integration) => {
        const name = `${props.prefix}-sync-${integration.name.replace(/_/g, '-')}`;
        if (name.length > 32)
          throw new Error(
            `Container Apps job name "${name}" is longer than 32 characters: shorten the prefix or integration name`,
          );
        const job = new ContainerAppJob(this, integration.name, {
          name,
          resourceGroupName: props.resourceGroupName,
          location: props.location,
          containerAppEnvironmentId: props.environmentId,
          workloadProfileName: 'Consumption',
          replicaTimeoutInSeconds: 120,
          replicaRetryLimit: 2,
          identity: { type: 'UserAssigned', identityIds: [props.identityId] },
          secret: [
            {
              name: tokenSecret,
              keyVaultSecretId: props.secrets.secretUrl(SCHEDULER_TOKEN_SECRET),
              identity: props.identityId,
            },
          ],
          scheduleTriggerConfig: {
            cronExpression: cronFor(integration.syncInterval),
            parallelism: 1,
            replicaCompletionCount: 1,
          },
          dependsOn: props.dependsOn,
          template: {
            container: [
              {
                name: 'trigger',
                image: CURL_IMAGE,
                cpu: 0.25,
                memory: '0.5Gi',
                command: [
                  '/bin/sh',
                  '-c',
                  'curl --fail-with-body -sS -X POST -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" -d "{}" "$RUNTIME_URL/api/sync/trigger/$INTEGRATION"',
                ],
                env: [
                  { name: 'RUNTIME_URL', value: props.runtimeUrl },
                  { name: 'INTEGRATION', value: integration.name },
                  { name: 'TOKEN', secretName: tokenSecret },
                ],
              },
            ],
          },
        });
        return [integration.name, job];
      }),
    );
  }
}
