/**
 * Credentials at rest: AES-256-GCM under DATA_SYNC_ENCRYPTION_KEY. Each ciphertext names the key that
 * sealed it (a short fingerprint), so several keys can decrypt during a rotation while one encrypts.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

const VERSION = 'v1';

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

/** The key that encrypts plus the keys that may still decrypt (old ones, during a rotation). */
export class Keyring {
  private readonly keys = new Map<string, Buffer>();
  readonly primaryId: string;

  constructor(primary: Buffer, others: readonly Buffer[] = []) {
    for (const key of [primary, ...others]) {
      if (key.length !== 32) throw new Error('an AES-256-GCM key is exactly 32 bytes');
      this.keys.set(keyId(key), key);
    }
    this.primaryId = keyId(primary);
  }

  /** From base64 strings, the first one encrypting. */
  static fromBase64(keys: readonly string[]): Keyring {
    if (keys.length === 0) throw new Error('at least one key is needed');
    const [primary, ...others] = keys.map((k) => Buffer.from(k, 'base64'));
    return new Keyring(primary, others);
  }

  /** Every key, the encrypting one first. */
  get allKeys(): Buffer[] {
    return [
      this.primaryKey,
      ...[...this.keys.entries()].filter(([id]) => id !== this.primaryId).map(([, key]) => Buffer.from(key)),
    ];
  }

  /** The encrypting key (for the pipelines' column-level FieldCipher, which keys on the same secret). */
  get primaryKey(): Buffer {
    return Buffer.from(this.keys.get(this.primaryId)!);
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.primaryId)!, iv);
    cipher.setAAD(Buffer.from(`${VERSION}:${this.primaryId}`));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      VERSION,
      this.primaryId,
      iv.toString('base64'),
      cipher.getAuthTag().toString('base64'),
      data.toString('base64'),
    ].join(':');
  }

  decrypt(sealed: string): string {
    const parts = sealed.split(':');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new DecryptionError('not a sealed value');
    const [, id, iv, tag, data] = parts;
    const key = this.keys.get(id);
    if (!key) throw new DecryptionError(`sealed under key ${id}, which is not configured (DATA_SYNC_ENCRYPTION_KEY)`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      decipher.setAAD(Buffer.from(`${VERSION}:${id}`));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new DecryptionError(`value sealed under key ${id} failed authentication (tampered or wrong key)`);
    }
  }

  /** Whether `sealed` was encrypted under the primary key (rotation skips those). */
  isCurrent(sealed: string): boolean {
    return sealed.split(':')[1] === this.primaryId;
  }
}

/** A short public fingerprint of a key: never the key itself. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

export function generateKey(): string {
  return randomBytes(32).toString('base64');
}

export const DEV_KEY_FILE = 'encryption.key';
/** A rotation's new key is written here first and renamed over the key file once the data is re-encrypted. */
export const DEV_NEXT_KEY_FILE = 'encryption.key.next';

/**
 * The development keyring: a key file inside the PGlite data directory, created (mode 0600) on first
 * start. A `.next` file left by an interrupted rotation is kept as a decrypting key.
 */
export function loadDevKeyring(dataDir: string): { keyring: Keyring; created: boolean; file: string } {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, DEV_KEY_FILE);
  let created = false;
  try {
    fs.writeFileSync(file, generateKey() + '\n', { flag: 'wx', mode: 0o600 });
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const keys = [fs.readFileSync(file, 'utf8').trim()];
  const next = path.join(dataDir, DEV_NEXT_KEY_FILE);
  if (fs.existsSync(next)) keys.push(fs.readFileSync(next, 'utf8').trim());
  for (const key of keys) {
    if (Buffer.from(key, 'base64').length !== 32) throw new Error(`${file}: not a base64 32-byte key`);
  }
  return { keyring: Keyring.fromBase64(keys), created, file };
}
