/**
 * The design document's "Salesforce Contact Sync": a Salesforce outbound message about contacts
 * leads to fetching the current contacts and upserting them into `contacts` through the pipeline.
 * Salesforce retries a message until it gets the SOAP Ack and may deliver a notification more than
 * once, so notification ids are recorded after a successful upsert and a repeat is acknowledged
 * without work. A crash between the upsert and the record only repeats an idempotent upsert.
 */
import type { Db, Migration, Queryable } from '../../pipelines/db';
import { runBatch, type BatchResult } from '../../pipelines';
import type { ConnectorContext, WebhookRequest } from '../connector';
import { createSalesforce, salesforce, type SalesforceConfig, type SalesforceConnector } from '../crm/salesforce';

export const SALESFORCE_FLOW_MIGRATIONS: readonly Migration[] = [
  {
    id: '520_salesforce_outbound_notifications',
    sql: `
      CREATE TABLE IF NOT EXISTS salesforce_outbound_notifications (
        event_id text PRIMARY KEY,
        record_id text,
        processed_at timestamptz NOT NULL DEFAULT now()
      )`,
  },
];

export interface SalesforceContactSyncResult {
  /** The SOAP Ack to answer Salesforce with. */
  readonly response: { readonly status: number; readonly contentType: string; readonly body: string };
  /** Notification event ids handled now, and those skipped as repeats. */
  readonly processed: readonly string[];
  readonly repeated: readonly string[];
  /** Contacts fetched from Salesforce (deleted ones are absent). */
  readonly fetched: number;
  readonly batch?: BatchResult;
}

export interface SalesforceContactSyncDeps {
  readonly db: Db;
  readonly config: SalesforceConfig;
  readonly context?: ConnectorContext;
  /** A connector to reuse (its token cache); created from config otherwise. */
  readonly connector?: SalesforceConnector;
}

async function alreadyProcessed(db: Queryable, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await db.query<{ event_id: string }>('SELECT event_id FROM salesforce_outbound_notifications WHERE event_id = ANY($1::text[])', [ids]);
  return new Set(rows.map((r) => r.event_id));
}

/**
 * Verifies an outbound message (throws WebhookRejected when forged or malformed), fetches the
 * contacts it names and upserts them with the `salesforce_to_internal.Contact` mapping.
 */
export async function handleSalesforceContactMessage(deps: SalesforceContactSyncDeps, request: WebhookRequest): Promise<SalesforceContactSyncResult> {
  const verified = salesforce.verifyWebhook(deps.config, request);
  const response = verified.response!;
  const contactEvents = verified.events.filter((e) => e.object === 'Contact' && e.recordId);
  const seen = await alreadyProcessed(deps.db, contactEvents.map((e) => e.id));
  const fresh = contactEvents.filter((e) => !seen.has(e.id));
  const repeated = contactEvents.filter((e) => seen.has(e.id)).map((e) => e.id);
  if (fresh.length === 0) return { response, processed: [], repeated, fetched: 0 };

  const connector = deps.connector ?? createSalesforce(deps.config, deps.context);
  const contacts = await connector.fetch('Contact', [...new Set(fresh.map((e) => e.recordId!))]);
  const batch = contacts.length ? await runBatch(deps.db, { integration: 'salesforce', mapping: 'salesforce_to_internal.Contact', records: contacts }) : undefined;
  await deps.db.query(
    'INSERT INTO salesforce_outbound_notifications (event_id, record_id) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT (event_id) DO NOTHING',
    [fresh.map((e) => e.id), fresh.map((e) => e.recordId!)],
  );
  return { response, processed: fresh.map((e) => e.id), repeated, fetched: contacts.length, batch };
}
