/** AES-256-GCM sealing for token-store tests, in the spirit of the runtime's Keyring (which tests of integrations/ cannot import). */
import { createCipheriv, createDecipheriv, randomBytes } from 'crypto';
import type { Sealer } from '@data-sync/integrations/http/sql-token-store';

export function testSealer(key: Buffer): Sealer {
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [iv, cipher.getAuthTag(), data].map((b) => b.toString('base64')).join(':');
    },
    unseal(sealed) {
      const [iv, tag, data] = sealed.split(':').map((p) => Buffer.from(p, 'base64'));
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    },
  };
}
