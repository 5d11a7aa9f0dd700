/**
 * The contract between the sync engine and one external system. Each module under
 * integrations/<family>/<system> exports a ConnectorModule; the runtime finds it in the registry.
 */
import type { ZodType, ZodTypeDef } from 'zod';
import type { IntegrationFamily } from '@data-sync/config/integrations';
import type { TokenStore } from './http/oauth-session';
import type { EndpointBudget, RateWindow } from './http/rate-windows';

/** A record as the vendor returns it; mappings (pipelines/) turn it into the internal shape. */
export type VendorRecord = Record<string, unknown>;

/** One page of an incremental pull. */
export interface PullPage {
  /** Created or changed records, oldest change first. */
  readonly records: readonly VendorRecord[];
  /** Ids of records deleted at the source since the cursor, when the vendor reports deletes. */
  readonly deletedIds: readonly string[];
  /** Opaque cursor to store once this page is committed; passing it back continues after this page. */
  readonly cursor: string;
  /** True when the source has nothing more after this page. */
  readonly done: boolean;
}

export interface PushResult {
  /** Records the vendor created or updated. */
  readonly upserted: number;
  /** Records it rejected, with the vendor's reason. */
  readonly failed: readonly { readonly key: string; readonly reason: string }[];
}

/** What an erasure left at the vendor, and why, when the vendor allows no permanent delete. */
export interface ErasureOutcome {
  readonly permanent: boolean;
  /** Why not permanent: what the vendor keeps, for how long, and how it could still be removed. */
  readonly reason: string;
  /** Vendor ids of the records erased. */
  readonly ids: readonly string[];
}

export interface ConnectionTest {
  readonly ok: boolean;
  readonly message: string;
  readonly latencyMs: number;
}

/** A verified inbound webhook: the events it carries, each with an id for deduplication. */
export interface WebhookEvents {
  readonly events: readonly {
    readonly id: string;
    readonly type: string;
    readonly object?: string;
    readonly recordId?: string;
    readonly payload: unknown;
  }[];
  /** A body to answer with instead of the default 202 (Salesforce outbound messages expect a SOAP ack). */
  readonly response?: { readonly status: number; readonly contentType: string; readonly body: string };
}

/** The answer to a vendor's GET subscription handshake (Meta's hub.challenge, X's CRC, LinkedIn's challenge). */
export interface WebhookHandshake {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** What the runtime hands a webhook verifier: the raw request. */
export interface WebhookRequest {
  readonly method: string;
  /** Full URL as the vendor called it (scheme, host, path and query). */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly rawBody: Buffer;
  /** Current time in ms; injectable for replay tests. */
  readonly now: number;
}

export class IntegrationError extends Error {
  constructor(
    readonly integration: string,
    /** auth, rate_limit, unavailable, invalid_config, vendor_error, not_found */
    readonly kind: 'auth' | 'rate_limit' | 'unavailable' | 'invalid_config' | 'vendor_error' | 'not_found',
    message: string,
    readonly status?: number,
  ) {
    super(`${integration}: ${message}`);
    this.name = 'IntegrationError';
  }
}

export class WebhookRejected extends Error {
  constructor(
    readonly reason: string,
    readonly status = 401,
  ) {
    super(reason);
    this.name = 'WebhookRejected';
  }
}

/** Rate-limit state a connector reports after each call, for metrics and the shared limiter. */
export interface RateLimitObservation {
  readonly remaining?: number;
  readonly limit?: number;
  readonly resetMs?: number;
  readonly retryAfterMs?: number;
}

export interface ConnectorContext {
  /** fetch to use (tests inject none: connectors call real HTTP against the base URL in config). */
  readonly fetch?: typeof fetch;
  /** Called after each vendor call: latency, status and rate-limit headers, for metrics. */
  readonly observe?: (call: {
    readonly status: number;
    readonly latencyMs: number;
    readonly rateLimit: RateLimitObservation;
  }) => void;
  /** Waits for a token before each vendor call; shared across instances through Redis when configured. */
  readonly acquire?: () => Promise<void>;
  /** Sleep used for backoff; injectable so tests run fast. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Current time in ms for connectors that pull by date or hour (analytics exports); default Date.now. */
  readonly now?: () => number;
  /**
   * The budget of one vendor endpoint of one account (`key`, e.g. `klaviyo:<account>:/api/profiles`)
   * with the windows the vendor documents for it, shared by every process (the runtime passes the
   * Redis-backed `RedisWindowBudget`); without it each process keeps its own.
   */
  readonly budget?: (key: string, windows: readonly RateWindow[]) => EndpointBudget;
  /**
   * Where OAuth sessions keep refresh and access tokens, shared by every process and surviving
   * restarts (the runtime passes `SqlTokenStore`); without it tokens live in this process only.
   */
  readonly tokenStore?: TokenStore;
}

export interface Connector {
  /** Checks credentials and reachability with one cheap authenticated call. */
  test(): Promise<ConnectionTest>;
  /** Next page of records changed since `cursor` (null: from the beginning, a full sync) for `object`. */
  pull(object: string, cursor: string | null): Promise<PullPage>;
  /** Creates or updates records by their external key, with the vendor's batch endpoint. */
  push(object: string, records: readonly VendorRecord[]): Promise<PushResult>;
  /** Deletes records by vendor id. */
  delete(object: string, ids: readonly string[]): Promise<void>;
  /**
   * Ids of every live record of `object`, for a reconciliation sweep (sweepDeleted) where the
   * vendor's API reports no deletes; absent where pulls report them in `deletedIds`.
   */
  listIds?(object: string): AsyncIterable<string>;
  /**
   * Erases one data subject at the vendor (GDPR), by email. Resolves with an ErasureOutcome when the
   * vendor keeps something it cannot be made to drop at once (the runtime records the reason);
   * resolving with nothing means the data is gone for good.
   */
  erase(email: string): Promise<void | ErasureOutcome>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the registry holds modules of every config type
export interface ConnectorModule<C = any> {
  readonly system: string;
  readonly family: IntegrationFamily;
  /** Validates an integration's config (credentials, base URL override, objects); input may omit defaulted fields. */
  readonly configSchema: ZodType<C, ZodTypeDef, unknown>;
  create(config: C, context?: ConnectorContext): Connector;
  /**
   * Objects whose deletes only a reconciliation sweep finds (the vendor lists no deleted records): the
   * runtime sweeps them (sweepDeleted over `listIds`) after scheduled syncs, once a day. Absent: pulls
   * report deletes in `deletedIds`, or the objects are never deleted.
   */
  readonly sweepObjects?: readonly string[];
  /** Verifies an inbound webhook and returns its events; throws WebhookRejected when forged, tampered or replayed. */
  verifyWebhook(config: C, request: WebhookRequest): WebhookEvents;
  /**
   * Answers a GET on the webhook route (the vendor confirming the subscription); throws WebhookRejected
   * when the token or signature is wrong. Absent: the vendor sends no handshake and GET is refused.
   */
  webhookHandshake?(config: C, request: WebhookRequest): WebhookHandshake;
}

/**
 * The body of every connector's test(): runs one cheap authenticated call and times it. An
 * IntegrationError (bad credentials, vendor down) is a failed check with its kind; anything else is a bug and propagates.
 */
export async function checkConnection(probe: () => Promise<string>): Promise<ConnectionTest> {
  const started = Date.now();
  try {
    const message = await probe();
    return { ok: true, message, latencyMs: Date.now() - started };
  } catch (error) {
    if (error instanceof IntegrationError)
      return { ok: false, message: `${error.kind}: ${error.message}`, latencyMs: Date.now() - started };
    throw error;
  }
}
