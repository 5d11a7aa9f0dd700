/**
 * `npm run rotate-key`: re-encrypts everything under a new key.
 *
 * Production (DATA_SYNC_ENCRYPTION_KEY set): pass the new key in DATA_SYNC_NEW_ENCRYPTION_KEY, then
 * deploy with DATA_SYNC_ENCRYPTION_KEY=<new> (instances still running may use "<new>,<old>" meanwhile:
 * the first key encrypts, all decrypt).
 * Development (key file in the PGlite data directory): a new key is generated and written to
 * encryption.key.next, the data is re-encrypted, then the file replaces encryption.key; stop
 * `npm run dev` first (PGlite allows one process per directory).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataDirLockedError, migrate, openDb } from '@data-sync/pipelines/db';
import { ConfigError, loadConfig } from '../config';
import { MIGRATIONS } from '../store/migrations';
import { DEV_KEY_FILE, DEV_NEXT_KEY_FILE, Keyring, generateKey, keyId, loadDevKeyring } from './crypto';
import { rotateEncryption } from './rotate';

export async function rotateKeyCommand(env: NodeJS.ProcessEnv, print: (line: string) => void): Promise<void> {
  const config = loadConfig(env);
  const next = env.DATA_SYNC_NEW_ENCRYPTION_KEY;
  let oldKeys: Buffer[];
  let devDir: string | null = null;
  if (config.encryptionKeys) {
    if (!next)
      throw new ConfigError(
        'DATA_SYNC_NEW_ENCRYPTION_KEY',
        'is required: the key to re-encrypt under (base64 of 32 bytes; `openssl rand -base64 32`)',
      );
    oldKeys = Keyring.fromBase64(config.encryptionKeys).allKeys;
  } else {
    if (config.databaseUrl)
      throw new ConfigError(
        'DATA_SYNC_ENCRYPTION_KEY',
        'is required with DATABASE_URL: the key the data is encrypted with now',
      );
    devDir = config.dataDir;
    oldKeys = loadDevKeyring(devDir).keyring.allKeys;
  }
  const newKey = next ?? generateKey();
  if (Buffer.from(newKey, 'base64').length !== 32)
    throw new ConfigError('DATA_SYNC_NEW_ENCRYPTION_KEY', 'must be base64 of exactly 32 bytes');
  const keyring = new Keyring(Buffer.from(newKey, 'base64'), oldKeys);

  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(db, MIGRATIONS);
    if (devDir) fs.writeFileSync(path.join(devDir, DEV_NEXT_KEY_FILE), newKey + '\n', { mode: 0o600 });
    const result = await rotateEncryption(db, keyring);
    if (devDir) fs.renameSync(path.join(devDir, DEV_NEXT_KEY_FILE), path.join(devDir, DEV_KEY_FILE));
    print(
      `re-encrypted ${result.integrations.resealed} of ${result.integrations.total} integration configs and ${result.quarantinedFields} quarantined fields under key ${keyId(keyring.primaryKey)}`,
    );
    print(
      devDir
        ? `the new key is in ${path.join(devDir, DEV_KEY_FILE)}`
        : 'now deploy with DATA_SYNC_ENCRYPTION_KEY set to the new key',
    );
  } finally {
    await db.close();
  }
}

if (require.main === module) {
  rotateKeyCommand(process.env, (line) => process.stdout.write(line + '\n')).catch((error) => {
    process.stderr.write(
      `error: ${error instanceof ConfigError || error instanceof DataDirLockedError ? error.message : (error as Error).stack}\n`,
    );
    process.exit(error instanceof ConfigError || error instanceof DataDirLockedError ? 2 : 1);
  });
}
