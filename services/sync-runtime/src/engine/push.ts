/**
 * The push job: a destination receives the internal model's contact changes since its own position
 * (the contacts' change sequence), batched through its connector's upsert, with every skip the data
 * path owes its users: a contact that came from this destination (its own data, and the conflict
 * policy's source of truth is never overwritten by others), one already pushed with the same content,
 * a subject being erased, and for marketing destinations a CCPA opt-out. What it sends is remembered
 * (`sync_pushes`), so the destination's echo is not taken for a change on its next pull. Objects
 * that hold organizations (SAP organizations, Dataverse accounts) take the accounts instead.
 */
import type { Logger } from 'pino';
import type { Connector, ConnectorModule } from '@data-sync/integrations/connector';
import { IntegrationError } from '@data-sync/integrations/connector';
import { accountOutbound } from '@data-sync/pipelines/account-push';
import { filterOptedOut } from '@data-sync/pipelines/compliance';
import { contentHashSql, mappedColumns, recordPushes, CONTACT_CHANGE_LOCK } from '@data-sync/pipelines/batch';
import { transformRecords, type Mapping } from '@data-sync/pipelines/mappings';
import type { Db } from '@data-sync/pipelines/db';
import type { Job } from '../queue/binding';
import type { RunRow } from '../store/runs-repository';
import { pushAccounts } from './push-accounts';
import { commitPushPage, countPushed, pushPosition } from './push-page';
import { CursorMoved, describeError, PERMANENT, RunFinished } from './runs';
import type { EngineMetrics, IntegrationInfo } from './types';

/** Contacts read per push batch; the connectors split further to their vendor's batch limits. */
export const PUSH_BATCH = 500;

type ChangedContact = Record<string, unknown> & {
  email: string;
  first_name: string | null;
  last_name: string | null;
  phone_number: string | null;
  company_name: string | null;
  created_at: Date | string | null;
  updated_at: Date | string | null;
  source: string | null;
  change_seq: string;
  already_pushed: boolean;
  erasing: boolean;
  anonymized: boolean;
};

export interface PushJobDeps {
  readonly db: Db;
  readonly logger: Logger;
  readonly metrics?: EngineMetrics;
  readonly clock: () => Date;
  readonly mappings: (system: string, object: string, direction: 'inbound' | 'outbound') => Mapping | undefined;
  readonly runOfJob: (job: Job) => Promise<RunRow | null>;
  readonly openConnector: (
    run: RunRow,
  ) => Promise<{ integration: IntegrationInfo; module: ConnectorModule; connector: Connector } | { failure: string }>;
  readonly startRun: (run: RunRow, job: Job, startedAt: Date, firstStart: boolean) => Promise<void>;
  readonly finishRun: (
    run: RunRow,
    status: 'succeeded' | 'failed',
    error: string | null,
    startedAt: Date,
  ) => Promise<void>;
}

const iso = (value: Date | string | null) => (value === null ? undefined : new Date(value).toISOString());

export function createPushJob(deps: PushJobDeps) {
  const { db, logger, metrics, clock } = deps;

  /**
   * Contacts changed after position `after`, with what decides whether each is sent. The batch is taken
   * by the change_seq index first and only its rows are joined: joining first hashed every later contact
   * and every pushed record for each batch, quadratic in the contacts pushed.
   */
  async function changesAfter(
    destination: string,
    after: string,
    columns: ReadonlySet<string>,
  ): Promise<ChangedContact[]> {
    const { rows } = await db.query<ChangedContact>(
      `SELECT c.email, c.first_name, c.last_name, c.phone AS phone_number, c.company_name, c.created_at, c.updated_at, c.source, c.change_seq::text AS change_seq,
              COALESCE(p.content_hash = ${contentHashSql('c', columns)}, false) AS already_pushed,
              EXISTS (SELECT 1 FROM erasure_requests e WHERE e.status <> 'done' AND e.subject_hash = encode(sha256(convert_to(c.email, 'UTF8')), 'hex')) AS erasing,
              c.anonymized_at IS NOT NULL AS anonymized
       FROM (SELECT * FROM contacts WHERE change_seq > $1::bigint ORDER BY change_seq LIMIT $3) c
       LEFT JOIN sync_pushes p ON p.integration = $2 AND p.record_key = c.email
       ORDER BY c.change_seq`,
      [after, destination, PUSH_BATCH],
    );
    return rows;
  }

  async function pushObject(
    run: RunRow,
    integration: IntegrationInfo,
    module: ConnectorModule,
    connector: Connector,
    object: string,
  ) {
    // Objects holding organizations take the accounts, not contacts (push-accounts.ts).
    if (accountOutbound(integration.system, object)) return pushAccounts(deps, run, integration, connector, object);
    const mapping = deps.mappings(integration.system, object, 'outbound');
    if (!mapping)
      throw new IntegrationError(
        run.integration,
        'invalid_config',
        `${integration.system} object "${object}" has no outbound mapping, so nothing can be pushed into it`,
      );
    // The echo fingerprint covers what the destination sends back: the columns of its inbound mapping.
    const columns = mappedColumns(deps.mappings(integration.system, object, 'inbound') ?? mapping);
    const cursorKey = `push:${object}`;
    for (;;) {
      const from = await pushPosition(db, run.integration, cursorKey);
      const changes = await changesAfter(run.integration, from ?? '0', columns);
      if (changes.length === 0) return;
      const eligible = changes.filter(
        (c) => c.source !== run.integration && !c.already_pushed && !c.erasing && !c.anonymized,
      );
      const allowed = await filterOptedOut(db, module.family, eligible, 'email');
      const internal = allowed.map((c) => ({
        email: c.email,
        first_name: c.first_name ?? undefined,
        last_name: c.last_name ?? undefined,
        phone_number: c.phone_number || undefined,
        company_name: c.company_name ?? undefined,
        created_at: iso(c.created_at),
      }));
      const defined = internal.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)));
      const result =
        defined.length > 0
          ? await connector.push(object, transformRecords(mapping, defined))
          : { upserted: 0, failed: [] };
      const failedKeys = new Set(result.failed.map((f) => String(f.key).trim().toLowerCase()));
      const pushed = internal.filter((r) => !failedKeys.has(r.email));
      const skipped = changes.length - allowed.length;
      try {
        await commitPushPage(db, {
          run,
          object,
          cursorKey,
          from,
          position: changes[changes.length - 1].change_seq,
          changeLock: CONTACT_CHANGE_LOCK,
          remember: (tx) => recordPushes(tx, run.integration, pushed, columns),
          mapping: mapping.name,
          result,
          skipped,
          received: changes.length,
          at: clock(),
        });
      } catch (error) {
        if (error instanceof CursorMoved) {
          logger.warn(
            { runId: run.id, object },
            'push position moved by another delivery; continuing from the stored position',
          );
          continue;
        }
        throw error;
      }
      countPushed(metrics, run.integration, result, skipped);
      if (changes.length < PUSH_BATCH) return;
    }
  }

  return async function pushJob(job: Job): Promise<void> {
    const run = await deps.runOfJob(job);
    if (!run) throw new Error(`push job ${job.id}: its run does not exist`);
    if (run.status === 'succeeded') return;
    const log = logger.child({
      runId: run.id,
      integration: run.integration,
      jobId: job.id,
      attempt: job.attempts,
      direction: 'push',
    });
    const startedAt = run.started_at === null ? clock() : new Date(run.started_at);
    const opened = await deps.openConnector(run);
    if ('failure' in opened) {
      log.warn({ err: opened.failure }, 'push run failed');
      await deps.finishRun(run, 'failed', opened.failure, startedAt);
      return;
    }
    const { integration, module, connector } = opened;
    await deps.startRun(run, job, startedAt, run.started_at === null);
    try {
      for (const object of integration.pushObjects ?? []) await pushObject(run, integration, module, connector, object);
    } catch (error) {
      if (error instanceof RunFinished) return;
      const message = describeError(error);
      log.warn({ err: message }, 'push run failed');
      await deps.finishRun(run, 'failed', message, startedAt);
      if (error instanceof IntegrationError && PERMANENT.has(error.kind)) return;
      throw error;
    }
    await deps.finishRun(run, 'succeeded', null, startedAt);
    log.info('push run succeeded');
  };
}
