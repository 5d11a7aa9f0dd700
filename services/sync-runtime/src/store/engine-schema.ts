import type { Migration } from '@data-sync/pipelines/db';

/**
 * The runtime's tables: the in-store job queue, sync runs, cursors, the default sink's records,
 * schedule state, probe runs and the audit log. Plain SQL that runs unchanged on PostgreSQL and PGlite.
 */
export const ENGINE_MIGRATIONS: Migration[] = [
  {
    id: '100_jobs',
    sql: `
      CREATE TABLE jobs (
        id bigserial PRIMARY KEY,
        queue text NOT NULL,
        kind text NOT NULL,
        integration text,
        payload jsonb NOT NULL DEFAULT 'null',
        dedupe_key text,
        -- ready (waiting, possibly delayed by run_at), active (leased until lease_until), dead (dead letter)
        status text NOT NULL DEFAULT 'ready' CHECK (status IN ('ready', 'active', 'dead')),
        attempts integer NOT NULL DEFAULT 0,
        run_at timestamptz NOT NULL DEFAULT now(),
        lease_until timestamptz,
        enqueued_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        dead_at timestamptz
      );
      CREATE INDEX jobs_ready ON jobs (queue, run_at, id) WHERE status = 'ready';
      CREATE INDEX jobs_active ON jobs (queue, lease_until) WHERE status = 'active';
      CREATE INDEX jobs_dead ON jobs (queue, dead_at) WHERE status = 'dead';
      -- a dedupe key is held while its job is pending (acknowledged jobs are deleted, dead ones release it)
      CREATE UNIQUE INDEX jobs_dedupe ON jobs (queue, dedupe_key) WHERE dedupe_key IS NOT NULL AND status <> 'dead'
    `,
  },
  {
    id: '101_sync_state',
    sql: `
      CREATE TABLE sync_runs (
        id text PRIMARY KEY,
        integration text NOT NULL,
        status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
        full_sync boolean NOT NULL DEFAULT false,
        actor text NOT NULL,
        job_id text,
        attempts integer NOT NULL DEFAULT 0,
        pages integer NOT NULL DEFAULT 0,
        received integer NOT NULL DEFAULT 0,
        accepted integer NOT NULL DEFAULT 0,
        quarantined integer NOT NULL DEFAULT 0,
        duplicates integer NOT NULL DEFAULT 0,
        deleted integer NOT NULL DEFAULT 0,
        error text,
        queued_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX sync_runs_integration ON sync_runs (integration, queued_at DESC);
      CREATE INDEX sync_runs_status ON sync_runs (status, queued_at DESC);
      CREATE TABLE sync_cursors (
        integration text NOT NULL,
        object text NOT NULL,
        cursor text,
        run_id text,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (integration, object)
      );
      CREATE TABLE synced_records (
        integration text NOT NULL,
        object text NOT NULL,
        external_id text NOT NULL,
        data jsonb NOT NULL,
        source_updated_at timestamptz,
        deleted boolean NOT NULL DEFAULT false,
        run_id text,
        synced_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (integration, object, external_id)
      );
      CREATE TABLE sync_schedules (
        integration text PRIMARY KEY,
        interval_minutes integer NOT NULL,
        next_run_at timestamptz NOT NULL,
        last_enqueued_at timestamptz,
        last_run_id text
      );
      CREATE TABLE probe_runs (
        id text PRIMARY KEY,
        enqueued_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        picked_at timestamptz,
        finished_at timestamptz,
        worker text
      )
    `,
  },
  {
    id: '102_audit_log',
    sql: `
      CREATE TABLE audit_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), actor text NOT NULL,
        action text NOT NULL, target text NOT NULL, outcome text NOT NULL, details jsonb NOT NULL DEFAULT '{}');
      CREATE INDEX audit_log_at ON audit_log (at DESC)
    `,
  },
  {
    // Runs go both ways: a pull from the vendor into the internal model, or a push of the model's
    // changes out. Per object, what the pipeline made of each run's records. A run a schedule message
    // asked for is created when its job is first delivered, once per job.
    id: '103_run_directions',
    sql: `
      ALTER TABLE sync_runs ADD COLUMN direction text NOT NULL DEFAULT 'pull' CHECK (direction IN ('pull', 'push'));
      ALTER TABLE sync_runs ADD COLUMN inserted integer NOT NULL DEFAULT 0;
      ALTER TABLE sync_runs ADD COLUMN updated integer NOT NULL DEFAULT 0;
      ALTER TABLE sync_runs ADD COLUMN unchanged integer NOT NULL DEFAULT 0;
      ALTER TABLE sync_runs ADD COLUMN dropped integer NOT NULL DEFAULT 0;
      ALTER TABLE sync_runs ADD COLUMN failed integer NOT NULL DEFAULT 0;
      CREATE UNIQUE INDEX sync_runs_job ON sync_runs (job_id) WHERE job_id IS NOT NULL;
      CREATE INDEX sync_runs_direction ON sync_runs (direction, queued_at DESC);
      CREATE TABLE sync_run_objects (
        run_id text NOT NULL,
        object text NOT NULL,
        mapping text,
        pages integer NOT NULL DEFAULT 0,
        received integer NOT NULL DEFAULT 0,
        accepted integer NOT NULL DEFAULT 0,
        quarantined integer NOT NULL DEFAULT 0,
        duplicates integer NOT NULL DEFAULT 0,
        inserted integer NOT NULL DEFAULT 0,
        updated integer NOT NULL DEFAULT 0,
        unchanged integer NOT NULL DEFAULT 0,
        dropped integer NOT NULL DEFAULT 0,
        failed integer NOT NULL DEFAULT 0,
        deleted integer NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, object)
      )
    `,
  },
];
