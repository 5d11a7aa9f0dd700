/**
 * Data quality at volume: 100,000 generated Salesforce contacts with known defects go through the
 * pipeline; every defect must be found, quarantined under the right rule, and counted exactly.
 */
import { runBatch, type BatchResult } from './batch';
import { VALIDATION_RULES, type ValidationRules } from './validation';
import { pipelinePglite, type TestDb } from './testing/db';
import { qualityDataset } from './testing/generate';

const N = 100_000;
const MAPPING = 'salesforce_to_internal.Contact';
/** Every rule quarantines here, so each defect is found under its field and rule (by default optional formats only drop the value). */
const STRICT: ValidationRules = Object.fromEntries(
  Object.entries(VALIDATION_RULES).map(([field, rule]) => [field, { ...rule, action: 'quarantine' as const }]),
);

describe('data quality over 100,000 records with known defects', () => {
  let t: TestDb;
  const { records, expected, winners } = qualityDataset(N, 2026);
  const invalid =
    expected.missingEmail +
    expected.missingUpdatedAt +
    expected.badEmail +
    expected.badPhone +
    expected.longFirstName +
    expected.longCompany;
  let result: BatchResult;

  beforeAll(async () => {
    t = await pipelinePglite();
    result = await runBatch(
      t.db,
      { integration: 'salesforce', mapping: MAPPING, records, runId: 'quality' },
      { rules: STRICT },
    );
  });
  afterAll(async () => t?.close());

  test('every record is accounted for: accepted + quarantined + duplicates = received', () => {
    expect(records).toHaveLength(N);
    expect(result).toEqual({
      received: N,
      accepted: expected.unique,
      quarantined: invalid,
      duplicates: expected.duplicates,
      inserted: expected.unique,
      updated: 0,
      unchanged: 0,
      dropped: 0,
    });
  });

  test('each defect is quarantined under its field and rule, with exact counts', async () => {
    const { rows } = await t.db.query<{ field: string; rule: string; n: number }>(
      `SELECT e->>'field' AS field, e->>'rule' AS rule, count(*)::int AS n
       FROM pipeline_quarantine, jsonb_array_elements(errors) AS e GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    expect(rows).toEqual([
      { field: 'company_name', rule: 'max_length', n: expected.longCompany },
      { field: 'email', rule: 'format', n: expected.badEmail },
      { field: 'email', rule: 'required', n: expected.missingEmail },
      { field: 'first_name', rule: 'max_length', n: expected.longFirstName },
      { field: 'phone_number', rule: 'format', n: expected.badPhone },
      { field: 'updated_at', rule: 'required', n: expected.missingUpdatedAt },
    ]);
    const { rows: totals } = await t.db.query<{ n: number; occurrences: number; run: number }>(
      "SELECT count(*)::int AS n, sum(occurrences)::int AS occurrences, count(*) FILTER (WHERE run_id = 'quality')::int AS run FROM pipeline_quarantine",
    );
    expect(totals[0]).toEqual({ n: invalid, occurrences: invalid, run: invalid });
  });

  test('with the default rule actions, malformed optional values are dropped and their records kept', async () => {
    const loose = await pipelinePglite();
    try {
      const defaults = await runBatch(loose.db, {
        integration: 'salesforce',
        mapping: MAPPING,
        records,
        runId: 'quality',
      });
      expect(defaults.dropped).toBe(expected.badPhone + expected.longFirstName + expected.longCompany);
      expect(defaults.quarantined).toBe(expected.missingEmail + expected.missingUpdatedAt + expected.badEmail);
      expect(defaults.accepted + defaults.quarantined + defaults.duplicates).toBe(N);
      const { rows } = await loose.db.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM contacts WHERE phone IS NOT NULL AND phone <> '' AND phone !~ '^\\+[0-9]{8,15}$'",
      );
      expect(rows[0].n).toBe(0);
    } finally {
      await loose.close();
    }
  });

  test('one row per email, holding the latest updated_at of its duplicates', async () => {
    expect((await t.db.query('SELECT email FROM contacts GROUP BY email HAVING count(*) > 1')).rows).toEqual([]);
    const { rows } = await t.db.query<{ email: string; updated_at: Date | string }>(
      'SELECT email, updated_at FROM contacts',
    );
    expect(rows).toHaveLength(winners.size);
    const wrong = rows.filter((r) => winners.get(r.email) !== new Date(r.updated_at).toISOString());
    expect(wrong).toEqual([]);
  });
});
