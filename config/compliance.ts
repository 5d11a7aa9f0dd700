/**
 * The design document's `compliance_config` as typed data: GDPR retention and anonymization, CCPA
 * opt-out, and the data classification that drives encryption and masking. Plain data so the runtime
 * (pipelines/) and any report read the same values.
 */
import type { IntegrationFamily } from './integrations';

export type PiiCategory = 'email' | 'phone' | 'name' | 'address' | 'ip_address';
export type SensitiveCategory = 'ssn' | 'credit_card' | 'bank_account';

export interface ComplianceConfig {
  readonly gdpr: {
    readonly enabled: boolean;
    /** Records not updated for this many days are anonymized (or deleted, see `retentionAction`). */
    readonly dataRetentionDays: number;
    /** Fields replaced by non-identifying values when a record is anonymized. */
    readonly anonymizationFields: readonly string[];
    /** What the retention job does with an expired contact; quarantined raw records are always deleted. */
    readonly retentionAction: 'anonymize' | 'delete';
    readonly deletionWebhook: string;
  };
  readonly ccpa: {
    readonly enabled: boolean;
    readonly optOutWebhook: string;
    /** Families whose destinations an opted-out subject is no longer synced to ("sale or sharing"). */
    readonly optOutFamilies: readonly IntegrationFamily[];
  };
  readonly dataClassification: {
    readonly piiFields: readonly PiiCategory[];
    readonly sensitiveFields: readonly SensitiveCategory[];
    readonly encryptionRequired: boolean;
    /**
     * Field paths (internal and vendor, dotted for nested fields) and their category. A path not
     * listed is classified by the category names its lower-cased last segment contains (`home_phone`
     * is phone), so an unlisted field errs towards being protected.
     */
    readonly fieldCategories: Readonly<Record<string, PiiCategory | SensitiveCategory | 'none'>>;
  };
}

export const COMPLIANCE: ComplianceConfig = {
  gdpr: {
    enabled: true,
    dataRetentionDays: 365,
    anonymizationFields: ['email', 'phone', 'ip_address'],
    retentionAction: 'anonymize',
    deletionWebhook: 'https://api.example.com/gdpr/delete',
  },
  ccpa: {
    enabled: true,
    optOutWebhook: 'https://api.example.com/ccpa/opt-out',
    // Social audiences (Meta, LinkedIn, X) are ad targeting: sharing an opted-out subject with them is what CCPA forbids.
    optOutFamilies: ['marketing', 'social'],
  },
  dataClassification: {
    piiFields: ['email', 'phone', 'name', 'address'],
    sensitiveFields: ['ssn', 'credit_card', 'bank_account'],
    encryptionRequired: true,
    fieldCategories: {
      email: 'email',
      Email: 'email',
      email_address: 'email',
      phone: 'phone',
      Phone: 'phone',
      phone_number: 'phone',
      first_name: 'name',
      last_name: 'name',
      FirstName: 'name',
      LastName: 'name',
      FNAME: 'name',
      LNAME: 'name',
      ip_address: 'ip_address',
      // Company names identify an organisation, not a person.
      company_name: 'none',
      'Account.Name': 'none',
    },
  },
};
