import type { Migration } from './db';

/**
 * The analytics part of the internal model. `events` is keyed by the vendor's own event id (insert
 * id), so a re-pulled or redelivered event replaces itself. `metrics_daily` holds one value per
 * source, metric, day and dimension values; `pull_id` names the pull that wrote a row, so a day that
 * is pulled again (GA4's data changes for days afterwards) replaces all of that day's rows even when
 * the pull spans several pages.
 */
export const ANALYTICS_MIGRATIONS: Migration[] = [
  {
    id: '350_events',
    sql: `
      CREATE TABLE events (
        source text NOT NULL,
        event_id text NOT NULL,
        name text NOT NULL,
        occurred_at timestamptz NOT NULL,
        user_id text,
        device_id text,
        email text,
        properties jsonb NOT NULL DEFAULT '{}',
        content_hash text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, event_id)
      );
      CREATE INDEX events_occurred_at ON events (occurred_at);
      CREATE INDEX events_source_name ON events (source, name, occurred_at);
      CREATE INDEX events_email ON events (email)`,
  },
  {
    id: '351_metrics_daily',
    sql: `
      CREATE TABLE metrics_daily (
        source text NOT NULL,
        metric text NOT NULL,
        date date NOT NULL,
        dimensions jsonb NOT NULL DEFAULT '{}',
        dimensions_key text NOT NULL,
        value double precision NOT NULL,
        pull_id text NOT NULL,
        pulled_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (source, metric, date, dimensions_key)
      );
      CREATE INDEX metrics_daily_date ON metrics_daily (date);
      CREATE INDEX metrics_daily_source_day ON metrics_daily (source, date)`,
  },
];
