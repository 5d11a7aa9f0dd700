/**
 * AWS: one SNS topic, and per internal service an SQS queue subscribed with a filter policy on the
 * `event_type` message attribute and raw delivery (constructs/events/aws.ts), so each service's queue
 * holds the CloudEvents themselves. Events go in CloudEvents structured mode: the message is the
 * envelope's JSON, and `event_type` is the only attribute, there for the filter policies.
 *
 * The topic is a standard one, which has no deduplication: an event delivered again (after a crash or
 * a refused batch) reaches the queues again with the same CloudEvents id, by which consumers deduplicate.
 */
import { PublishBatchCommand, type PublishBatchRequestEntry, type SNSClient } from '@aws-sdk/client-sns';
import type { CloudEvent } from '@data-sync/config/events';
import { type EventBus, UndeliveredEventsError } from './bus';

export interface SnsBusOptions {
  /** The topic's ARN (DATA_SYNC_EVENTS_TARGET). */
  readonly topicArn: string;
  /** The client to publish with; destroyed by close(). */
  readonly client: Pick<SNSClient, 'send' | 'destroy'>;
}

/** PublishBatch takes at most 10 entries per call. */
const SNS_BATCH_ENTRIES = 10;
/** A message, and a whole PublishBatch call, are at most 256 KiB (body and attributes) on a topic's default settings. */
export const SNS_MAX_BYTES = 262_144;

/** An event as a PublishBatch entry; its id is the CloudEvent's (unique in a batch, and a UUID fits SNS's 80 characters). */
function snsEntry(event: CloudEvent): PublishBatchRequestEntry {
  return {
    Id: event.id,
    Message: JSON.stringify(event),
    MessageAttributes: { event_type: { DataType: 'String', StringValue: event.type } },
  };
}

/** The bytes SNS counts of an entry: the message and each attribute's name, type and value. */
function snsEntryBytes(entry: PublishBatchRequestEntry): number {
  let bytes = Buffer.byteLength(entry.Message ?? '');
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {}))
    bytes +=
      Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  return bytes;
}

/** Groups entries into calls of at most 10 entries and 256 KiB, in order; an entry too big on its own is returned apart. */
function snsBatches(entries: readonly PublishBatchRequestEntry[]): {
  batches: PublishBatchRequestEntry[][];
  tooBig: Map<string, string>;
} {
  const batches: PublishBatchRequestEntry[][] = [];
  const tooBig = new Map<string, string>();
  let current: PublishBatchRequestEntry[] = [];
  let currentBytes = 0;
  for (const entry of entries) {
    const bytes = snsEntryBytes(entry);
    if (bytes > SNS_MAX_BYTES) {
      tooBig.set(entry.Id!, `the event is ${bytes} bytes as an SNS message; a topic takes at most ${SNS_MAX_BYTES}`);
      continue;
    }
    if (current.length === SNS_BATCH_ENTRIES || currentBytes + bytes > SNS_MAX_BYTES) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += bytes;
  }
  if (current.length) batches.push(current);
  return { batches, tooBig };
}

export function createSnsBus(options: SnsBusOptions): EventBus {
  const { topicArn, client } = options;
  return {
    kind: 'sns',
    async publish(events: readonly CloudEvent[]) {
      const { batches, tooBig } = snsBatches(events.map(snsEntry));
      const undelivered = new Map(tooBig);
      for (const [i, batch] of batches.entries()) {
        let answer;
        try {
          answer = await client.send(
            new PublishBatchCommand({ TopicArn: topicArn, PublishBatchRequestEntries: batch }),
          );
        } catch (error) {
          // The call failed as a whole (network, credentials, throttling): this batch and the ones not sent yet wait.
          const reason = `SNS PublishBatch to ${topicArn} failed: ${(error as Error).message}`;
          for (const entry of batches.slice(i).flat()) undelivered.set(entry.Id!, reason);
          break;
        }
        // A 200 answer may still refuse entries: whatever is not listed as successful is retried.
        const taken = new Set((answer.Successful ?? []).map((s) => s.Id));
        const refused = new Map((answer.Failed ?? []).map((f) => [f.Id, `${f.Code}: ${f.Message ?? 'refused'}`]));
        for (const entry of batch)
          if (!taken.has(entry.Id))
            undelivered.set(entry.Id!, `SNS refused the event (${refused.get(entry.Id) ?? 'not in the answer'})`);
      }
      if (undelivered.size) throw new UndeliveredEventsError(undelivered);
    },
    async close() {
      client.destroy();
    },
  };
}
