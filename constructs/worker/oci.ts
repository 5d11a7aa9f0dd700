import { Construct } from 'constructs';
import { METRIC_LIST } from '@data-sync/monitoring/metrics';
import { OciHost, type OciHostContext, type OciSecretFile } from '../runtime/oci';
import { runtimeCommand } from '../shared/runtime-bundle';

export interface OciWorkerProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly context: OciHostContext;
  /** Runtime image with tag (the stable image: workers are not part of blue-green). */
  readonly image: string;
  /** Worker instances; @default 1 */
  readonly instanceCount?: number;
  /** Plain environment shared with the runtime (database URL, queue binding, secret files). */
  readonly environment: Record<string, string>;
  /** Vault secrets the sidecar writes as files for the worker. */
  readonly secrets: readonly OciSecretFile[];
  /** The .pgpass line the sidecar writes for the database. */
  readonly pgpass: { host: string; user: string; passwordFile: string };
  /** CPU units per instance (1024 = 1 OCPU); @default 1024 */
  readonly cpuUnits?: number;
  /** Memory per instance in MiB; @default 2048 */
  readonly memoryMb?: number;
}

/** Port of the worker's HTTP server (/health, /metrics), on the instance's localhost only. */
const WORKER_PORT = 3000;

/**
 * Worker capability on OCI: container instances running the runtime's worker on the store queue
 * (PostgreSQL). Role `all`, because the `worker` role serves no HTTP and so no /metrics; the API it adds
 * listens on localhost, for the metrics relay beside it, and is unreachable from outside the instance.
 */
export class OciWorker extends Construct {
  readonly hosts: OciHost[];

  constructor(scope: Construct, id: string, props: OciWorkerProps) {
    super(scope, id);
    this.hosts = Array.from(
      { length: props.instanceCount ?? 1 },
      (_, i) =>
        new OciHost(this, `worker-${i}`, {
          name: `${props.prefix}-worker-${i}`,
          context: props.context,
          hostNumber: 60 + i,
          ocpus: (props.cpuUnits ?? 1024) / 1024,
          memoryGb: (props.memoryMb ?? 2048) / 1024,
          app: {
            display_name: 'worker',
            image_url: props.image,
            arguments: runtimeCommand('oci'),
            environment_variables: {
              ...props.environment,
              DATA_SYNC_ROLE: 'all',
              // The image sets HOST=0.0.0.0.
              HOST: '127.0.0.1',
              PORT: String(WORKER_PORT),
            },
          },
          secrets: props.secrets,
          pgpass: props.pgpass,
          metrics: { port: WORKER_PORT, catalog: METRIC_LIST, image: props.image },
        }),
    );
  }
}
