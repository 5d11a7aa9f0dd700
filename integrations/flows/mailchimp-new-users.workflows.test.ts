import { optOut } from '../../pipelines';
import { pipelinePglite, type TestDb } from '../../pipelines/testing/db';
import { startFakeMailchimp, type MailchimpFake } from '../../test/fakes/mailchimp';
import { connectorFor } from '../registry';
import { syncNewUsersToMailchimp, toMember } from './mailchimp-new-users';

describe('users created in the last 15 minutes are added to the Mailchimp newsletter list', () => {
  let testDb: TestDb;
  let fake: MailchimpFake;
  const now = new Date();
  const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000).toISOString();

  beforeAll(async () => {
    testDb = await pipelinePglite();
    fake = await startFakeMailchimp({ seed: { newsletter: 0, product_updates: 0 } });
    await testDb.db.exec('CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, first_name text, last_name text, created_at timestamptz NOT NULL DEFAULT now())');
    const users: [string, string, string, number][] = [
      ['ada@example.com', 'Ada', 'Lovelace', 1],
      ['grace@example.com', 'Grace', 'Hopper', 5],
      ['alan@example.com', 'Alan', 'Turing', 14],
      ['optout@example.com', 'Opted', 'Out', 3],
      ['old@example.com', 'Too', 'Old', 16],
      ['ancient@example.com', 'Way', 'Older', 60 * 24],
    ];
    for (const [email, first, last, age] of users) {
      await testDb.db.query('INSERT INTO users (email, first_name, last_name, created_at) VALUES ($1, $2, $3, $4)', [email, first, last, minutesAgo(age)]);
    }
    await optOut(testDb.db, 'OptOut@example.com', { actor: 'test' });
  }, 60_000);

  afterAll(async () => {
    await fake?.close();
    await testDb?.close();
  });

  const run = () =>
    syncNewUsersToMailchimp({
      db: testDb.db,
      mailchimp: connectorFor('mailchimp').create({ apiKey: fake.apiKey, baseUrl: fake.url }),
      now,
    });

  test('adds exactly the new, not opted-out users, mapped to merge fields, and remembers the push', async () => {
    const result = await run();
    expect(result).toEqual({ selected: 4, optedOut: 1, push: { upserted: 3, failed: [] } });
    const added = fake.members('newsletter');
    expect(added.map((m) => [m.email_address, m.status, m.merge_fields.FNAME, m.merge_fields.LNAME])).toEqual([
      ['ada@example.com', 'subscribed', 'Ada', 'Lovelace'],
      ['alan@example.com', 'subscribed', 'Alan', 'Turing'],
      ['grace@example.com', 'subscribed', 'Grace', 'Hopper'],
    ]);
    const { rows } = await testDb.db.query<{ record_key: string }>("SELECT record_key FROM sync_pushes WHERE integration = 'mailchimp' ORDER BY record_key");
    expect(rows.map((r) => r.record_key)).toEqual(['ada@example.com', 'alan@example.com', 'grace@example.com']);
  });

  test('running again (an overlapping schedule) leaves the list unchanged', async () => {
    const before = fake.snapshot('newsletter');
    const result = await run();
    expect(result.push).toEqual({ upserted: 3, failed: [] });
    expect(fake.snapshot('newsletter')).toEqual(before);
  });

  test('a user Mailchimp refuses is reported and not remembered as pushed', async () => {
    await testDb.db.query("INSERT INTO users (email, first_name, last_name, created_at) VALUES ('broken@', 'B', 'R', $1)", [minutesAgo(2)]);
    const result = await run();
    expect(result.push.failed).toEqual([{ key: 'broken@', reason: expect.stringContaining('valid email') }]);
    const { rows } = await testDb.db.query("SELECT 1 FROM sync_pushes WHERE record_key = 'broken@'");
    expect(rows).toEqual([]);
  });

  test('maps the signup date to timestamp_signup and keeps only merge tags in merge_fields', () => {
    expect(toMember({ FNAME: 'A', LNAME: null, email_address: 'a@example.com', signup_date: '2026-01-01T00:00:00.000Z' })).toEqual({
      email_address: 'a@example.com',
      merge_fields: { FNAME: 'A' },
      timestamp_signup: '2026-01-01T00:00:00.000Z',
    });
  });
});
