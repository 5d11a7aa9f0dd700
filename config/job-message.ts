/**
 * The job message: the one contract between what enqueues work (the stacks' schedulers, the API, the
 * runtime itself) and every queue binding and entry point that reads it (store, BullMQ, SQS and the
 * Lambda, Pub/Sub push, Service Bus, Cloudflare Queues). Constructs import it to write schedule
 * messages; the runtime parses every message it receives with it.
 */
import { z } from 'zod';

export const JOB_KINDS = ['sync', 'push', 'webhook', 'pipeline', 'probe', 'erasure', 'sweep'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

const NAME = z
  .string()
  .regex(/^[a-z0-9_-]{1,64}$/, 'must be an integration name (lower-case letters, digits, _ and -)');

/** Who asked for a run: a stack's scheduler, the API, a webhook, a change of the internal model (push), the demo. */
export const RUN_TRIGGERS = ['schedule', 'api', 'webhook', 'change', 'demo'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

/**
 * A sync (pull) or push run. Without `runId` (a schedule message) the runtime creates the run when the
 * job is first delivered, keyed by the job id, so a redelivery continues the same run.
 */
const runPayload = z
  .object({
    runId: z.string().min(1).optional(),
    full: z.boolean().optional(),
    trigger: z.enum(RUN_TRIGGERS).optional(),
  })
  .strict();
export type RunPayload = z.infer<typeof runPayload>;

const webhookPayload = z
  .object({
    events: z.array(
      z
        .object({
          id: z.string().min(1),
          type: z.string(),
          object: z.string().optional(),
          recordId: z.string().optional(),
          payload: z.unknown(),
        })
        .strict(),
    ),
    receivedAt: z.string(),
  })
  .strict();
export type WebhookPayload = z.infer<typeof webhookPayload>;

const pipelinePayload = z
  .object({ runId: z.string().min(1), mapping: z.string().min(1), records: z.array(z.record(z.unknown())) })
  .strict();
export type PipelinePayload = z.infer<typeof pipelinePayload>;

const probePayload = z.object({ probeId: z.string().min(1) }).strict();
const erasurePayload = z.object({}).strict();
/** A reconciliation sweep of one integration (ids only): the objects its module sweeps. */
const sweepPayload = z.object({}).strict();

/** Fields every message may carry beside its kind and payload (set by the bindings). */
const envelope = {
  /** The job's id (bindings set it; a schedule message has none and takes the broker's message id). */
  id: z.string().min(1).optional(),
  integration: NAME.optional(),
  /** Enqueuing the same key again while the first is pending gives the first job. */
  dedupeKey: z.string().min(1).max(512).optional(),
  /** Epoch ms of the first enqueue. */
  enqueuedAt: z.number().finite().optional(),
  /** Deliveries before this message was (re-)sent: a retry or redrive is a new broker message. */
  attemptsBefore: z.number().int().nonnegative().optional(),
  /** The attempt of the last delivery that reported progress: only deliveries after it count against the retry budget. */
  progressedAt: z.number().int().nonnegative().optional(),
};

export const JOB_MESSAGE = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sync'), payload: runPayload, ...envelope }).strict(),
  z.object({ kind: z.literal('push'), payload: runPayload, ...envelope }).strict(),
  z.object({ kind: z.literal('webhook'), payload: webhookPayload, ...envelope }).strict(),
  z.object({ kind: z.literal('pipeline'), payload: pipelinePayload, ...envelope }).strict(),
  z.object({ kind: z.literal('probe'), payload: probePayload, ...envelope }).strict(),
  z.object({ kind: z.literal('erasure'), payload: erasurePayload, ...envelope }).strict(),
  z.object({ kind: z.literal('sweep'), payload: sweepPayload, ...envelope }).strict(),
]);
export type JobMessage = z.infer<typeof JOB_MESSAGE>;

/** The envelope alone (kind, integration, ids; any payload): what a transport checks. The handler checks the payload. */
export const JOB_ENVELOPE = z.object({ kind: z.enum(JOB_KINDS), payload: z.unknown(), ...envelope }).strict();
export type JobEnvelope = z.infer<typeof JOB_ENVELOPE>;

/** Runs and webhooks belong to an integration: their messages must name it. */
const NEEDS_INTEGRATION: ReadonlySet<JobKind> = new Set(['sync', 'push', 'webhook', 'pipeline', 'sweep']);

export class InvalidJobMessage extends Error {
  constructor(where: string, problems: string) {
    super(`${where}: not a job message (${problems})`);
    this.name = 'InvalidJobMessage';
  }
}

/** Parses a message (already JSON-decoded); throws InvalidJobMessage naming each bad field. */
export function parseJobMessage(body: unknown, where = 'message'): JobMessage {
  const parsed = JOB_MESSAGE.safeParse(body);
  if (!parsed.success)
    throw new InvalidJobMessage(
      where,
      parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  if (NEEDS_INTEGRATION.has(parsed.data.kind) && parsed.data.integration === undefined)
    throw new InvalidJobMessage(where, `integration: required for a ${parsed.data.kind} job`);
  return parsed.data;
}

/**
 * Parses a message's envelope (kind, integration, ids) as a queue binding receives it; the payload is
 * left to parseJobMessage where the job is handled, so every entry point checks it in one place.
 */
export function parseJobEnvelope(body: unknown, where = 'message'): JobEnvelope {
  const parsed = JOB_ENVELOPE.safeParse(body);
  if (!parsed.success)
    throw new InvalidJobMessage(
      where,
      parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  return { ...parsed.data, payload: parsed.data.payload ?? null };
}

/** Parses a message body as text (a queue message, a Scheduler's input): its envelope. */
export function parseJobText(text: string, where = 'message'): JobEnvelope {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new InvalidJobMessage(where, 'body is not JSON');
  }
  return parseJobEnvelope(body, where);
}

/** What a stack's scheduler sends for an integration's schedule: the runtime creates the run. */
export function scheduleMessage(integration: string): JobMessage {
  return parseJobMessage({ kind: 'sync', integration, payload: { trigger: 'schedule' } }, `schedule of ${integration}`);
}
