/**
 * The personal data the runtime keeps beside the pipeline's tables, for erasure and retention: the raw
 * replica of every synced object (`synced_records`, vendor JSON of whatever shape) and dead-lettered
 * jobs (webhook events and ingest batches carry records). Live jobs are left alone: they finish within
 * minutes and are deleted when acknowledged, and dropping one would lose accepted work.
 */
import type { OtherPersonalData } from '@data-sync/pipelines/compliance';
import { subjectHash } from '@data-sync/pipelines/privacy';
import { eraseSubjectChanges, retainChanges } from './changes-repository';
import { addEvent, retainPublishedEvents } from './outbox-repository';

export const RUNTIME_PERSONAL_DATA: OtherPersonalData = {
  async erase(tx, email) {
    // The address anywhere in the record: vendors put it at different paths (Email, properties.email, emails[0].value).
    const replica = await tx.query('DELETE FROM synced_records WHERE strpos(lower(data::text), $1) > 0', [email]);
    const dead = await tx.query("DELETE FROM jobs WHERE status = 'dead' AND strpos(lower(payload::text), $1) > 0", [
      email,
    ]);
    // The change feed keeps row images: the subject leaves it, and consumers learn of the erasure by its hash only.
    const subject = subjectHash(email);
    const changes = await eraseSubjectChanges(tx, email, subject);
    await addEvent(tx, {
      type: 'compliance.erasure.completed',
      subject: `subject:${subject}`,
      data: { subjectHash: subject },
    });
    return { synced_records: replica.rowCount, dead_letters: dead.rowCount, change_feed: changes };
  },
  async retain(tx, cutoff) {
    const replica = await tx.query(
      'DELETE FROM synced_records WHERE COALESCE(source_updated_at, synced_at) < $1::timestamptz',
      [cutoff],
    );
    const dead = await tx.query("DELETE FROM jobs WHERE status = 'dead' AND dead_at < $1::timestamptz", [cutoff]);
    const changes = await retainChanges(tx, cutoff);
    const events = await retainPublishedEvents(tx, cutoff);
    return replica.rowCount + dead.rowCount + changes + events;
  },
};
