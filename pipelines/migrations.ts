import type { Migration } from './db';

/**
 * The pipeline's tables. `contacts` has the design document's columns (the SQL inserts into them)
 * plus who wrote the row last (conflict policy) and when it was anonymized (retention).
 */
export const PIPELINE_MIGRATIONS: Migration[] = [
  {
    id: '300_contacts',
    sql: `
      CREATE TABLE contacts (
        email text PRIMARY KEY,
        first_name text,
        last_name text,
        phone text,
        company_name text,
        created_at timestamptz,
        updated_at timestamptz,
        source text,
        anonymized_at timestamptz
      );
      CREATE INDEX contacts_updated_at ON contacts (updated_at)`,
  },
  {
    // Rows of one batch (batch_id) between COPY and the upsert; unlogged because a crash only loses a
    // batch that was not acknowledged and will be delivered again. Rows a crash left behind are
    // removed by the retention job (loaded_at).
    id: '301_contact_staging',
    sql: `
      CREATE UNLOGGED TABLE contact_staging (
        batch_id bigint NOT NULL,
        ord int NOT NULL,
        email text,
        first_name text,
        last_name text,
        phone text,
        company_name text,
        created_at timestamptz,
        updated_at timestamptz,
        loaded_at timestamptz NOT NULL DEFAULT now()
      )`,
  },
  {
    id: '302_pipeline_quarantine',
    sql: `
      CREATE TABLE pipeline_quarantine (
        id bigserial PRIMARY KEY,
        integration text NOT NULL,
        mapping text NOT NULL,
        run_id text,
        record jsonb NOT NULL,
        errors jsonb NOT NULL,
        record_hash text NOT NULL,
        subject_hash text,
        occurrences int NOT NULL DEFAULT 1,
        attempts int NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (integration, mapping, record_hash)
      );
      CREATE INDEX pipeline_quarantine_subject ON pipeline_quarantine (subject_hash);
      CREATE INDEX pipeline_quarantine_seen ON pipeline_quarantine (last_seen_at)`,
  },
  {
    // What this service last wrote to each vendor per record, so the vendor's echo is not a change.
    id: '303_sync_pushes',
    sql: `
      CREATE TABLE sync_pushes (
        integration text NOT NULL,
        record_key text NOT NULL,
        content_hash text NOT NULL,
        pushed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (integration, record_key)
      )`,
  },
  {
    // Opted-out subjects by hash only: honouring an opt-out must not keep the email itself.
    id: '304_privacy_opt_outs',
    sql: `
      CREATE TABLE privacy_opt_outs (
        subject_hash text PRIMARY KEY,
        actor text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
  },
  {
    // Vendor erasures the worker drains; the email is kept only until that vendor confirms.
    id: '305_erasure_requests',
    sql: `
      CREATE TABLE erasure_requests (
        id bigserial PRIMARY KEY,
        integration text NOT NULL,
        subject_hash text NOT NULL,
        email text,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'in_progress', 'done', 'failed')),
        attempts int NOT NULL DEFAULT 0,
        last_error text,
        requested_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        UNIQUE (integration, subject_hash)
      );
      CREATE INDEX erasure_requests_pending ON erasure_requests (status, id)`,
  },
  {
    // A claim holds a request until lease_until: a worker that crashed mid-erasure gives it back then.
    id: '306_erasure_request_leases',
    sql: `ALTER TABLE erasure_requests ADD COLUMN lease_until timestamptz`,
  },
  {
    // Every write to a contact takes the next change position (under CONTACT_CHANGE_LOCK, so in commit
    // order): a destination's push cursor reads the changes after its position. Where each contact was
    // seen, per integration, for GET /api/contacts/:email. Staged rows carry the vendor id.
    id: '307_contact_changes_and_sources',
    sql: `
      CREATE SEQUENCE contact_change_seq;
      ALTER TABLE contacts ADD COLUMN change_seq bigint;
      CREATE INDEX contacts_change_seq ON contacts (change_seq);
      ALTER TABLE contact_staging ADD COLUMN source_id text;
      CREATE TABLE contact_sources (
        email text NOT NULL,
        integration text NOT NULL,
        object text NOT NULL,
        external_id text,
        synced_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (email, integration)
      );
      CREATE INDEX contact_sources_integration ON contact_sources (integration, synced_at)`,
  },
];
