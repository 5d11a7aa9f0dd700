/**
 * The runtime's parts over an open (migrated) database, a queue and a keyring, with every job handler
 * registered: the one wiring that the Node process, the Lambda, the Workers core and the API test harness
 * share, so a job kind registered here is handled by every entry point. Free of Node-only modules: the
 * Worker bundles it (cloudflare/build.ts).
 */
import type { Logger } from 'pino';
import type { ConnectorContext, ConnectorModule } from '@data-sync/integrations/connector';
import { CONNECTORS } from '@data-sync/integrations/registry';
import { FieldCipher } from '@data-sync/pipelines';
import type { Db } from '@data-sync/pipelines/db';
import type { PipelinesApi } from '../api/deps';
import { createIntegrationStore, type IntegrationStore } from '../store/integrations-repository';
import { createPipelineJobHandler, createWebhookJobHandler } from '../api/jobs';
import { createPipelinesApi } from '../api/pipelines-adapter';
import { createStoreSink, createSyncEngine, type EngineMetrics, type SyncEngine } from '../engine';
import { withAnalyticsModel } from '@data-sync/pipelines/analytics';
import { withAccountsModel } from '@data-sync/pipelines/accounts';
import { SqlTokenStore } from '@data-sync/integrations/http/sql-token-store';
import { createErasureJobHandler } from '../engine/erasure';
import { closeRunOfDeadJob } from '../store/runs-repository';
import { addEvent } from '../store/outbox-repository';
import { ingestUserChanges, type UserChange } from '../internal-users/ingest';
import type { QueueBinding } from '../queue/binding';
import type { Keyring } from '../security/crypto';
import { createRepositories, type Repositories } from '../store/repositories';
import { createTokenStore, type TokenStore } from '../store/tokens-repository';
import { processMetaDeletion, type MetaDeletion } from '../social/meta-deletion';
import { withMetaAppUsers } from '../social/meta-app-users';
import { createXAuthorizationStore, type XAuthorizationStore } from '../social/x-authorizations';

export interface RuntimeParts {
  /** The database every part reads and writes, already migrated. */
  readonly db: Db;
  /** The queue the engine and the API enqueue jobs onto. */
  readonly queue: QueueBinding;
  /** Seals integration configs and encrypts the pipelines' sensitive fields. */
  readonly keyring: Keyring;
  /** Where every part logs. */
  readonly logger: Logger;
  /** What credential references (`{ $env }`) in integration configs resolve against. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** The local-vendor override (DATA_SYNC_ALLOW_LOCAL_VENDORS): configs may point at fakes on local addresses. @default false */
  readonly allowLocalVendors?: boolean;
  /** The fetch each system's connectors call their vendor with (Node: limited to its hosts). @default the global fetch */
  readonly vendorFetch?: (system: string) => typeof fetch;
  /** Connector modules by system. @default CONNECTORS (integrations/registry) */
  readonly connectors?: Readonly<Record<string, ConnectorModule>>;
  /** The engine's metrics. @default none recorded */
  readonly engineMetrics?: EngineMetrics;
  /** Delay before a pull's changes are pushed to the destinations (a burst of pages is one push). @default 2000 */
  readonly pushDebounceMs?: number;
  /** The vendors' endpoint budgets every process shares (RedisWindowBudget when Redis is configured). @default each process keeps its own */
  readonly budget?: ConnectorContext['budget'];
}

/** What every entry point uses of the runtime. */
export interface AssembledRuntime {
  readonly connectors: Readonly<Record<string, ConnectorModule>>;
  readonly integrations: IntegrationStore;
  readonly tokens: TokenStore;
  readonly pipelines: PipelinesApi;
  /** The engine, with every job kind's handler registered (registerJobHandlers). */
  readonly engine: SyncEngine;
  /** The store's repositories, over the same database (the API's view of the store). */
  readonly repositories: Repositories;
  /** X accounts being connected; their grants go to the token store the engine's X connectors read. */
  readonly xAuthorizations: XAuthorizationStore;
}

/** What the job handlers need besides the engine. */
export interface JobHandlerDeps {
  readonly db: Db;
  /** Where follow-up jobs go (the vendor erasures of a data deletion request). */
  readonly queue: QueueBinding;
  readonly integrations: IntegrationStore;
  readonly pipelines: PipelinesApi;
  readonly connectors: Readonly<Record<string, ConnectorModule>>;
  readonly logger: Logger;
}

/**
 * Registers the handler of every job kind the engine does not handle itself ('sync' and 'probe' are
 * the engine's own): the single list, so a new kind is handled by every entry point at once.
 */
export function registerJobHandlers(engine: SyncEngine, deps: JobHandlerDeps): void {
  const { db, queue, integrations, pipelines, connectors, logger } = deps;
  // Vendors asked to erase a subject: the enabled integrations that have a connector (as the GDPR route does).
  const vendors = async () =>
    (await integrations.list()).filter((i) => i.enabled && connectors[i.system]).map((i) => i.name);
  const deletion = async (integration: string, payload: unknown) => {
    const queueErasures = async (names: readonly string[]) => {
      for (const name of names)
        await queue.enqueue({ kind: 'erasure', integration: name, payload: {}, dedupeKey: `erasure:${name}` });
    };
    const erased = await processMetaDeletion(
      { db, pipelines, vendors, queueErasures },
      integration,
      payload as MetaDeletion,
    );
    logger.info({ integration, subjectsErased: erased }, 'data deletion request processed');
  };
  engine.registerHandler('webhook', createWebhookJobHandler({ db, engine, logger, deletion }));
  engine.registerHandler('pipeline', createPipelineJobHandler({ db, pipelines, logger }));
  engine.registerHandler(
    'erasure',
    createErasureJobHandler({
      db,
      integrations: integrations.source,
      connectors: (system) => connectors[system],
      logger,
      connectorContext: integrations.connectorContext,
    }),
  );
}

/** The stores, the pipelines API and the engine over `parts`, with every job handler registered. */
export function assembleRuntime(parts: RuntimeParts): AssembledRuntime {
  const { db, queue, keyring, logger } = parts;
  const connectors = parts.connectors ?? CONNECTORS;
  const integrations = createIntegrationStore(db, keyring, {
    env: parts.env,
    allowLocalVendors: parts.allowLocalVendors,
    vendorFetch: parts.vendorFetch,
  });
  const tokens = createTokenStore(db);
  const cipher = new FieldCipher(keyring.primaryKey);
  const sealer = {
    seal: (plain: string) => keyring.encrypt(plain),
    unseal: (sealed: string) => keyring.decrypt(sealed),
  };
  const tokenStore = new SqlTokenStore(db, sealer);
  // Ingested Meta records teach which subject an app-scoped user id is, for Meta's data deletion requests.
  const pipelines = withMetaAppUsers(createPipelinesApi({ cipher }));
  const engine = createSyncEngine({
    db,
    queue,
    integrations: integrations.source,
    connectors: (system) => connectors[system],
    logger,
    metrics: parts.engineMetrics,
    // Rotated OAuth tokens live sealed in the store, so every process and a restart use the current one;
    // with a shared budget, every process together stays within each vendor endpoint's windows.
    connectorContext: (integration) => ({
      tokenStore,
      budget: parts.budget,
      ...integrations.connectorContext(integration.system),
    }),
    // The raw replica, and in the same page transaction the analytics events and daily metrics and the ERP accounts.
    sink: withAccountsModel(withAnalyticsModel(createStoreSink(), { cipher }), { cipher }),
    pipeline: { cipher },
    pushDebounceMs: parts.pushDebounceMs,
  });
  registerJobHandlers(engine, { db, queue, integrations, pipelines, connectors, logger });
  // A run whose job is dead-lettered (its last failure, or a lease that kept expiring) is closed as failed.
  queue.onDeadLetter?.(async (job, reason) => {
    try {
      await addEvent(db, {
        type: 'queue.dead_lettered',
        subject: job.integration,
        data: {
          jobId: job.id,
          kind: job.kind,
          integration: job.integration,
          attempts: job.attempts,
          reason: reason.slice(0, 500),
        },
      });
      const runId = await closeRunOfDeadJob(db, job, reason);
      if (runId)
        logger.warn({ runId, jobId: job.id, kind: job.kind, reason }, 'job dead-lettered: its run is closed as failed');
    } catch (error) {
      logger.error({ err: error, jobId: job.id }, 'could not close the run of a dead-lettered job');
    }
  });
  const internalUsers = {
    ingest: (changes: readonly UserChange[]) =>
      ingestUserChanges(
        {
          db,
          queue,
          pipeline: { cipher },
          destinations: async () =>
            (await integrations.list()).filter((i) => i.enabled && (i.pushObjects?.length ?? 0) > 0).map((i) => i.name),
        },
        changes,
      ),
  };
  // An X account connected through the API stores its grant in the same token store the engine's connectors read.
  const xAuthorizations = createXAuthorizationStore(db, sealer, tokenStore);
  const repositories = createRepositories(db, { integrations, tokens, pipelines, internalUsers, xAuthorizations });
  return { connectors, integrations, tokens, pipelines, engine, repositories, xAuthorizations };
}
