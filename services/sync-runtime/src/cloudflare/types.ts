/**
 * The subset of the Workers runtime API this entry uses (no @cloudflare/workers-types in the
 * project), the Worker's bindings, and the seam between the Worker and the runtime core.
 */
import type { AuditEntry } from '../store/audit-repository';
import type { Job, NewJob } from '../queue/binding';
import type { XCallbackQuery } from '../social/x-authorization-flow';

export interface QueueSendOptions {
  readonly contentType?: 'json' | 'text' | 'bytes' | 'v8';
  readonly delaySeconds?: number;
}

/** A Queue producer binding. */
export interface Queue<Body = unknown> {
  send(body: Body, options?: QueueSendOptions): Promise<void>;
}

export interface QueueMessage<Body = unknown> {
  readonly id: string;
  readonly timestamp: Date;
  readonly body: Body;
  /** Deliveries so far, this one included (1 on the first). */
  readonly attempts: number;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

export interface MessageBatch<Body = unknown> {
  readonly queue: string;
  readonly messages: readonly QueueMessage<Body>[];
}

export interface DurableObjectId {
  toString(): string;
}

export interface DurableObjectStub {
  fetch(input: string | Request, init?: RequestInit): Promise<Response>;
}

export interface DurableObjectNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId): DurableObjectStub;
}

export interface DurableObjectStorage {
  get<T>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
}

export interface DurableObjectState {
  readonly id: DurableObjectId;
  readonly storage: DurableObjectStorage;
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
}

/** What a Cron Trigger passes to `scheduled()`. */
export interface ScheduledController {
  readonly cron: string;
  readonly scheduledTime: number;
}

export interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

/** The message body on the JOBS queue: a job of the runtime's queue contract, with its id. */
export interface QueuedJob extends NewJob {
  readonly id: string;
  /** Epoch ms of the first enqueue (the job-message contract). */
  readonly enqueuedAt: number;
}

/** Bindings and variables of the Worker (wrangler names; the Cloudflare stack declares the same). */
export interface WorkerEnv {
  /** Producer binding of the jobs queue. */
  readonly JOBS: Queue<QueuedJob>;
  /** The per-integration token bucket (class RateLimiter). */
  readonly RATE_LIMITER: DurableObjectNamespace;
  /** Secret: the bearer token the trigger route accepts (an operator token). */
  readonly API_TOKEN?: string;
  /** Token bucket size and refill rate per integration (vars; defaults 10 and 5/s). */
  readonly RATE_LIMIT_CAPACITY?: string;
  readonly RATE_LIMIT_PER_SECOND?: string;
  /** Inbound requests per minute per client address: the trigger route (var; default 600) and webhooks (default 12000). */
  readonly DATA_SYNC_RATE_LIMIT?: string;
  readonly DATA_SYNC_WEBHOOK_RATE_LIMIT?: string;
  /** First retry delay in seconds, doubled per attempt up to 15 minutes (var; default 5). */
  readonly RETRY_BASE_SECONDS?: string;
  /** JSON binding: cron expression -> integrations a Cron Trigger with that expression syncs. */
  readonly SCHEDULES?: Readonly<Record<string, readonly string[]>> | string;
  readonly [binding: string]: unknown;
}

/** An integration as the Worker needs it: which connector verifies its webhooks, with which config. */
export interface WorkerIntegration {
  readonly name: string;
  readonly system: string;
  readonly enabled: boolean;
  /** CIDRs webhook senders must come from; empty: any address. */
  readonly webhookAllowlist: readonly string[];
  /** The config, credential references resolved when read (throws EnvRefError naming an unset one). */
  readonly config: unknown;
}

/**
 * What the Worker asks of the runtime core. The same operations the Node runtime's API and worker
 * use (integration store lookup, engine.trigger, engine.handle), so both entries share one core.
 */
export interface WorkerCore {
  /** The integration named `name`, or null when it does not exist. */
  integration(name: string): Promise<WorkerIntegration | null>;
  /** Queues a sync run through JOBS; returns its run and job ids. */
  trigger(integration: string, options: { actor: string; full: boolean }): Promise<{ runId: string; jobId: string }>;
  /** Records an audit entry (a rejected webhook delivery). */
  audit(entry: AuditEntry): Promise<void>;
  /** Processes one delivered job; throws when it must be retried. */
  handle(job: Job): Promise<void>;
  /** Publishes the outbox's pending events onto the event queues (EVENTS_<SERVICE>); how many. */
  publishEvents?(): Promise<number>;
  /** Completes the X account authorization X redirected back with (throws XAuthorizationRefused); absent: the callback answers 501. */
  finishXAuthorization?(query: XCallbackQuery): Promise<{ integration: string }>;
  /** Releases what the core opened (database connections): called after each request and batch. */
  close?(): Promise<void>;
}

/**
 * Builds a core for one invocation: workerd ties sockets to the request that opened them, so
 * database connections cannot outlive a request or a queue batch.
 */
export type CoreFactory = (env: WorkerEnv) => WorkerCore | Promise<WorkerCore>;
