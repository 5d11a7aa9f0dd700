import fc from 'fast-check';
import { ident } from './db';
import { EMAIL_PATTERN } from './validation';
import {
  listQuarantine,
  amendQuarantine,
  recordPushes,
  replayQuarantine,
  runBatch,
  runStream,
  type BatchResult,
} from './batch';
import { FieldCipher, revealRecord } from './privacy';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';
import { DESIGN_SQL, DESIGN_TABLES_SQL, RAW_COLUMNS, contactsDigestSql } from './testing/design-sql';
import { pipelinePglite, pipelinePostgres, type TestDb } from './testing/db';
import { sfTime, sqlEquivalentRows, toSalesforce, type RawContact } from './testing/generate';

const MAPPING = 'salesforce_to_internal.Contact';

function balanced(result: BatchResult) {
  expect(result.accepted + result.quarantined + result.duplicates).toBe(result.received);
  expect(result.inserted + result.updated + result.unchanged).toBe(result.accepted);
}

function contact(
  email: string | null,
  updatedOffset: number,
  extra: Partial<RawContact> = {},
): Record<string, unknown> {
  return toSalesforce(
    {
      email,
      first_name: 'ann',
      last_name: 'lee',
      phone: '+1 415 555 0100',
      company_name: 'Acme',
      created_at: sfTime(0),
      updated_at: sfTime(updatedOffset),
      ...extra,
    },
    1,
  );
}

function behavesLikeTheDesignSql(open: () => Promise<TestDb>) {
  let t: TestDb;
  beforeAll(async () => {
    t = await open();
  });
  afterAll(async () => t?.close());
  beforeEach(async () => {
    await t.db.exec('TRUNCATE contacts, pipeline_quarantine, sync_pushes, contact_staging');
  });

  /** Runs the design document's SQL verbatim in its own schema and returns its table's digest. */
  async function designDigest(rows: readonly RawContact[]): Promise<{ digest: string; n: number }> {
    const schema = `${t.schema}_ref`;
    await t.db.exec(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE; CREATE SCHEMA ${ident(schema)}`);
    await t.db.transaction(async (tx) => {
      await tx.query(`SET LOCAL search_path TO ${ident(schema)}`);
      for (const statement of DESIGN_TABLES_SQL.split(';')) await tx.query(statement);
    });
    await t.db.copyRows(
      `${schema}.raw_contacts`,
      RAW_COLUMNS,
      rows.map((r) => RAW_COLUMNS.map((c) => r[c])),
    );
    const out = await t.db.transaction(async (tx) => {
      await tx.query(`SET LOCAL search_path TO ${ident(schema)}`);
      await tx.query(DESIGN_SQL);
      return (await tx.query(contactsDigestSql('contacts'))).rows[0];
    });
    await t.db.exec(`DROP SCHEMA ${ident(schema)} CASCADE`);
    return out as { digest: string; n: number };
  }

  const pipelineDigest = async () =>
    (await t.db.query(contactsDigestSql('contacts'))).rows[0] as { digest: string; n: number };

  test('one batch gives the same table as the design document SQL on the same rows (md5 of ordered rows)', async () => {
    const rows = sqlEquivalentRows(3000, 7);
    const result = await runBatch(t.db, {
      integration: 'salesforce',
      mapping: MAPPING,
      records: rows.map(toSalesforce),
    });
    balanced(result);
    const reference = await designDigest(rows);
    expect(await pipelineDigest()).toEqual(reference);
    expect(result.inserted).toBe(reference.n);
    const dropped = rows.filter(
      (r) => r.email === null || !/^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(r.email),
    ).length;
    expect(dropped).toBeGreaterThan(100);
    expect(result.quarantined).toBe(dropped);
    expect(result.duplicates).toBe(rows.length - dropped - reference.n);
  });

  test('the same rows split into batches delivered out of order give the same table, and a re-run changes nothing', async () => {
    const rows = sqlEquivalentRows(2000, 11);
    const records = rows.map(toSalesforce);
    const chunks = [records.slice(1500), records.slice(500, 1500), records.slice(0, 500)];
    const first = await runStream(t.db, { integration: 'salesforce', mapping: MAPPING, chunks });
    balanced(first);
    const reference = await designDigest(rows);
    expect(await pipelineDigest()).toEqual(reference);
    const again = await runStream(t.db, { integration: 'salesforce', mapping: MAPPING, chunks });
    expect(again).toEqual({ ...first, inserted: 0, updated: 0, unchanged: first.accepted });
    expect(await pipelineDigest()).toEqual(reference);
    expect((await t.db.query('SELECT count(*)::int AS n FROM contact_staging')).rows[0].n).toBe(0);
  });

  test('an older record never overwrites a newer one; a newer one does', async () => {
    const run = (records: Record<string, unknown>[]) =>
      runBatch(t.db, { integration: 'salesforce', mapping: MAPPING, records });
    expect(await run([contact('Ann@X.io', 100, { first_name: 'new' })])).toMatchObject({ inserted: 1 });
    expect(await run([contact('ann@x.io', 50, { first_name: 'old' })])).toMatchObject({
      accepted: 1,
      updated: 0,
      unchanged: 1,
    });
    expect((await t.db.query("SELECT first_name FROM contacts WHERE email = 'ann@x.io'")).rows).toEqual([
      { first_name: 'New' },
    ]);
    expect(await run([contact('ann@x.io', 200, { first_name: 'newest' })])).toMatchObject({ updated: 1 });
    expect((await t.db.query("SELECT first_name FROM contacts WHERE email = 'ann@x.io'")).rows).toEqual([
      { first_name: 'Newest' },
    ]);
  });

  test('within a batch, equal updated_at resolves to the record received last', async () => {
    const result = await runBatch(t.db, {
      integration: 'salesforce',
      mapping: MAPPING,
      records: [contact('tie@x.io', 5, { first_name: 'first' }), contact('TIE@x.io', 5, { first_name: 'second' })],
    });
    expect(result).toMatchObject({ received: 2, accepted: 1, duplicates: 1, inserted: 1 });
    expect((await t.db.query("SELECT first_name FROM contacts WHERE email = 'tie@x.io'")).rows).toEqual([
      { first_name: 'Second' },
    ]);
  });

  test('invalid records are quarantined with rule and reason per field; replay after the data is fixed upserts them', async () => {
    const records = [
      contact('ok@x.io', 1),
      contact(null, 2),
      contact('bad-email', 3, { phone: '12', company_name: 'C'.repeat(256) }),
      { ...contact('acct@x.io', 4), Account: 'not an object' },
    ];
    const result = await runBatch(t.db, { integration: 'salesforce', mapping: MAPPING, records, runId: 'run-1' });
    expect(result).toEqual({
      received: 4,
      accepted: 1,
      quarantined: 3,
      duplicates: 0,
      inserted: 1,
      updated: 0,
      unchanged: 0,
      dropped: 0,
    });
    const { items, total } = await listQuarantine(t.db, { integration: 'salesforce', limit: 10, offset: 0 });
    expect(total).toBe(3);
    expect(items.map((i) => i.errors)).toEqual([
      [{ field: 'email', rule: 'required', reason: 'email (from Email) is required' }],
      [
        { field: 'email', rule: 'format', reason: 'email (from Email) is not a valid email address' },
        {
          field: 'phone_number',
          rule: 'format',
          reason:
            'phone_number (from Phone) is not a valid phone number (numbers without a country code are read as US)',
        },
        {
          field: 'company_name',
          rule: 'max_length',
          reason: 'company_name (from Account.Name) is 256 characters, more than 255',
        },
      ],
      [
        {
          field: '*',
          rule: 'mapping',
          reason: '"Account" is a string, not an object, so "Account.Name" cannot be read',
        },
      ],
    ]);
    expect(items[1]).toMatchObject({
      runId: 'run-1',
      mapping: MAPPING,
      attempts: 0,
      record: { Email: 'bad-email', Phone: '12' },
    });
    expect(await listQuarantine(t.db, { integration: 'hubspot', limit: 10, offset: 0 })).toEqual({
      items: [],
      total: 0,
    });

    // The same batch again does not duplicate quarantine rows.
    balanced(await runBatch(t.db, { integration: 'salesforce', mapping: MAPPING, records }));
    expect((await listQuarantine(t.db, { limit: 10, offset: 0 })).total).toBe(3);

    await amendQuarantine(t.db, items[1].id, contact('fixed@x.io', 3));
    const replay = await replayQuarantine(t.db);
    expect(replay).toEqual({
      received: 3,
      accepted: 1,
      quarantined: 2,
      duplicates: 0,
      inserted: 1,
      updated: 0,
      unchanged: 0,
      dropped: 0,
    });
    const left = await listQuarantine(t.db, { limit: 10, offset: 0 });
    expect(left.items.map((i) => [i.id, i.attempts])).toEqual([
      [items[0].id, 1],
      [items[2].id, 1],
    ]);
    expect((await t.db.query("SELECT email FROM contacts WHERE email = 'fixed@x.io'")).rows).toHaveLength(1);
  });

  test('sensitive fields of quarantined records are stored encrypted, or redacted without a key', async () => {
    const cipher = new FieldCipher(Buffer.alloc(32, 7));
    const record = { ...contact(null, 1), ssn: '123-45-6789' };
    await runBatch(t.db, { integration: 'salesforce', mapping: MAPPING, records: [record] }, { cipher });
    await runBatch(t.db, {
      integration: 'hubspot',
      mapping: 'hubspot_to_internal.contacts',
      records: [{ properties: { email: 'x' }, bank_account: 'DE89 3704' }],
    });
    const { rows } = await t.db.query('SELECT integration, record::text AS text FROM pipeline_quarantine ORDER BY id');
    expect(rows[0].text).not.toContain('123-45-6789');
    expect(JSON.parse(rows[0].text).ssn).toMatch(/^enc:v1:/);
    expect(JSON.parse(rows[1].text).bank_account).toBe('[redacted]');
    const [item] = (await listQuarantine(t.db, { integration: 'salesforce', limit: 1, offset: 0 })).items;
    expect(revealRecord(item.record, cipher).ssn).toBe('123-45-6789');
    await amendQuarantine(t.db, item.id, { ...item.record, Email: 'sens@x.io' });
    expect(await replayQuarantine(t.db, [item.id], { cipher })).toMatchObject({ accepted: 1, inserted: 1 });
  });

  test('source of truth: a non-authoritative source never overwrites its rows, even when newer', async () => {
    const hub = (email: string, offset: number, first: string) => ({
      properties: { email, firstname: first, lastmodifieddate: sfTime(offset) },
    });
    await runBatch(t.db, {
      integration: 'hubspot',
      mapping: 'hubspot_to_internal.contacts',
      records: [hub('h@x.io', 10, 'hub'), hub('s@x.io', 10, 'hub')],
    });
    // Salesforce wins over HubSpot's row even though older.
    expect(
      await runBatch(t.db, {
        integration: 'salesforce',
        mapping: MAPPING,
        records: [contact('s@x.io', 5, { first_name: 'sf' })],
      }),
    ).toMatchObject({ updated: 1 });
    // HubSpot cannot overwrite Salesforce's row, even with a newer record, but updates its own.
    expect(
      await runBatch(t.db, {
        integration: 'hubspot',
        mapping: 'hubspot_to_internal.contacts',
        records: [hub('s@x.io', 99, 'hub2'), hub('h@x.io', 99, 'hub2')],
      }),
    ).toMatchObject({ updated: 1, unchanged: 1 });
    const { rows } = await t.db.query('SELECT email, first_name, source FROM contacts ORDER BY email');
    expect(rows).toEqual([
      { email: 'h@x.io', first_name: 'Hub2', source: 'hubspot' },
      { email: 's@x.io', first_name: 'Sf', source: 'salesforce' },
    ]);
  });

  test('loop prevention: the echo of a record this service pushed is not a change; a real edit is', async () => {
    await runBatch(t.db, {
      integration: 'hubspot',
      mapping: 'hubspot_to_internal.contacts',
      records: [{ properties: { email: 'loop@x.io', firstname: 'Local', lastmodifieddate: sfTime(10) } }],
    });
    const { rows } = await t.db.query(
      "SELECT email, first_name, last_name, phone AS phone_number, company_name FROM contacts WHERE email = 'loop@x.io'",
    );
    await recordPushes(t.db, 'salesforce', rows);
    // Salesforce sends our own write back with a fresh LastModifiedDate.
    const echo = toSalesforce(
      {
        email: 'loop@x.io',
        first_name: 'Local',
        last_name: null,
        phone: null,
        company_name: 'Unknown',
        created_at: null,
        updated_at: sfTime(20),
      },
      1,
    );
    expect(await runBatch(t.db, { integration: 'salesforce', mapping: MAPPING, records: [echo] })).toMatchObject({
      accepted: 1,
      updated: 0,
      unchanged: 1,
    });
    expect((await t.db.query("SELECT source FROM contacts WHERE email = 'loop@x.io'")).rows).toEqual([
      { source: 'hubspot' },
    ]);
    const edited = { ...echo, FirstName: 'Edited', LastModifiedDate: sfTime(30) };
    expect(await runBatch(t.db, { integration: 'salesforce', mapping: MAPPING, records: [edited] })).toMatchObject({
      updated: 1,
    });
  });

  test('property: the JS email check accepts exactly what the SQL filter keeps', async () => {
    const samples = fc.sample(
      fc.oneof(
        fc.stringMatching(EMAIL_PATTERN),
        fc.emailAddress(),
        fc.string(),
        fc.stringMatching(/^[ A-Za-z0-9.@%+_-]{0,12}\.[A-Za-z]{1,3}\n?$/),
      ),
      3000,
    );
    const { rows } = await t.db.query<{ s: string; ok: boolean }>(
      `SELECT s, s ~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$' AS ok FROM unnest($1::text[]) AS s`,
      [samples.map((x) => x.replace(/\u0000/g, ''))],
    );
    expect(rows.filter((r) => EMAIL_PATTERN.test(r.s) !== r.ok)).toEqual([]);
    expect(rows.filter((r) => r.ok).length).toBeGreaterThan(600);
    expect(rows.filter((r) => !r.ok).length).toBeGreaterThan(600);
  });

  test('bad batch input is refused with a message naming the problem', async () => {
    await expect(runBatch(t.db, { integration: 'salesforce', mapping: 'nope.Contact', records: [] })).rejects.toThrow(
      'unknown mapping "nope.Contact"',
    );
    await expect(
      runBatch(t.db, { integration: 'salesforce', mapping: 'internal_to_mailchimp.User', records: [] }),
    ).rejects.toThrow('is outbound');
    await expect(runBatch(t.db, { integration: 'Sales Force', mapping: MAPPING, records: [] })).rejects.toThrow(
      'integration must be',
    );
    await expect(
      runBatch(t.db, { integration: 'salesforce', mapping: MAPPING, records: 'x' as never }),
    ).rejects.toThrow('records must be an array');
    await expect(listQuarantine(t.db, { limit: 0, offset: 0 })).rejects.toThrow('limit must be');
    await expect(replayQuarantine(t.db, ['1; DROP TABLE contacts'])).rejects.toThrow('quarantine id must be numeric');
    expect(await runBatch(t.db, { integration: 'salesforce', mapping: MAPPING, records: [] })).toEqual({
      received: 0,
      accepted: 0,
      quarantined: 0,
      duplicates: 0,
      inserted: 0,
      updated: 0,
      unchanged: 0,
      dropped: 0,
    });
  });
}

describe('pipeline on PGlite', () => behavesLikeTheDesignSql(pipelinePglite));
describeWithService('pipeline on PostgreSQL', TEST_DATABASE_URL, () =>
  behavesLikeTheDesignSql(() => pipelinePostgres(TEST_DATABASE_URL, 'h4_pipeline')),
);
