/**
 * Data classification, column-level encryption and masking, from config/compliance.ts.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'crypto';
import { COMPLIANCE, type PiiCategory, type SensitiveCategory } from '@data-sync/config/compliance';

export type FieldClass = PiiCategory | SensitiveCategory | 'none';

/** Identifies a data subject without keeping the email: SHA-256 of the trimmed, lower-cased email. */
export function subjectHash(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
}

const PII = new Set<string>(COMPLIANCE.dataClassification.piiFields);
const SENSITIVE = new Set<string>(COMPLIANCE.dataClassification.sensitiveFields);
const CATEGORY_HINTS: readonly FieldClass[] = [
  ...COMPLIANCE.dataClassification.sensitiveFields,
  'ip_address',
  ...COMPLIANCE.dataClassification.piiFields,
];

/** The category of a field path (`Account.Name`, `email`), from config, else from its last segment's name. */
export function classifyField(path: string): FieldClass {
  const listed = COMPLIANCE.dataClassification.fieldCategories[path];
  if (listed) return listed;
  const leaf = path.slice(path.lastIndexOf('.') + 1);
  const byLeaf = COMPLIANCE.dataClassification.fieldCategories[leaf];
  if (byLeaf && byLeaf !== 'none') return byLeaf;
  const lower = leaf.toLowerCase();
  const compact = lower.replace(/[^a-z]/g, '');
  return (
    CATEGORY_HINTS.find((category) => lower.includes(category) || compact.includes(category.replace(/_/g, ''))) ??
    'none'
  );
}

export const isSensitive = (path: string) => SENSITIVE.has(classifyField(path));
export const isPii = (path: string) => {
  const c = classifyField(path);
  return PII.has(c) || c === 'ip_address';
};

const TOKEN_PREFIX = 'enc:v1:';

/**
 * AES-256-GCM for single field values. The field path is authenticated data, so a ciphertext copied
 * into another column does not decrypt. Token: `enc:v1:` + base64(iv 12 | tag 16 | ciphertext).
 */
export class FieldCipher {
  private readonly key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error(`encryption key must be 32 bytes (AES-256), got ${key.length}`);
    this.key = Buffer.from(key);
  }

  /** A key written as 64 hex characters or base64 of 32 bytes (e.g. DATA_SYNC_ENCRYPTION_KEY). */
  static fromString(value: string, name = 'DATA_SYNC_ENCRYPTION_KEY'): FieldCipher {
    const text = value.trim();
    const key = /^[0-9a-fA-F]{64}$/.test(text)
      ? Buffer.from(text, 'hex')
      : /^[A-Za-z0-9+/]{43}=?$/.test(text)
        ? Buffer.from(text, 'base64')
        : undefined;
    if (!key || key.length !== 32) throw new Error(`${name} must be 32 bytes written as 64 hex characters or base64`);
    return new FieldCipher(key);
  }

  static isToken(value: unknown): value is string {
    return typeof value === 'string' && value.startsWith(TOKEN_PREFIX);
  }

  encrypt(field: string, plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(field));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return TOKEN_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  decrypt(field: string, token: string): string {
    if (!FieldCipher.isToken(token)) throw new Error(`${field}: not an encrypted value`);
    const raw = Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64');
    if (raw.length < 28) throw new Error(`${field}: encrypted value is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(field));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`${field}: encrypted value does not authenticate (wrong key or tampered)`);
    }
  }
}

/**
 * The cipher for `DATA_SYNC_ENCRYPTION_KEY`, or undefined when it is not set (sensitive values are
 * then stored redacted); a malformed key throws at startup rather than at the first record.
 */
export function cipherFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): FieldCipher | undefined {
  const value = env.DATA_SYNC_ENCRYPTION_KEY;
  return value === undefined || value === '' ? undefined : FieldCipher.fromString(value);
}

/** Stored in place of a sensitive value when no encryption key is configured: never plaintext at rest. */
export const REDACTED = '[redacted]';

function mapLeaves(
  record: Record<string, unknown>,
  fn: (path: string, value: unknown) => unknown,
  prefix = '',
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) {
    const path = prefix ? `${prefix}.${key}` : key;
    out[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date)
        ? mapLeaves(value as Record<string, unknown>, fn, path)
        : fn(path, value);
  }
  return out;
}

/** A copy with every sensitive field encrypted (or redacted without a key), for storing at rest. */
export function protectRecord(record: Record<string, unknown>, cipher?: FieldCipher): Record<string, unknown> {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return record;
  return mapLeaves(record, (path, value) => {
    if (value === null || value === undefined || !isSensitive(path) || FieldCipher.isToken(value)) return value;
    return cipher ? cipher.encrypt(path, typeof value === 'string' ? value : JSON.stringify(value)) : REDACTED;
  });
}

/** Decrypts the fields `protectRecord` encrypted. */
export function revealRecord(record: Record<string, unknown>, cipher: FieldCipher): Record<string, unknown> {
  return mapLeaves(record, (path, value) => (FieldCipher.isToken(value) ? cipher.decrypt(path, value) : value));
}

/** The API's roles; an internal service's token (`service`) sees PII masked, as a viewer does. */
export type Role = 'viewer' | 'operator' | 'admin' | 'service';
const RANK: Record<Role, number> = { service: 0, viewer: 0, operator: 1, admin: 2 };

function maskValue(category: FieldClass, value: string): string {
  switch (category) {
    case 'email': {
      const at = value.lastIndexOf('@');
      return at > 0 ? `${value[0]}***@${value.slice(at + 1)}` : '***';
    }
    case 'phone': {
      const digits = value.replace(/[^0-9]/g, '');
      return digits.length > 4 ? `***${digits.slice(-2)}` : '***';
    }
    case 'name':
      return value ? `${value[0]}***` : value;
    default:
      return '***';
  }
}

/**
 * A copy safe to show `role` (or to log, with role `viewer`): sensitive fields are always replaced;
 * PII is masked below operator (`j***@example.com`, `***71`, `J***`).
 */
export function maskPii<T extends Record<string, unknown>>(record: T, role: Role): T {
  if (!(role in RANK)) throw new Error(`unknown role "${role}" (expected viewer, operator or admin)`);
  const showPii = RANK[role] >= RANK.operator;
  return mapLeaves(record, (path, value) => {
    if (value === null || value === undefined) return value;
    const category = classifyField(path);
    if (SENSITIVE.has(category)) return REDACTED;
    if (showPii || category === 'none') return value;
    return maskValue(category, value instanceof Date ? value.toISOString() : String(value));
  }) as T;
}
