import { KmsCryptoKey } from '@cdktf/provider-google/lib/kms-crypto-key';
import { KmsCryptoKeyIamMember } from '@cdktf/provider-google/lib/kms-crypto-key-iam-member';
import { KmsKeyRing } from '@cdktf/provider-google/lib/kms-key-ring';
import { SecretManagerSecret } from '@cdktf/provider-google/lib/secret-manager-secret';
import { SecretManagerSecretIamMember } from '@cdktf/provider-google/lib/secret-manager-secret-iam-member';
import { Construct } from 'constructs';

export interface GcpSecretsProps {
  /** Resource name prefix, e.g. `data-sync-prod`. */
  readonly prefix: string;
  /** Region of the key ring and of the secrets' replicas. */
  readonly region: string;
  /** Project number, for the Secret Manager and Pub/Sub service agents that use the key. */
  readonly projectNumber: string;
  /** Secret names (environment-variable style, e.g. `HUBSPOT_API_KEY`): one empty secret each. */
  readonly names: readonly string[];
  /** Key rotation period in days (default 90). */
  readonly rotationDays?: number;
}

/** `HUBSPOT_API_KEY` -> `data-sync-prod-hubspot-api-key`. */
export const gcpSecretId = (prefix: string, name: string) => `${prefix}-${name.toLowerCase().replace(/_/g, '-')}`;

/**
 * A KMS key ring and rotating key, and one Secret Manager secret per name encrypted with it. No
 * secret version is created: values are added out of band (`gcloud secrets versions add`), so no
 * value ever appears in the Terraform configuration or state.
 */
export class GcpSecrets extends Construct {
  readonly keyRing: KmsKeyRing;
  readonly key: KmsCryptoKey;
  /** By name as given in `names`. */
  readonly secrets: Readonly<Record<string, SecretManagerSecret>>;
  /** The key grants the secrets and Pub/Sub depend on: encrypting with the key fails before them. */
  readonly keyGrants: readonly KmsCryptoKeyIamMember[];
  private readonly prefix: string;

  constructor(scope: Construct, id: string, props: GcpSecretsProps) {
    super(scope, id);
    this.prefix = props.prefix;
    this.keyRing = new KmsKeyRing(this, 'ring', { name: `${props.prefix}-keys`, location: props.region });
    this.key = new KmsCryptoKey(this, 'key', {
      name: `${props.prefix}-data`,
      keyRing: this.keyRing.id,
      purpose: 'ENCRYPT_DECRYPT',
      rotationPeriod: `${(props.rotationDays ?? 90) * 86400}s`,
    });
    this.keyGrants = ['secretmanager', 'pubsub'].map(
      (agent) =>
        new KmsCryptoKeyIamMember(this, `key-${agent}`, {
          cryptoKeyId: this.key.id,
          role: 'roles/cloudkms.cryptoKeyEncrypterDecrypter',
          member: `serviceAccount:service-${props.projectNumber}@gcp-sa-${agent}.iam.gserviceaccount.com`,
        }),
    );
    const secrets: Record<string, SecretManagerSecret> = {};
    for (const name of props.names) {
      secrets[name] = new SecretManagerSecret(this, `secret-${name.toLowerCase()}`, {
        secretId: gcpSecretId(props.prefix, name),
        labels: { managed_by: 'cdktf', value_source: 'out-of-band' },
        replication: {
          userManaged: {
            replicas: [{ location: props.region, customerManagedEncryption: { kmsKeyName: this.key.id } }],
          },
        },
        dependsOn: [...this.keyGrants],
      });
    }
    this.secrets = secrets;
  }

  /** Grants `member` read access to the named secrets; returns the grants (a service using them depends on them). */
  grantAccess(id: string, member: string, names: readonly string[]): SecretManagerSecretIamMember[] {
    return names.map((name) => {
      const secret = this.secrets[name];
      if (!secret)
        throw new Error(`${this.prefix}: no secret named ${name} (known: ${Object.keys(this.secrets).join(', ')})`);
      return new SecretManagerSecretIamMember(this, `${id}-${name.toLowerCase()}`, {
        secretId: secret.id,
        role: 'roles/secretmanager.secretAccessor',
        member,
      });
    });
  }
}
