import {
  CloudRunV2Service,
  CloudRunV2ServiceTemplateContainers,
  CloudRunV2ServiceTemplateContainersEnv,
} from '@cdktf/provider-google/lib/cloud-run-v2-service';
import { CloudRunV2ServiceIamMember } from '@cdktf/provider-google/lib/cloud-run-v2-service-iam-member';
import { ProjectIamMember } from '@cdktf/provider-google/lib/project-iam-member';
import { Fn, ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { createHash } from 'crypto';
import { SLOTS, type Slot } from '@data-sync/config';
import { runtimeCommand } from '../shared/runtime-bundle';

export interface GcpRuntimeProps {
  /** Cloud Run service name, e.g. `data-sync-prod-runtime`. */
  readonly name: string;
  /** Region of the service. */
  readonly region: string;
  /** Project id, for the metric writer grant. */
  readonly project: string;
  /** Image without tag, e.g. `us-central1-docker.pkg.dev/acme/data-sync/data-sync-service`. */
  readonly image: string;
  /** Image tag per slot; the deploying slot's tag becomes the new revision. */
  readonly imageTags: Readonly<Record<Slot, string>>;
  /** Slot that receives 100% of traffic; the other gets 0% and keeps its tag URL. */
  readonly activeSlot: Slot;
  /** Slot whose revision the template creates (the new image). */
  readonly deploymentSlot: Slot;
  /** Service account the runtime runs as (email). */
  readonly serviceAccountEmail: string;
  /** CPU units (1024 = 1 vCPU). */
  readonly cpuUnits: number;
  /** Memory in MiB. */
  readonly memoryMb: number;
  /** Instances kept warm per revision; at most 5x this many under load. */
  readonly instanceCount: number;
  /** Request timeout in seconds (the push worker's jobs run inside a request). */
  readonly timeoutSeconds: number;
  /** Plain environment variables. */
  readonly env: Readonly<Record<string, string>>;
  /** Environment variables read from Secret Manager: variable name -> secret id (latest version). */
  readonly secrets: Readonly<Record<string, string>>;
  /** VPC network and subnetwork for direct VPC egress (private Cloud SQL). */
  readonly network: { readonly networkId: string; readonly subnetworkId: string };
  /** Deletion protection on the service. @default false */
  readonly deletionProtection?: boolean;
  /** Grants the revision needs before it can start (secret access). @default none */
  readonly dependsOn?: ITerraformDependable[];
}

/** The container port the runtime listens on (Cloud Run sets PORT to it; the GMP sidecar scrapes it). */
export const GCP_RUNTIME_PORT = 8080;
/** Google's Managed Service for Prometheus sidecar for Cloud Run: scrapes :8080/metrics into Cloud Monitoring. */
export const GMP_SIDECAR_IMAGE =
  'us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.2.0';

/**
 * Revision name for an image tag: `<service>-<tag>` lowercased, at most 63 characters. It depends on
 * the tag only, so the slot that is not deploying points at the revision its tag created earlier,
 * and on a first deploy (both slots on one tag) both slots point at the one revision that exists.
 */
export function gcpRevisionName(service: string, tag: string): string {
  const clean = tag
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const suffix =
    service.length + 1 + clean.length <= 63 && clean
      ? clean
      : createHash('sha256')
          .update(tag)
          .digest('hex')
          .slice(0, Math.max(8, 62 - service.length));
  return `${service}-${suffix}`.slice(0, 63);
}

/**
 * The API and webhook runtime on Cloud Run v2 with blue-green through traffic tags: one traffic
 * entry per slot, tagged `blue`/`green` (each with its own tag URL), 100% on the active slot and 0%
 * on the other. The template's revision carries the deploying slot's image; switching `activeSlot`
 * changes only the percentages. The template depends on the image tag only (never on the slot), so
 * a revision name is never reused for a different template.
 */
export class GcpRuntime extends Construct {
  readonly service: CloudRunV2Service;
  /** Revision name per slot. */
  readonly revisions: Readonly<Record<Slot, string>>;
  /** Service URL (the active slot). */
  readonly url: string;
  /** Tag URL of each slot. */
  readonly slotUrls: Readonly<Record<Slot, string>>;

  constructor(scope: Construct, id: string, props: GcpRuntimeProps) {
    super(scope, id);
    const revisions = Object.fromEntries(
      SLOTS.map((slot) => [slot, gcpRevisionName(props.name, props.imageTags[slot])]),
    ) as Record<Slot, string>;
    this.revisions = revisions;
    const env: CloudRunV2ServiceTemplateContainersEnv[] = [
      ...Object.entries(props.env).map(([name, value]) => ({ name, value })),
      ...Object.entries(props.secrets).map(([name, secret]) => ({
        name,
        valueSource: { secretKeyRef: { secret, version: 'latest' } },
      })),
    ];
    const probe = {
      httpGet: { path: '/health', port: GCP_RUNTIME_PORT },
      periodSeconds: 10,
      failureThreshold: 6,
      timeoutSeconds: 5,
    };
    const runtime: CloudRunV2ServiceTemplateContainers = {
      name: 'runtime',
      image: `${props.image}:${props.imageTags[props.deploymentSlot]}`,
      args: runtimeCommand('gcp'),
      ports: { containerPort: GCP_RUNTIME_PORT, name: 'http1' },
      env: [...env, { name: 'HOST', value: '0.0.0.0' }],
      resources: {
        limits: { cpu: String(props.cpuUnits / 1024), memory: `${props.memoryMb}Mi` },
        cpuIdle: false,
        startupCpuBoost: true,
      },
      startupProbe: probe,
      livenessProbe: probe,
    };
    const sidecar: CloudRunV2ServiceTemplateContainers = {
      name: 'metrics',
      image: GMP_SIDECAR_IMAGE,
      dependsOn: ['runtime'],
      resources: { limits: { cpu: '0.5', memory: '512Mi' } },
    };
    const metricWriter = new ProjectIamMember(this, 'metric-writer', {
      project: props.project,
      role: 'roles/monitoring.metricWriter',
      member: `serviceAccount:${props.serviceAccountEmail}`,
    });
    this.service = new CloudRunV2Service(this, 'service', {
      name: props.name,
      location: props.region,
      ingress: 'INGRESS_TRAFFIC_ALL',
      deletionProtection: props.deletionProtection ?? false,
      template: {
        revision: revisions[props.deploymentSlot],
        serviceAccount: props.serviceAccountEmail,
        timeout: `${props.timeoutSeconds}s`,
        maxInstanceRequestConcurrency: 40,
        scaling: { minInstanceCount: props.instanceCount, maxInstanceCount: props.instanceCount * 5 },
        vpcAccess: {
          egress: 'PRIVATE_RANGES_ONLY',
          networkInterfaces: [{ network: props.network.networkId, subnetwork: props.network.subnetworkId }],
        },
        containers: [runtime, sidecar],
      },
      traffic: SLOTS.map((slot) => ({
        type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION',
        revision: revisions[slot],
        tag: slot,
        percent: slot === props.activeSlot ? 100 : 0,
      })),
      dependsOn: [metricWriter, ...(props.dependsOn ?? [])],
    });
    // Vendors post webhooks without Google credentials; the API authenticates and verifies signatures itself.
    new CloudRunV2ServiceIamMember(this, 'public-invoker', {
      name: this.service.name,
      location: props.region,
      role: 'roles/run.invoker',
      member: 'allUsers',
    });
    this.url = this.service.uri;
    this.slotUrls = {
      blue: Fn.replace(this.service.uri, 'https://', 'https://blue---'),
      green: Fn.replace(this.service.uri, 'https://', 'https://green---'),
    };
  }
}
