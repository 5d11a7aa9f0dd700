/** SQS event (the subset the worker reads). */
interface SqsEvent {
  Records: { messageId: string; body: string }[];
}

/**
 * The SQS-triggered worker: reports each message it cannot parse as a batch item failure so that SQS
 * retries only those (ReportBatchItemFailures) and, after maxReceiveCount, dead-letters them.
 */
export async function handler(event: SqsEvent): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  const failures: { itemIdentifier: string }[] = [];
  for (const record of event.Records) {
    try {
      JSON.parse(record.body);
    } catch {
      failures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures: failures };
}
