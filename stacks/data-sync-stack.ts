import { LocalBackend, S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { SLOTS, type Slot, type StackSettings } from '@data-sync/config';
import type { Capability } from './capabilities';

/**
 * Base of every cloud stack: chooses the state backend from the settings and records which
 * construct provides each capability (or why the cloud cannot), for the parity test.
 */
export abstract class DataSyncStack extends TerraformStack {
  private readonly provided = new Map<Capability, string>();
  private readonly missing = new Map<Capability, string>();

  constructor(
    scope: Construct,
    readonly settings: StackSettings,
  ) {
    super(scope, settings.stackName);
    const backend = settings.backend;
    if (backend.type === 's3') {
      new S3Backend(this, {
        bucket: backend.bucket,
        key: `${backend.keyPrefix}/terraform.tfstate`,
        region: backend.region,
        encrypt: true,
        dynamodbTable: backend.lockTable,
      });
    } else {
      new LocalBackend(this, { path: `terraform.${settings.stackName}.tfstate` });
    }
  }

  /**
   * Publishes the runtime's endpoints under the fixed output names deploy pipelines read on every
   * cloud: `url` (the active slot), `url-blue`, `url-green` and `active_slot`; and `x_oauth_callback_url`.
   */
  exposeEndpoints(endpoints: { readonly url: string; readonly slotUrls: Readonly<Record<Slot, string>> }): void {
    new TerraformOutput(this, 'url', { value: endpoints.url, description: 'Runtime URL (the active slot)' });
    for (const slot of SLOTS)
      new TerraformOutput(this, `url-${slot}`, {
        value: endpoints.slotUrls[slot],
        description: `URL of the ${slot} slot, for smoke tests before a switch`,
      });
    new TerraformOutput(this, 'active_slot', {
      value: this.settings.activeSlot,
      description: 'Slot that receives all traffic',
    });
    // Every cloud's ingress passes this path to the runtime as it does /webhooks/ (the Worker routes it itself).
    new TerraformOutput(this, 'x_oauth_callback_url', {
      value: `${endpoints.url}/oauth/x/callback`,
      description: "Callback URI to register with the X app and set as an X integration's config.redirectUri",
    });
  }

  /**
   * Publishes the runtime image repository (registry host and path, no tag) as `image_repository`:
   * CI pushes the image there, and the blue-green workflow checks a tag exists there before a release.
   */
  exposeImageRepository(repository: string): void {
    new TerraformOutput(this, 'image_repository', {
      value: repository,
      description: 'Runtime image repository the stack deploys from (CI pushes <repository>:<tag> here)',
    });
  }

  /** Records that `what` (a construct path or resource address) provides `capability`. */
  provide(capability: Capability, what: string): void {
    this.provided.set(capability, what);
  }

  /** Records that this cloud cannot provide `capability`, and why. */
  except(capability: Capability, reason: string): void {
    this.missing.set(capability, reason);
  }

  get capabilities(): ReadonlyMap<Capability, string> {
    return this.provided;
  }

  get exceptions(): ReadonlyMap<Capability, string> {
    return this.missing;
  }
}
