/**
 * Integrations in the store. The whole connector config (credentials included) is sealed with
 * AES-256-GCM; the API only ever shows it masked. Also the engine's IntegrationSource.
 */
import { randomUUID } from 'crypto';
import type { ConnectorContext } from '@data-sync/integrations/connector';
import type { Db, Queryable } from '@data-sync/pipelines/db';
import type { Keyring } from '../security/crypto';
import { isEnvRef, resolveEnvRefs } from '../security/env-refs';

export interface Integration {
  readonly id: string;
  readonly name: string;
  readonly system: string;
  readonly enabled: boolean;
  readonly syncInterval: string;
  readonly objects: readonly string[];
  /** Objects the internal model's changes are pushed into. */
  readonly pushObjects: readonly string[];
  readonly webhookAllowlist: readonly string[];
  /** Decrypted, with credential references (`{ "$env": NAME }`) unresolved: never answer or log it as is (see maskSecrets). */
  readonly config: unknown;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface IntegrationInput {
  readonly name: string;
  readonly system: string;
  readonly enabled: boolean;
  readonly syncInterval: string;
  readonly objects: readonly string[];
  /** Objects the internal model's changes are pushed into (default none). */
  readonly pushObjects?: readonly string[];
  readonly webhookAllowlist: readonly string[];
  readonly config: unknown;
}

interface Row {
  id: string;
  name: string;
  system: string;
  enabled: boolean;
  sync_interval: string;
  objects: unknown;
  push_objects: unknown;
  webhook_allowlist: unknown;
  config_sealed: string;
  created_at: Date | string;
  updated_at: Date | string;
}

export const MASK = '********';
/** Config keys whose values are secrets: masked in answers, restored when a client sends the mask back. */
const SECRET_KEY =
  /secret|token|password|passwd|passphrase|credential|private|signing|signature|api[-_]?key|apikey|^key$|auth|cert/i;

/** A copy of `value` with every secret-looking string replaced by MASK (everything under a secret key); credential references stay readable. */
export function maskSecrets(value: unknown, underSecret = false): unknown {
  if (isEnvRef(value)) return value;
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, underSecret));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, maskSecrets(v, underSecret || SECRET_KEY.test(k))]),
    );
  }
  if (underSecret && typeof value === 'string' && value !== '') return MASK;
  return value;
}

/** `next` with every MASK value replaced by the value at the same path in `previous` (a client echoing a masked config). */
export function restoreMasked(next: unknown, previous: unknown): unknown {
  if (next === MASK) return previous;
  if (Array.isArray(next))
    return next.map((v, i) => restoreMasked(v, Array.isArray(previous) ? previous[i] : undefined));
  if (next !== null && typeof next === 'object') {
    const prev = previous !== null && typeof previous === 'object' ? (previous as Record<string, unknown>) : {};
    return Object.fromEntries(Object.entries(next).map(([k, v]) => [k, restoreMasked(v, prev[k])]));
  }
  return next;
}

const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

export class IntegrationNameTaken extends Error {
  constructor(name: string) {
    super(`an integration named "${name}" already exists`);
    this.name = 'IntegrationNameTaken';
  }
}

/** Webhooks look integrations up on every request: decrypted records are cached this long. */
const CACHE_MS = 5000;

export interface IntegrationStoreOptions {
  /** Time source of the webhook lookup cache (default Date.now). */
  readonly clock?: () => number;
  /** Where credential references resolve (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** The local-vendor override: configs may point at loopback and private addresses (fakes). @default false */
  readonly allowLocalVendors?: boolean;
  /** The fetch a connector of `system` calls its vendor with (Node: vendor-fetch.ts). @default the global fetch */
  readonly vendorFetch?: (system: string) => typeof fetch;
}

export function createIntegrationStore(db: Db, keyring: Keyring, options: IntegrationStoreOptions = {}) {
  const clock = options.clock ?? Date.now;
  const env = options.env ?? process.env;
  const allowLocalVendors = options.allowLocalVendors ?? false;
  const cache = new Map<string, { at: number; value: Integration | null }>();
  const toIntegration = (r: Row): Integration => ({
    id: r.id,
    name: r.name,
    system: r.system,
    enabled: r.enabled,
    syncInterval: r.sync_interval,
    objects: json(r.objects) as string[],
    pushObjects: json(r.push_objects) as string[],
    webhookAllowlist: json(r.webhook_allowlist) as string[],
    config: JSON.parse(keyring.decrypt(r.config_sealed)),
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  });
  const one = async (where: string, value: string) => {
    const { rows } = await db.query<Row>(`SELECT * FROM integrations WHERE ${where} = $1`, [value]);
    return rows.length ? toIntegration(rows[0]) : null;
  };

  const toSource = (i: Integration) => ({
    name: i.name,
    system: i.system,
    objects: [...i.objects],
    pushObjects: [...i.pushObjects],
    get config() {
      return store.resolvedConfig(i);
    },
  });

  const store = {
    /** The config a connector gets: credential references resolved (throws EnvRefError naming the variable). */
    resolvedConfig: (integration: Pick<Integration, 'config' | 'system'>): unknown =>
      resolveEnvRefs(integration.config, env, integration.system),
    /** Whether configs may point at loopback and private addresses (the local-vendor override). */
    allowLocalVendors,
    /** What a connector of `system` is created with: the fetch limited to its vendor's hosts. */
    connectorContext: (system: string): ConnectorContext =>
      options.vendorFetch ? { fetch: options.vendorFetch(system) } : {},
    /** The engine's view of one integration (IntegrationSource), its config resolved when read. */
    toSource,
    async list(): Promise<Integration[]> {
      const { rows } = await db.query<Row>('SELECT * FROM integrations ORDER BY name');
      return rows.map(toIntegration);
    },
    getById: (id: string) => one('id', id),
    getByName: (name: string) => one('name', name),
    /** getByName through a short cache (webhook hot path); local writes invalidate it. */
    async getByNameCached(name: string): Promise<Integration | null> {
      const hit = cache.get(name);
      if (hit && clock() - hit.at < CACHE_MS) return hit.value;
      const value = await one('name', name);
      if (cache.size > 1000) cache.clear();
      cache.set(name, { at: clock(), value });
      return value;
    },
    async create(input: IntegrationInput): Promise<Integration> {
      const { rows } = await db.query<Row>(
        `INSERT INTO integrations (id, name, system, enabled, sync_interval, objects, webhook_allowlist, config_sealed, push_objects)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING RETURNING *`,
        [
          randomUUID(),
          input.name,
          input.system,
          input.enabled,
          input.syncInterval,
          JSON.stringify(input.objects),
          JSON.stringify(input.webhookAllowlist),
          keyring.encrypt(JSON.stringify(input.config)),
          JSON.stringify(input.pushObjects ?? []),
        ],
      );
      if (rows.length === 0) throw new IntegrationNameTaken(input.name);
      cache.delete(input.name);
      return toIntegration(rows[0]);
    },
    async update(id: string, input: Omit<IntegrationInput, 'name' | 'system'>): Promise<Integration | null> {
      const { rows } = await db.query<Row>(
        `UPDATE integrations SET enabled = $2, sync_interval = $3, objects = $4, webhook_allowlist = $5, config_sealed = $6,
           push_objects = COALESCE($7::jsonb, push_objects), updated_at = now()
         WHERE id = $1 RETURNING *`,
        [
          id,
          input.enabled,
          input.syncInterval,
          JSON.stringify(input.objects),
          JSON.stringify(input.webhookAllowlist),
          keyring.encrypt(JSON.stringify(input.config)),
          input.pushObjects === undefined ? null : JSON.stringify(input.pushObjects),
        ],
      );
      if (rows.length === 0) return null;
      cache.delete(rows[0].name);
      return toIntegration(rows[0]);
    },
    async remove(id: string): Promise<Integration | null> {
      const { rows } = await db.query<Row>('DELETE FROM integrations WHERE id = $1 RETURNING *', [id]);
      if (rows.length === 0) return null;
      cache.delete(rows[0].name);
      return toIntegration(rows[0]);
    },
    /** The engine's view: enabled integrations only, their config resolved when read (an unresolvable reference throws then). */
    source: {
      async get(name: string) {
        const found = await store.getByName(name);
        return found && found.enabled ? toSource(found) : null;
      },
      async list() {
        return (await store.list()).filter((i) => i.enabled).map(toSource);
      },
    },
  };
  return store;
}

export type IntegrationStore = ReturnType<typeof createIntegrationStore>;

/**
 * Re-seals every integration's config under the keyring's primary key, inside the caller's transaction.
 * Rows already under the primary key are left alone.
 */
export async function resealIntegrations(
  tx: Queryable,
  keyring: Keyring,
): Promise<{ resealed: number; total: number }> {
  const { rows } = await tx.query<{ id: string; config_sealed: string }>(
    'SELECT id, config_sealed FROM integrations ORDER BY id FOR UPDATE',
  );
  let resealed = 0;
  for (const row of rows) {
    if (keyring.isCurrent(row.config_sealed)) continue;
    await tx.query('UPDATE integrations SET config_sealed = $2 WHERE id = $1', [
      row.id,
      keyring.encrypt(keyring.decrypt(row.config_sealed)),
    ]);
    resealed++;
  }
  return { resealed, total: rows.length };
}
