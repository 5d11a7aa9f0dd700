import type { Migration } from './db';

/**
 * The accounts part of the internal model (organizations from the ERPs): one row per source and vendor
 * id, so a re-pulled or redelivered account replaces itself; `content_hash` tells a change from a
 * repeat, `source_updated_at` keeps an older version from overwriting a newer one, and a vendor's
 * delete leaves a tombstone (`deleted_at`) that a newer version lifts.
 */
export const ACCOUNT_MIGRATIONS: Migration[] = [
  {
    id: '500_accounts',
    sql: `
      CREATE TABLE accounts (
        source text NOT NULL,
        external_id text NOT NULL,
        name text NOT NULL,
        account_number text,
        email text,
        phone text,
        website text,
        source_updated_at timestamptz,
        content_hash text NOT NULL,
        deleted_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, external_id)
      );
      CREATE INDEX accounts_name ON accounts (lower(name))`,
  },
  {
    // The position account pushes read from, as contacts' change_seq is theirs.
    id: '501_accounts_change_seq',
    sql: `
      CREATE SEQUENCE accounts_change_seq;
      ALTER TABLE accounts ADD COLUMN change_seq bigint NOT NULL DEFAULT nextval('accounts_change_seq');
      CREATE INDEX accounts_change ON accounts (change_seq)`,
  },
];
