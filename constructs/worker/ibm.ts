import { Construct } from 'constructs';
import { IbmCodeEngineJob, IbmCodeEngineJobRun } from '../providers/ibm';
import { REGISTRY_SECRET, codeEngineSize, envFrom } from '../runtime/ibm';
import { runtimeCommand } from '../shared/runtime-bundle';

export interface IbmWorkerProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly projectId: string;
  /** Runtime image with tag (the stable image: workers are not part of blue-green). */
  readonly image: string;
  readonly configMapName: string;
  readonly secretName: string;
  /** Parallel worker instances (array indices); @default 2 */
  readonly instanceCount?: number;
}

/** Worker capability on IBM Cloud: a Code Engine job in daemon mode (restarted forever) running the worker loop on the store queue, started by a job run. */
export class IbmWorker extends Construct {
  readonly job: InstanceType<typeof IbmCodeEngineJob>;

  constructor(scope: Construct, id: string, props: IbmWorkerProps) {
    super(scope, id);
    const instances = props.instanceCount ?? 2;
    const size = codeEngineSize(1024, 2048);
    this.job = new IbmCodeEngineJob(this, 'job', {
      project_id: props.projectId,
      name: `${props.prefix}-worker`,
      image_reference: props.image,
      run_arguments: runtimeCommand('ibm'),
      image_secret: REGISTRY_SECRET,
      run_mode: 'daemon',
      run_env_variables: envFrom(props.configMapName, props.secretName, { DATA_SYNC_ROLE: 'worker' }),
      scale_array_spec: instances === 1 ? '0' : `0-${instances - 1}`,
      scale_cpu_limit: size.cpu,
      scale_memory_limit: size.memory,
    });
    new IbmCodeEngineJobRun(this, 'run', {
      project_id: props.projectId,
      name: `${props.prefix}-worker-daemon`,
      job_name: this.job.attr('name'),
      run_mode: 'daemon',
    });
  }
}
