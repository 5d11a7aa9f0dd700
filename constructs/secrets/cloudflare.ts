import { TerraformOutput } from 'cdktf';
import { Construct } from 'constructs';

export interface CloudflareWorkerSecretsProps {
  /** Account the scripts belong to. */
  readonly accountId: string;
  /** Scripts that read the secrets (each keeps its `secret_text` bindings across Terraform uploads). */
  readonly scripts: readonly string[];
  /** Secret names (environment-variable style, e.g. `HUBSPOT_API_KEY`). */
  readonly names: readonly string[];
}

/**
 * Worker secrets: `secret_text` bindings set out of band through the Workers secrets API (one PUT
 * per script and name), never in Terraform. The scripts declare `keep_bindings = ["secret_text"]`,
 * so uploads keep them. This construct publishes exactly which secrets each script expects.
 */
export class CloudflareWorkerSecrets extends Construct {
  readonly names: readonly string[];

  constructor(scope: Construct, id: string, props: CloudflareWorkerSecretsProps) {
    super(scope, id);
    this.names = props.names;
    new TerraformOutput(this, 'expected', {
      description:
        'Worker secrets to set out of band, per script: PUT https://api.cloudflare.com/client/v4/accounts/<account>/workers/scripts/<script>/secrets with {"name": "<NAME>", "text": "<value>", "type": "secret_text"}',
      value: Object.fromEntries(props.scripts.map((script) => [script, [...props.names]])),
    }).overrideLogicalId('worker_secrets');
  }
}
