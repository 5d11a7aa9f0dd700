/**
 * The store's repositories over one database: what the routes, the engine and the job handlers share,
 * so no SQL against the store lives anywhere else in the API.
 */
import type { Db } from '@data-sync/pipelines/db';
import { metaDeletionStatus, type MetaDeletionStatus } from '../social/meta-deletion';
import type { PipelinesApi } from '../api/deps';
import type { UserChange, UserIngestResult } from '../internal-users/ingest';
import type { XAuthorizationStore } from '../social/x-authorizations';
import { createAnalyticsRepository, type AnalyticsRepository } from './analytics-repository';
import { createAuditRepository, type AuditRepository } from './audit-repository';
import { createComplianceNonces, type ComplianceNonces } from './compliance-nonces';
import { createChangesRepository, type ChangesRepository } from './changes-repository';
import { createContactsStore } from './contacts-store';
import type { IntegrationStore } from './integrations-repository';
import { createPipelineRunsRepository, type PipelineRunsRepository } from './pipeline-runs-repository';
import { createPrivacyRepository, type PrivacyRepository } from './privacy-repository';
import { createQuarantineRepository, type QuarantineRepository } from './quarantine-repository';
import { createRunsRepository, type RunsRepository } from './runs-repository';
import type { TokenStore } from './tokens-repository';

export interface Repositories {
  readonly runs: RunsRepository;
  readonly pipelineRuns: PipelineRunsRepository;
  readonly integrations: IntegrationStore;
  readonly tokens: TokenStore;
  readonly audit: AuditRepository;
  readonly contacts: ReturnType<typeof createContactsStore>;
  readonly analytics: AnalyticsRepository;
  /** The change feed of the internal model (GET /api/changes). */
  readonly changes: ChangesRepository;
  /** Meta data deletion requests, by the confirmation code their callback answered with. */
  readonly metaDeletions: { status(code: string): Promise<MetaDeletionStatus> };
  /** null without the pipelines module: the quarantine routes answer 501. */
  readonly quarantine: QuarantineRepository | null;
  /** null without the pipelines module: the compliance routes answer 501. */
  readonly privacy: PrivacyRepository | null;
  /** Nonces of the signed compliance webhooks (replays refused). */
  readonly complianceNonces: ComplianceNonces;
  /** The User Service's intake (POST /api/internal/users); null where the runtime has no queue to push with: the route answers 501. */
  readonly internalUsers: { ingest(changes: readonly UserChange[]): Promise<UserIngestResult> } | null;
  /** X accounts being connected (OAuth 2.0 PKCE); null where the runtime has no token store: the X authorization routes answer 501. */
  readonly xAuthorizations: XAuthorizationStore | null;
  /** Resolves when the store answers a trivial query (readiness). */
  ping(): Promise<void>;
}

/** `integrations` and `tokens` are built by the caller: they need the keyring and the environment. */
export function createRepositories(
  db: Db,
  parts: {
    integrations: IntegrationStore;
    tokens: TokenStore;
    pipelines?: PipelinesApi | null;
    internalUsers?: Repositories['internalUsers'];
    xAuthorizations?: Repositories['xAuthorizations'];
  },
): Repositories {
  const pipelines = parts.pipelines ?? null;
  return {
    runs: createRunsRepository(db),
    pipelineRuns: createPipelineRunsRepository(db),
    integrations: parts.integrations,
    tokens: parts.tokens,
    audit: createAuditRepository(db),
    contacts: createContactsStore(db),
    analytics: createAnalyticsRepository(db),
    changes: createChangesRepository(db),
    metaDeletions: { status: (code) => metaDeletionStatus(db, code) },
    complianceNonces: createComplianceNonces(db),
    quarantine: pipelines && createQuarantineRepository(db, pipelines),
    privacy: pipelines && createPrivacyRepository(db, pipelines),
    internalUsers: parts.internalUsers ?? null,
    xAuthorizations: parts.xAuthorizations ?? null,
    async ping() {
      await db.query('SELECT 1');
    },
  };
}
