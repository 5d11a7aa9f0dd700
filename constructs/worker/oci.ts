import { Construct } from 'constructs';
import { OciHost, type OciHostContext, type OciSecretFile } from '../runtime/oci';

export interface OciWorkerProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly context: OciHostContext;
  /** Runtime image with tag (the stable image: workers are not part of blue-green). */
  readonly image: string;
  /** Worker instances. @default 1 */
  readonly instances?: number;
  /** Plain environment shared with the runtime (database URL, queue binding, secret files). */
  readonly environment: Record<string, string>;
  readonly secrets: readonly OciSecretFile[];
  readonly pgpass: { host: string; user: string; passwordFile: string };
  /** OCPUs and memory per instance. @default 1 OCPU, 2 GB */
  readonly ocpus?: number;
  readonly memoryGb?: number;
}

/** Worker capability on OCI: container instances running the runtime in worker role on the store queue (PostgreSQL). */
export class OciWorker extends Construct {
  readonly hosts: OciHost[];

  constructor(scope: Construct, id: string, props: OciWorkerProps) {
    super(scope, id);
    this.hosts = Array.from(
      { length: props.instances ?? 1 },
      (_, i) =>
        new OciHost(this, `worker-${i}`, {
          name: `${props.prefix}-worker-${i}`,
          context: props.context,
          hostNumber: 60 + i,
          ocpus: props.ocpus ?? 1,
          memoryGb: props.memoryGb ?? 2,
          app: {
            display_name: 'worker',
            image_url: props.image,
            environment_variables: { ...props.environment, DATA_SYNC_ROLE: 'worker' },
          },
          secrets: props.secrets,
          pgpass: props.pgpass,
        }),
    );
  }
}
