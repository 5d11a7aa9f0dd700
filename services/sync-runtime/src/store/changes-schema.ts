import type { Migration } from '@data-sync/pipelines/db';

/**
 * The change feed and the event outbox (600_). Statement-level triggers on the internal model's tables
 * (contacts, accounts, events, metrics_daily) write one `data_changes` row per changed row and one
 * `sync.records.changed` event into `event_outbox`, in the transaction of the change itself: every writer
 * (the pipeline's upsert, the analytics and accounts sinks, erasure, retention) is covered without any of
 * them knowing, and neither a change without its event nor an event without its change can commit.
 *
 * Positions are not taken in the trigger: a sequence hands them out in call order, not commit order, so a
 * reader could pass a position whose transaction commits later and miss it. Rows arrive with a NULL
 * position and the sequencer (changes-repository.ts) numbers committed rows under the one-row
 * `change_feed_state` lock, so a position is only ever given to a committed row and is larger than every
 * position given before: a reader that read up to N never misses a row at N or below.
 */
export const CHANGE_FEED_MIGRATIONS: Migration[] = [
  {
    id: '600_change_feed_and_outbox',
    sql: `
      CREATE TABLE data_changes (
        id bigserial PRIMARY KEY,
        position bigint UNIQUE,
        entity text NOT NULL,
        op text NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
        key jsonb NOT NULL,
        subject_hash text,
        data jsonb,
        changed_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX data_changes_unsequenced ON data_changes (id) WHERE position IS NULL;
      CREATE INDEX data_changes_subject ON data_changes (subject_hash);
      CREATE INDEX data_changes_changed_at ON data_changes (changed_at);
      CREATE TABLE change_feed_state (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        last_position bigint NOT NULL
      );
      INSERT INTO change_feed_state (singleton, last_position) VALUES (true, 0);
      CREATE TABLE event_outbox (
        seq bigserial PRIMARY KEY,
        id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
        type text NOT NULL,
        subject text,
        data jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        attempts int NOT NULL DEFAULT 0,
        lease_until timestamptz,
        last_error text,
        published_at timestamptz
      );
      CREATE INDEX event_outbox_pending ON event_outbox (seq) WHERE published_at IS NULL;
      CREATE FUNCTION record_data_changes() RETURNS trigger LANGUAGE plpgsql AS $fn$
      DECLARE
        key_columns text[] := string_to_array(TG_ARGV[0], ',');
        subject_expr text := TG_ARGV[1];
        operation text := lower(TG_OP);
        key_expr text;
        changed bigint;
      BEGIN
        SELECT 'jsonb_build_object(' || string_agg(format('%L, r.%I', c, c), ', ') || ')' INTO key_expr
        FROM unnest(key_columns) AS c;
        EXECUTE format(
          'INSERT INTO data_changes (entity, op, key, subject_hash, data) SELECT %L, %L, %s, %s, %s FROM %I r',
          TG_TABLE_NAME, operation, key_expr,
          CASE WHEN subject_expr = '' THEN 'NULL'
               ELSE format('encode(sha256(convert_to(lower(trim(%s)), ''UTF8'')), ''hex'')', subject_expr) END,
          CASE WHEN operation = 'delete' THEN 'NULL' ELSE 'to_jsonb(r)' END,
          CASE WHEN operation = 'delete' THEN 'old_rows' ELSE 'new_rows' END);
        GET DIAGNOSTICS changed = ROW_COUNT;
        IF changed > 0 THEN
          INSERT INTO event_outbox (type, subject, data)
          VALUES ('sync.records.changed', TG_TABLE_NAME,
                  jsonb_build_object('entity', TG_TABLE_NAME, 'operation', operation, 'count', changed));
        END IF;
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER contacts_changes_insert AFTER INSERT ON contacts REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_data_changes('email', 'r.email');
      CREATE TRIGGER contacts_changes_update AFTER UPDATE ON contacts REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_data_changes('email', 'r.email');
      CREATE TRIGGER contacts_changes_delete AFTER DELETE ON contacts REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_data_changes('email', 'r.email');
      CREATE TRIGGER accounts_changes_insert AFTER INSERT ON accounts REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_data_changes('source,external_id', 'r.email');
      CREATE TRIGGER accounts_changes_update AFTER UPDATE ON accounts REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_data_changes('source,external_id', 'r.email');
      CREATE TRIGGER accounts_changes_delete AFTER DELETE ON accounts REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_data_changes('source,external_id', 'r.email');
      CREATE TRIGGER events_changes_insert AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_data_changes('source,event_id', 'coalesce(r.email, r.user_id)');
      CREATE TRIGGER events_changes_update AFTER UPDATE ON events REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_data_changes('source,event_id', 'coalesce(r.email, r.user_id)');
      CREATE TRIGGER events_changes_delete AFTER DELETE ON events REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_data_changes('source,event_id', 'coalesce(r.email, r.user_id)');
      CREATE TRIGGER metrics_daily_changes_insert AFTER INSERT ON metrics_daily REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_data_changes('source,metric,date,dimensions_key', '');
      CREATE TRIGGER metrics_daily_changes_update AFTER UPDATE ON metrics_daily REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_data_changes('source,metric,date,dimensions_key', '');
      CREATE TRIGGER metrics_daily_changes_delete AFTER DELETE ON metrics_daily REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_data_changes('source,metric,date,dimensions_key', '');
      CREATE FUNCTION record_run_outcome() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO event_outbox (type, subject, data)
        VALUES ('sync.run.' || NEW.status, NEW.integration, jsonb_build_object(
          'runId', NEW.id, 'integration', NEW.integration, 'direction', NEW.direction, 'status', NEW.status,
          'received', NEW.received, 'accepted', NEW.accepted, 'quarantined', NEW.quarantined,
          'inserted', NEW.inserted, 'updated', NEW.updated, 'deleted', NEW.deleted, 'failed', NEW.failed,
          'error', NEW.error, 'startedAt', NEW.started_at, 'finishedAt', NEW.finished_at));
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER sync_runs_outcome_insert AFTER INSERT ON sync_runs FOR EACH ROW
        WHEN (NEW.status IN ('succeeded', 'failed')) EXECUTE FUNCTION record_run_outcome();
      CREATE TRIGGER sync_runs_outcome_update AFTER UPDATE OF status ON sync_runs FOR EACH ROW
        WHEN (NEW.status IN ('succeeded', 'failed') AND OLD.status IS DISTINCT FROM NEW.status)
        EXECUTE FUNCTION record_run_outcome();
      CREATE FUNCTION record_quarantined() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        INSERT INTO event_outbox (type, subject, data)
        SELECT 'pipeline.record.quarantined', q.integration, jsonb_build_object(
          'integration', q.integration, 'mapping', q.mapping, 'runId', min(q.run_id), 'count', count(*),
          'quarantineIds', jsonb_agg(q.id::text ORDER BY q.id))
        FROM new_rows q GROUP BY q.integration, q.mapping;
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER pipeline_quarantine_event AFTER INSERT ON pipeline_quarantine REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION record_quarantined()`,
  },
  {
    // Internal services' tokens (role service), and the User Service's users by id: the version last applied
    // (an older or repeated one changes nothing) and the address its contact row has (a delete finds it).
    id: '601_service_tokens_and_internal_users',
    sql: `
      ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
      ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check CHECK (role IN ('viewer', 'operator', 'admin', 'service'));
      CREATE TABLE internal_users (
        user_id text PRIMARY KEY,
        version bigint NOT NULL,
        email text,
        deleted_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX internal_users_email ON internal_users (email)`,
  },
];
