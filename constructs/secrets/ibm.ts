import { Construct } from 'constructs';
import type { IntegrationSettings } from '@data-sync/config';
import {
  IbmIamAuthorizationPolicy,
  IbmKmsKey,
  IbmKmsKeyPolicies,
  IbmResourceInstance,
  IbmSmArbitrarySecret,
  IbmSmSecretGroup,
} from '../generic/ibm';

export interface IbmSecretsProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  readonly region: string;
  readonly resourceGroupId: string;
  /** Enabled integrations: one secret per credential each. */
  readonly integrations: readonly IntegrationSettings[];
  /** Further secrets by key (n8n keys, runtime encryption key); default none. */
  readonly extra?: readonly string[];
  /** Months between root key rotations (1-12); default 3. */
  readonly rotationMonths?: number;
}

/**
 * Secrets capability on IBM Cloud: Key Protect with a rotating root key (it also encrypts the
 * database, Event Streams in prod and Secrets Manager itself) and a Secrets Manager instance with one
 * arbitrary secret per credential, created with an empty payload that operators replace
 * (`ibmcloud secrets-manager secret-version-create`); Terraform ignores the payload after creation.
 */
export class IbmSecrets extends Construct {
  readonly kmsInstance: InstanceType<typeof IbmResourceInstance>;
  readonly rootKeyCrn: string;
  readonly secretsManager: InstanceType<typeof IbmResourceInstance>;
  readonly secretIds = new Map<string, string>();

  constructor(scope: Construct, id: string, props: IbmSecretsProps) {
    super(scope, id);
    this.kmsInstance = new IbmResourceInstance(this, 'kms', {
      name: `${props.prefix}-kms`,
      service: 'kms',
      plan: 'tiered-pricing',
      location: props.region,
      resource_group_id: props.resourceGroupId,
      service_endpoints: 'private',
    });
    const key = new IbmKmsKey(this, 'root-key', {
      instance_id: this.kmsInstance.attr('guid'),
      key_name: `${props.prefix}-root`,
      standard_key: false,
      force_delete: false,
    });
    new IbmKmsKeyPolicies(this, 'rotation', {
      instance_id: this.kmsInstance.attr('guid'),
      key_id: key.attr('key_id'),
      rotation: { enabled: true, interval_month: props.rotationMonths ?? 3 },
    });
    this.rootKeyCrn = key.attr('crn');
    this.secretsManager = new IbmResourceInstance(this, 'secrets-manager', {
      name: `${props.prefix}-secrets`,
      service: 'secrets-manager',
      plan: 'standard',
      location: props.region,
      resource_group_id: props.resourceGroupId,
      service_endpoints: 'private',
      parameters: { kms_key: this.rootKeyCrn },
    });
    const auth = new IbmIamAuthorizationPolicy(this, 'sm-reads-key', {
      source_service_name: 'secrets-manager',
      source_resource_instance_id: this.secretsManager.attr('guid'),
      target_service_name: 'kms',
      target_resource_instance_id: this.kmsInstance.attr('guid'),
      roles: ['Reader'],
      description: 'Secrets Manager encrypts with the stack root key',
    });
    this.secretsManager.node.addDependency(auth);
    const group = new IbmSmSecretGroup(this, 'group', {
      instance_id: this.secretsManager.attr('guid'),
      region: props.region,
      name: props.prefix,
      description: 'Data sync credentials',
    });
    const entries = [
      ...props.integrations.flatMap((i) =>
        i.credentials.map((credential) => ({
          key: credential,
          name: `${i.name}-${credential}`,
          description: `${i.name} credential ${credential}; value set out of band`,
          labels: [i.name],
        })),
      ),
      ...(props.extra ?? []).map((key) => ({
        key,
        name: key,
        description: `${key}; value set out of band`,
        labels: ['runtime'],
      })),
    ];
    for (const entry of entries) {
      const secret = new IbmSmArbitrarySecret(
        this,
        entry.key,
        {
          instance_id: this.secretsManager.attr('guid'),
          region: props.region,
          name: entry.name.replace(/[^A-Za-z0-9_.-]/g, '-'),
          description: entry.description,
          secret_group_id: group.attr('secret_group_id'),
          payload: '',
          labels: entry.labels,
        },
        { lifecycle: { ignoreChanges: ['payload'] } },
      );
      this.secretIds.set(entry.key, secret.id);
    }
  }
}
