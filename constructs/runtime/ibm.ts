import { Construct } from 'constructs';
import { SLOTS, type Slot } from '@data-sync/config';
import {
  IbmCodeEngineApp,
  IbmCodeEngineConfigMap,
  IbmCodeEngineDomainMapping,
  type IbmCodeEngineEnvVariable,
  IbmCodeEngineProject,
  IbmCodeEngineSecret,
} from '../providers/ibm';
import { runtimeCommand } from '../shared/runtime-bundle';

/** Code Engine secret holding the registry credentials (`ibmcloud ce registry create --name icr-pull ...`). */
export const REGISTRY_SECRET = 'icr-pull';

/** Code Engine CPU/memory pair for a CPU-unit and MiB request (Code Engine accepts fixed combinations). */
export function codeEngineSize(cpuUnits: number, memoryMb: number): { cpu: string; memory: string } {
  return { cpu: String(cpuUnits / 1024), memory: `${memoryMb / 1024}G` };
}

/** Environment of a Code Engine workload: its config map and its secret, both referenced whole. */
export function envFrom(
  configMap: string,
  secret: string,
  literals: Record<string, string> = {},
): IbmCodeEngineEnvVariable[] {
  return [
    { type: 'config_map_full_reference', reference: configMap },
    { type: 'secret_full_reference', reference: secret },
    ...Object.entries(literals).map(([name, value]) => ({ type: 'literal' as const, name, value })),
  ];
}

export interface IbmRuntimeProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly resourceGroupId: string;
  /** Image repository without tag, e.g. `us.icr.io/data-sync/data-sync-service`. */
  readonly imageRepository: string;
  readonly activeSlot: Slot;
  readonly imageTags: Readonly<Record<Slot, string>>;
  /** Instances per slot (min = max: the slot is always warm for a switch). */
  readonly instanceCount: number;
  readonly cpuUnits: number;
  readonly memoryMb: number;
  /** Plain configuration (config map, no secrets). */
  readonly config: Record<string, string>;
  /** Custom API hostname (its CNAME points at the mapping's cname_target) and the Code Engine TLS secret of its certificate, created out of band. @default none: `url` is the active app's own HTTPS endpoint */
  readonly customDomain?: { readonly domainName: string; readonly certificate: string };
  /** Port the runtime listens on. @default 3000 */
  readonly port?: number;
}

/**
 * Runtime capability on IBM Cloud: a Code Engine project with two apps, blue and green, each with
 * its own image tag and Code Engine's managed HTTPS endpoint. With a custom domain, one domain
 * mapping points it at the active app, so switching activeSlot changes only the mapping's
 * component; without one, `url` is the active app's endpoint (it changes with the switch). Configuration comes from a config map, secrets
 * from a Code Engine secret that Terraform creates empty and never reads back.
 */
export class IbmRuntime extends Construct {
  readonly project: InstanceType<typeof IbmCodeEngineProject>;
  readonly projectId: string;
  readonly apps = {} as Record<Slot, InstanceType<typeof IbmCodeEngineApp>>;
  /** The custom domain's mapping to the active app; absent without a custom domain. */
  readonly domainMapping?: InstanceType<typeof IbmCodeEngineDomainMapping>;
  /** The active slot's URL: the custom domain, or the active app's endpoint. */
  readonly url: string;
  /** Each slot app's own public endpoint. */
  readonly slotUrls: Readonly<Record<Slot, string>>;
  readonly configMapName: string;
  readonly secretName: string;

  constructor(scope: Construct, id: string, props: IbmRuntimeProps) {
    super(scope, id);
    const port = props.port ?? 3000;
    this.project = new IbmCodeEngineProject(this, 'project', {
      name: props.prefix,
      resource_group_id: props.resourceGroupId,
    });
    this.projectId = this.project.attr('project_id');
    this.configMapName = new IbmCodeEngineConfigMap(this, 'config', {
      project_id: this.projectId,
      name: 'runtime-config',
      data: props.config,
    }).attr('name');
    this.secretName = new IbmCodeEngineSecret(
      this,
      'secret',
      { project_id: this.projectId, name: 'runtime-credentials', format: 'generic', data: {} },
      { lifecycle: { ignoreChanges: ['data'] } },
    ).attr('name');
    const size = codeEngineSize(props.cpuUnits, props.memoryMb);
    for (const slot of SLOTS) {
      this.apps[slot] = new IbmCodeEngineApp(this, `api-${slot}`, {
        project_id: this.projectId,
        name: `${props.prefix}-api-${slot}`,
        image_reference: `${props.imageRepository}:${props.imageTags[slot]}`,
        run_arguments: runtimeCommand('ibm'),
        image_port: port,
        image_secret: REGISTRY_SECRET,
        managed_domain_mappings: 'local_public',
        run_env_variables: envFrom(this.configMapName, this.secretName, {
          DATA_SYNC_ROLE: 'api',
          DATA_SYNC_SLOT: slot,
          HOST: '0.0.0.0',
          PORT: String(port),
        }),
        scale_min_instances: props.instanceCount,
        scale_max_instances: props.instanceCount,
        scale_cpu_limit: size.cpu,
        scale_memory_limit: size.memory,
        probe_readiness: [{ type: 'http', path: '/health', port, interval: 10, failure_threshold: 3 }],
      });
    }
    if (props.customDomain) {
      this.domainMapping = new IbmCodeEngineDomainMapping(this, 'domain', {
        project_id: this.projectId,
        name: props.customDomain.domainName,
        tls_secret: props.customDomain.certificate,
        component: [{ name: this.apps[props.activeSlot].attr('name'), resource_type: 'app_v2' }],
      });
    }
    this.url = props.customDomain
      ? `https://${props.customDomain.domainName}`
      : this.apps[props.activeSlot].attr('endpoint');
    this.slotUrls = { blue: this.apps.blue.attr('endpoint'), green: this.apps.green.attr('endpoint') };
  }
}
