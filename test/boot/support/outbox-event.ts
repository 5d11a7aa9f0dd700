import { randomUUID } from 'crypto';
import { openPostgres } from '@data-sync/pipelines/db';
import { addEvent } from '@data-sync/sync-runtime/src/store/outbox-repository';

/** Commits one event to the outbox of the stack's database, as a change would; resolves its marker. */
export async function commitOutboxEvent(databaseUrl: string): Promise<string> {
  const marker = randomUUID();
  const db = openPostgres(databaseUrl, { max: 1 });
  try {
    await db.transaction((tx) => addEvent(tx, { type: 'sync.run.succeeded', subject: 'boot', data: { marker } }));
  } finally {
    await db.close();
  }
  return marker;
}
