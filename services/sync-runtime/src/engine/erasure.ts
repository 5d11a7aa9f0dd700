/**
 * The worker's compliance tasks: the 'erasure' job (vendor erasures queued by eraseSubject, sent to each
 * integration's connector) and the hourly GDPR retention, run by one instance at a time.
 */
import type { Logger } from 'pino';
import type { ConnectorContext, ConnectorModule, ErasureOutcome } from '@data-sync/integrations/connector';
import { applyRetention, claimErasureRequests, completeErasureRequest } from '@data-sync/pipelines';
import { RUNTIME_PERSONAL_DATA } from '../store/personal-data';
import type { Db, Queryable } from '@data-sync/pipelines/db';
import type { Job } from '../queue/binding';
import type { IntegrationSource } from './types';

export interface ErasureHandlerDeps {
  readonly db: Db;
  /** Enabled integrations (a disabled or deleted one fails its requests until it is back). */
  readonly integrations: IntegrationSource;
  readonly connectors: (system: string) => ConnectorModule | undefined;
  readonly logger: Logger;
  /** What a connector of a system is created with (the fetch limited to its vendor's hosts). @default none */
  readonly connectorContext?: (system: string) => ConnectorContext;
  /** Requests claimed per round (default 25). */
  readonly batch?: number;
}

/**
 * An 'erasure' job drains the pending vendor erasures (of every integration: one job per vendor is
 * queued, whichever runs first does the work): each is sent to its vendor's `erase(email)` and recorded
 * with completeErasureRequest. A failed one goes back to pending and the job throws, so the queue
 * retries it with backoff; completeErasureRequest marks it failed after its last attempt.
 */
export function createErasureJobHandler(deps: ErasureHandlerDeps) {
  const batch = deps.batch ?? 25;
  return async (job: Job): Promise<void> => {
    const failures: string[] = [];
    let done = 0;
    for (;;) {
      const claimed = await claimErasureRequests(deps.db, batch);
      for (const request of claimed) {
        try {
          const outcome = await eraseAtVendor(deps, request.integration, request.email);
          // A vendor that cannot delete for good (soft delete, purge after N days): the reason goes into the proof.
          await completeErasureRequest(
            deps.db,
            request.id,
            outcome && outcome.permanent === false ? { ok: true, notPermanent: outcome.reason } : { ok: true },
          );
          done++;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          await completeErasureRequest(deps.db, request.id, { ok: false, error: message });
          failures.push(`${request.integration} (request ${request.id}): ${message}`);
        }
      }
      // Stop after a failure: claiming again now would retry it at once, without the queue's backoff.
      if (claimed.length < batch || failures.length > 0) break;
    }
    deps.logger.info({ jobId: job.id, erased: done, failed: failures.length }, 'vendor erasures processed');
    if (failures.length > 0) throw new Error(`vendor erasure failed: ${failures.join('; ')}`);
  };
}

async function eraseAtVendor(deps: ErasureHandlerDeps, name: string, email: string): Promise<ErasureOutcome | void> {
  const integration = await deps.integrations.get(name);
  if (!integration) throw new Error(`integration ${JSON.stringify(name)} does not exist or is disabled`);
  const module = deps.connectors(integration.system);
  if (!module) throw new Error(`no connector for system ${JSON.stringify(integration.system)}`);
  const parsed = module.configSchema.safeParse(integration.config);
  if (!parsed.success)
    throw new Error(
      `invalid config for ${name}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  return module.create(parsed.data, deps.connectorContext?.(integration.system)).erase(email);
}

/** Advisory-lock key of the retention task (any constant shared by every instance). */
const RETENTION_LOCK = 0x44_53_52_54;
const HOUR_MS = 3_600_000;

/** The Db seen from inside an open transaction: applyRetention's own transaction becomes part of it. */
function withinTransaction(db: Db, tx: Queryable): Db {
  return {
    kind: db.kind,
    query: (sql, params) => tx.query(sql, params),
    exec: async (sql) => {
      await tx.query(sql);
    },
    transaction: (fn) => fn(tx),
    copyRows: () => Promise.reject(new Error('copyRows is not available inside the retention transaction')),
    close: () => Promise.reject(new Error('close is not available inside the retention transaction')),
  };
}

/**
 * Applies the retention once per hour across all instances: a transaction-scoped advisory lock lets one
 * instance in at a time, and the audit log's last 'gdpr.retention' entry tells it whether the hour is
 * already done. Returns the counts, or null when another instance holds the lock or ran it recently.
 */
export async function runRetentionIfDue(
  db: Db,
  now: Date = new Date(),
): Promise<{ deleted: number; anonymized: number } | null> {
  return db.transaction(async (tx) => {
    const lock = await tx.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [
      RETENTION_LOCK,
    ]);
    if (!lock.rows[0]?.locked) return null;
    const recent = await tx.query(
      `SELECT 1 FROM audit_log WHERE action = 'gdpr.retention' AND at > $1::timestamptz LIMIT 1`,
      [new Date(now.getTime() - HOUR_MS).toISOString()],
    );
    if (recent.rows.length > 0) return null;
    return applyRetention(withinTransaction(db, tx), now, undefined, RUNTIME_PERSONAL_DATA);
  });
}

export interface RetentionTask {
  stop(): void;
}

/** Checks every `everyMs` (default 5 minutes) whether the hourly retention is due, and logs what it did. */
export function startRetention(deps: { db: Db; logger: Logger; everyMs?: number }): RetentionTask {
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    // Ticks never overlap: a slow run delays the next check.
    running = running
      .then(() => runRetentionIfDue(deps.db))
      .then((counts) => counts && deps.logger.info(counts, 'retention applied'))
      .catch((error) => deps.logger.error({ err: error }, 'retention failed'));
  };
  tick();
  const timer = setInterval(tick, deps.everyMs ?? 5 * 60_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
