/**
 * Tables the HTTP API owns: integrations (config sealed with AES-256-GCM), API tokens (hashed), webhook
 * events already seen (vendors redeliver) and pipeline ingest runs. audit_log is in ENGINE_MIGRATIONS.
 */
import type { Migration } from '@data-sync/pipelines/db';

export const API_MIGRATIONS: Migration[] = [
  {
    id: '200_integrations',
    sql: `
      CREATE TABLE integrations (
        id text PRIMARY KEY,
        name text NOT NULL UNIQUE,
        system text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        sync_interval text NOT NULL,
        objects jsonb NOT NULL DEFAULT '[]',
        webhook_allowlist jsonb NOT NULL DEFAULT '[]',
        -- the whole connector config (credentials included), sealed: v1:<key id>:<iv>:<tag>:<data>
        config_sealed text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
  },
  {
    id: '201_api_tokens',
    sql: `
      CREATE TABLE api_tokens (
        id text PRIMARY KEY,
        name text NOT NULL UNIQUE,
        token_hash text NOT NULL UNIQUE,
        role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`,
  },
  {
    id: '202_webhook_events',
    sql: `
      CREATE TABLE webhook_events (
        integration text NOT NULL,
        event_id text NOT NULL,
        type text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (integration, event_id)
      )`,
  },
  {
    id: '203_pipeline_runs',
    sql: `
      CREATE TABLE pipeline_runs (
        id text PRIMARY KEY,
        integration text NOT NULL,
        mapping text NOT NULL,
        status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
        actor text NOT NULL,
        job_id text,
        received integer NOT NULL DEFAULT 0,
        accepted integer NOT NULL DEFAULT 0,
        quarantined integer NOT NULL DEFAULT 0,
        duplicates integer NOT NULL DEFAULT 0,
        inserted integer NOT NULL DEFAULT 0,
        updated integer NOT NULL DEFAULT 0,
        unchanged integer NOT NULL DEFAULT 0,
        error text,
        queued_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      );
      CREATE INDEX pipeline_runs_queued ON pipeline_runs (queued_at DESC)`,
  },
  {
    // Objects a destination receives the internal model's changes into (bi-directional sync).
    id: '204_integration_push_objects',
    sql: `ALTER TABLE integrations ADD COLUMN push_objects jsonb NOT NULL DEFAULT '[]'`,
  },
  {
    // Nonces of the signed GDPR/CCPA webhooks: a replayed request within the skew window is refused.
    id: '210_compliance_nonces',
    sql: `
      CREATE TABLE compliance_nonces (
        endpoint text NOT NULL,
        nonce text NOT NULL,
        seen_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (endpoint, nonce)
      );
      CREATE INDEX compliance_nonces_seen ON compliance_nonces (seen_at)`,
  },
];
