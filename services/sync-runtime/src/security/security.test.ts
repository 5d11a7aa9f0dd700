import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FieldCipher } from '@data-sync/pipelines';
import { migrate, openPglite } from '@data-sync/pipelines/db';
import { createIntegrationStore } from '../api/integration-store';
import { MIGRATIONS } from '../store/migrations';
import { DecryptionError, Keyring, generateKey, loadDevKeyring } from './crypto';
import { rotateEncryption } from './rotate';
import { rotateKeyCommand } from './rotate-key';
import { generateToken, hashToken, roleAllows } from './tokens';

describe('AES-256-GCM keyring', () => {
  test('round-trips, and every ciphertext is fresh', () => {
    const keyring = Keyring.fromBase64([generateKey()]);
    const a = keyring.encrypt('{"apiKey":"s3cret"}');
    expect(a).not.toContain('s3cret');
    expect(keyring.encrypt('{"apiKey":"s3cret"}')).not.toBe(a);
    expect(keyring.decrypt(a)).toBe('{"apiKey":"s3cret"}');
  });

  test('tampering, a foreign key and garbage are refused', () => {
    const keyring = Keyring.fromBase64([generateKey()]);
    const sealed = keyring.encrypt('value');
    const parts = sealed.split(':');
    const flipped = Buffer.from(parts[4], 'base64');
    flipped[0] ^= 1;
    expect(() => keyring.decrypt([...parts.slice(0, 4), flipped.toString('base64')].join(':'))).toThrow(
      DecryptionError,
    );
    expect(() => Keyring.fromBase64([generateKey()]).decrypt(sealed)).toThrow(/not configured/);
    expect(() => keyring.decrypt('plain text')).toThrow(DecryptionError);
  });

  test('during a rotation the new key encrypts and the old one still decrypts', () => {
    const oldKey = generateKey();
    const before = Keyring.fromBase64([oldKey]).encrypt('x');
    const both = Keyring.fromBase64([generateKey(), oldKey]);
    expect(both.decrypt(before)).toBe('x');
    expect(both.isCurrent(before)).toBe(false);
    expect(both.isCurrent(both.encrypt('y'))).toBe(true);
  });
});

describe('tokens and roles', () => {
  test('tokens are 256-bit random with a greppable prefix; hashes are sha256 hex', () => {
    const t = generateToken();
    expect(t).toMatch(/^dst_[A-Za-z0-9_-]{43}$/);
    expect(hashToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(generateToken()).not.toBe(t);
  });

  test('viewer < operator < admin', () => {
    expect(roleAllows('admin', 'operator')).toBe(true);
    expect(roleAllows('operator', 'operator')).toBe(true);
    expect(roleAllows('viewer', 'operator')).toBe(false);
    expect(roleAllows('operator', 'admin')).toBe(false);
  });
});

describe('key rotation', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  test('re-encrypts integration configs and quarantined sensitive fields; the old key alone reads nothing afterwards', async () => {
    const db = await openPglite();
    try {
      await migrate(db, MIGRATIONS);
      const oldKey = generateKey();
      const oldRing = Keyring.fromBase64([oldKey]);
      const store = createIntegrationStore(db, oldRing);
      await store.create({
        name: 'a',
        system: 'demo',
        enabled: true,
        syncInterval: '1h',
        objects: [],
        webhookAllowlist: [],
        config: { apiKey: 'k-a' },
      });
      await store.create({
        name: 'b',
        system: 'demo',
        enabled: true,
        syncInterval: '1h',
        objects: [],
        webhookAllowlist: [],
        config: { apiKey: 'k-b' },
      });
      const oldCipher = new FieldCipher(oldRing.primaryKey);
      const record = {
        email: 'x@example.com',
        ssn: oldCipher.encrypt('ssn', '123-45-6789'),
        nested: { credit_card: oldCipher.encrypt('nested.credit_card', '4111') },
      };
      await db.query(
        `INSERT INTO pipeline_quarantine (integration, mapping, record, errors, record_hash) VALUES ('a', 'm', $1::jsonb, '[]', 'h')`,
        [JSON.stringify(record)],
      );

      const newKey = generateKey();
      const result = await rotateEncryption(db, Keyring.fromBase64([newKey, oldKey]));
      expect(result).toEqual({ integrations: { resealed: 2, total: 2 }, quarantinedFields: 2 });
      expect(await rotateEncryption(db, Keyring.fromBase64([newKey, oldKey]))).toEqual({
        integrations: { resealed: 0, total: 2 },
        quarantinedFields: 0,
      });

      const onlyNew = createIntegrationStore(db, Keyring.fromBase64([newKey]));
      expect((await onlyNew.getByName('b'))!.config).toEqual({ apiKey: 'k-b' });
      await expect(createIntegrationStore(db, oldRing).getByName('a')).rejects.toThrow(DecryptionError);
      const stored = (
        await db.query<{ record: { ssn: string; nested: { credit_card: string } } }>(
          'SELECT record FROM pipeline_quarantine',
        )
      ).rows[0].record;
      const newCipher = new FieldCipher(Buffer.from(newKey, 'base64'));
      expect(newCipher.decrypt('ssn', stored.ssn)).toBe('123-45-6789');
      expect(newCipher.decrypt('nested.credit_card', stored.nested.credit_card)).toBe('4111');
      expect(() => oldCipher.decrypt('ssn', stored.ssn)).toThrow();
    } finally {
      await db.close();
    }
  });

  test('the command in development replaces the key file after re-encrypting the data directory', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rotate-key-'));
    dirs.push(dir);
    const before = loadDevKeyring(dir).keyring;
    const db = await openPglite(dir);
    await migrate(db, MIGRATIONS);
    await createIntegrationStore(db, before).create({
      name: 'a',
      system: 'demo',
      enabled: true,
      syncInterval: '1h',
      objects: [],
      webhookAllowlist: [],
      config: { apiKey: 'k' },
    });
    await db.close();
    const lines: string[] = [];
    await rotateKeyCommand({ DATA_SYNC_DATA_DIR: dir }, (l) => lines.push(l));
    expect(lines[0]).toMatch(/^re-encrypted 1 of 1 integration configs/);
    expect(fs.existsSync(path.join(dir, 'encryption.key.next'))).toBe(false);
    const after = loadDevKeyring(dir).keyring;
    expect(after.primaryId).not.toBe(before.primaryId);
    const reopened = await openPglite(dir);
    try {
      expect((await createIntegrationStore(reopened, after).getByName('a'))!.config).toEqual({ apiKey: 'k' });
    } finally {
      await reopened.close();
    }
  });

  test('production needs the new key named', async () => {
    await expect(
      rotateKeyCommand(
        { DATA_SYNC_ENCRYPTION_KEY: generateKey(), DATABASE_URL: 'postgres://x@127.0.0.1:1/x' },
        () => undefined,
      ),
    ).rejects.toThrow('DATA_SYNC_NEW_ENCRYPTION_KEY');
  });
});
