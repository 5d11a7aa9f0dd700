/**
 * Re-encrypts everything sealed with DATA_SYNC_ENCRYPTION_KEY under a new key, in one transaction:
 * integration configs (AES-256-GCM, key id in each value) and the sensitive fields the pipelines
 * encrypt in quarantined records (FieldCipher tokens, which carry no key id: every old key is tried).
 */
import type { Db, Queryable } from '@data-sync/pipelines/db';
import { FieldCipher } from '@data-sync/pipelines';
import { resealIntegrations } from '../api/integration-store';
import type { Keyring } from './crypto';

export interface RotationResult {
  readonly integrations: { readonly resealed: number; readonly total: number };
  readonly quarantinedFields: number;
}

/** Re-encrypts every FieldCipher token in `value` (dotted paths are the cipher's authenticated data). */
function reencryptTokens(
  value: unknown,
  path: string,
  ciphers: { current: FieldCipher; old: FieldCipher[] },
  counter: { n: number },
): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, reencryptTokens(v, path ? `${path}.${k}` : k, ciphers, counter)]),
    );
  }
  if (!FieldCipher.isToken(value)) return value;
  for (const candidate of [ciphers.current, ...ciphers.old]) {
    let plain: string;
    try {
      plain = candidate.decrypt(path, value);
    } catch {
      continue;
    }
    if (candidate === ciphers.current) return value;
    counter.n++;
    return ciphers.current.encrypt(path, plain);
  }
  throw new Error(`${path}: an encrypted field decrypts with none of the configured keys`);
}

async function reencryptQuarantine(tx: Queryable, keyring: Keyring): Promise<number> {
  const exists = await tx.query<{ t: string | null }>(`SELECT to_regclass('pipeline_quarantine') AS t`);
  if (!exists.rows[0].t) return 0;
  const [current, ...old] = keyring.allKeys.map((k) => new FieldCipher(k));
  const counter = { n: 0 };
  const { rows } = await tx.query<{ id: string; record: unknown }>(
    'SELECT id, record FROM pipeline_quarantine ORDER BY id FOR UPDATE',
  );
  for (const row of rows) {
    const record = typeof row.record === 'string' ? JSON.parse(row.record) : row.record;
    const before = counter.n;
    const next = reencryptTokens(record, '', { current, old }, counter);
    if (counter.n !== before)
      await tx.query('UPDATE pipeline_quarantine SET record = $2::jsonb WHERE id = $1', [row.id, JSON.stringify(next)]);
  }
  return counter.n;
}

/** `keyring`: the new key first, the old one(s) after. All or nothing. */
export async function rotateEncryption(db: Db, keyring: Keyring): Promise<RotationResult> {
  return db.transaction(async (tx) => ({
    integrations: await resealIntegrations(tx, keyring),
    quarantinedFields: await reencryptQuarantine(tx, keyring),
  }));
}
