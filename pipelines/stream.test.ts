/**
 * runStream stages a chunk (validation streaming into COPY) while the previous chunk's upsert runs:
 * the batches must still commit in order, and a failure anywhere must surface and leave no staged rows.
 */
import { runStream } from './batch';
import { FieldCipher } from './privacy';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { pipelinePglite, pipelinePostgres, type TestDb } from './testing/db';
import { sfTime, toSalesforce } from './testing/generate';

const MAPPING = 'salesforce_to_internal.Contact';

const contact = (email: string | null, updatedOffset: number, firstName = 'ann') =>
  toSalesforce(
    {
      email,
      first_name: firstName,
      last_name: 'lee',
      phone: '+1 415 555 0100',
      company_name: 'Acme',
      created_at: sfTime(0),
      updated_at: sfTime(updatedOffset),
    },
    1,
  );

/** `n` distinct valid contacts, so a chunk is large enough for its COPY to overlap the previous upsert. */
const filler = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => contact(`${prefix}${i}@x.io`, i + 1));

function streams(open: () => Promise<TestDb>) {
  let t: TestDb;
  beforeAll(async () => {
    t = await open();
  });
  afterAll(async () => t?.close());
  beforeEach(async () => {
    await t.db.exec('DROP TRIGGER IF EXISTS boom ON contacts; TRUNCATE contacts, pipeline_quarantine, contact_staging');
  });
  const staged = async () => (await t.db.query('SELECT count(*)::int AS n FROM contact_staging')).rows[0].n;

  test('chunks commit in the order given: each is upserted against the ones before it', async () => {
    const result = await runStream(t.db, {
      integration: 'salesforce',
      mapping: MAPPING,
      chunks: [
        [contact('ann@x.io', 100, 'first'), ...filler('a', 6000)],
        [contact('ann@x.io', 300, 'second'), ...filler('b', 6000)],
        [contact('ann@x.io', 200, 'older'), ...filler('c', 6000)],
      ],
    });
    expect(result).toEqual({
      received: 18003,
      accepted: 18003,
      quarantined: 0,
      duplicates: 0,
      inserted: 18001,
      updated: 1,
      unchanged: 1,
      dropped: 0,
    });
    const { rows } = await t.db.query("SELECT first_name FROM contacts WHERE email = 'ann@x.io'");
    expect(rows).toEqual([{ first_name: 'Second' }]);
    expect(await staged()).toBe(0);
  });

  test('a validation failure in a later chunk rejects the stream; the earlier chunk stays committed, nothing stays staged', async () => {
    const cipher = new FieldCipher(Buffer.alloc(32, 1));
    cipher.encrypt = () => {
      throw new Error('key service unavailable');
    };
    await expect(
      runStream(
        t.db,
        {
          integration: 'salesforce',
          mapping: MAPPING,
          // The invalid record is quarantined, which encrypts it: the failure comes mid-COPY, after valid rows.
          chunks: [filler('a', 6000), [...filler('b', 6000), { ...contact('not-an-email', 1), ssn: '123-45-6789' }]],
        },
        { cipher },
      ),
    ).rejects.toThrow('key service unavailable');
    expect((await t.db.query('SELECT count(*)::int AS n FROM contacts')).rows[0].n).toBe(6000);
    expect(await staged()).toBe(0);
  });

  test("a failed upsert rejects the stream and removes the next chunk's staged rows", async () => {
    await t.db.exec(`
      CREATE OR REPLACE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'contacts rejected %', NEW.email; END $$;
      CREATE TRIGGER boom BEFORE INSERT ON contacts FOR EACH ROW WHEN (NEW.email = 'boom@x.io') EXECUTE FUNCTION boom()`);
    await expect(
      runStream(t.db, {
        integration: 'salesforce',
        mapping: MAPPING,
        chunks: [[contact('boom@x.io', 1), ...filler('a', 6000)], filler('b', 6000), filler('c', 10)],
      }),
    ).rejects.toThrow('contacts rejected boom@x.io');
    expect((await t.db.query('SELECT count(*)::int AS n FROM contacts')).rows[0].n).toBe(0);
    expect(await staged()).toBe(0);
  });

  test('an error from the chunk source rejects the stream after the chunks before it commit', async () => {
    async function* chunks() {
      yield filler('a', 100);
      throw new Error('vendor page 2 failed');
    }
    await expect(runStream(t.db, { integration: 'salesforce', mapping: MAPPING, chunks: chunks() })).rejects.toThrow(
      'vendor page 2 failed',
    );
    expect((await t.db.query('SELECT count(*)::int AS n FROM contacts')).rows[0].n).toBe(100);
    expect(await staged()).toBe(0);
  });
}

describe('runStream on PGlite', () => streams(pipelinePglite));
describeWithService('runStream on PostgreSQL', TEST_DATABASE_URL, () =>
  streams(() => pipelinePostgres(TEST_DATABASE_URL, 'h_stream')),
);
