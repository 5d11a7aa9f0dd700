/**
 * One inbound batch: map -> validate (invalid rows quarantined with reasons) -> stage (COPY) -> one
 * set-based statement that cleans, deduplicates and upserts with the design document's semantics.
 */
import { createHash, randomInt } from 'crypto';
import type { Db, Queryable } from './db';
import { ConflictPolicy, loadMappings, Mapping } from './mappings';
import { protectRecord, FieldCipher, revealRecord, subjectHash } from './privacy';
import { validateRecords, FieldError, ValidationRules, VALIDATION_RULES } from './validation';

export interface BatchResult {
  received: number;
  /** Distinct records (one per email) that passed validation: inserted + updated + unchanged. */
  accepted: number;
  quarantined: number;
  /** Valid records superseded by another of the same batch with the same email. */
  duplicates: number;
  inserted: number;
  updated: number;
  /**
   * Accepted records that changed nothing: older than the stored row, identical re-runs, echoes of
   * our own pushes, or subjects being erased.
   */
  unchanged: number;
  /** Values removed from kept records by a rule whose action is `drop` (a malformed optional phone). */
  dropped: number;
}

export interface BatchInput {
  integration: string;
  /** An inbound mapping, e.g. `salesforce_to_internal.Contact`. */
  mapping: string;
  records: readonly Record<string, unknown>[];
  runId?: string;
  /** The vendor id of each record (same order), recorded as the contact's source at this integration. */
  externalIds?: readonly (string | null)[];
  /** The synced object the records came from (default the mapping's vendor object). */
  object?: string;
}

export interface PipelineOptions {
  /** Encrypts sensitive fields of quarantined raw records; without it they are stored redacted. */
  cipher?: FieldCipher;
  /** Rules to validate with (default: the design document's). */
  rules?: ValidationRules;
}

export const emptyResult = (): BatchResult => ({
  received: 0,
  accepted: 0,
  quarantined: 0,
  duplicates: 0,
  inserted: 0,
  updated: 0,
  unchanged: 0,
  dropped: 0,
});

export function addResults(a: BatchResult, b: BatchResult): BatchResult {
  return {
    received: a.received + b.received,
    accepted: a.accepted + b.accepted,
    quarantined: a.quarantined + b.quarantined,
    duplicates: a.duplicates + b.duplicates,
    inserted: a.inserted + b.inserted,
    updated: a.updated + b.updated,
    unchanged: a.unchanged + b.unchanged,
    dropped: a.dropped + b.dropped,
  };
}

export const STAGING_COLUMNS = [
  'batch_id',
  'ord',
  'email',
  'first_name',
  'last_name',
  'phone',
  'company_name',
  'created_at',
  'updated_at',
  'source_id',
] as const;

/** The contact fields a mapping can carry, as the internal field and the contacts column. */
const CONTACT_FIELDS = [
  ['first_name', 'first_name'],
  ['last_name', 'last_name'],
  ['phone_number', 'phone'],
  ['company_name', 'company_name'],
] as const;

const ALL_COLUMNS: ReadonlySet<string> = new Set(CONTACT_FIELDS.map(([, column]) => column));

/** The contact columns `mapping` writes (inbound) or reads (outbound). */
export function mappedColumns(mapping: Mapping): Set<string> {
  const internal = new Set(mapping.fields.map((f) => (mapping.direction === 'inbound' ? f.to : f.from)));
  return new Set(CONTACT_FIELDS.filter(([field]) => internal.has(field)).map(([, column]) => column));
}

/**
 * The echo fingerprint of a contact over the columns a source carries (the others as NULL): what this
 * service last pushed to a destination and what the destination sends back compare equal exactly when
 * the destination changed nothing it carries. `alias` is the row's table alias.
 */
export function contentHashSql(alias: string, columns: ReadonlySet<string>): string {
  return `md5(ROW(${CONTACT_FIELDS.map(([, c]) => (columns.has(c) ? `${alias}.${c}` : 'NULL::text')).join(', ')})::text)`;
}

/** Every write to contacts takes this lock first, so change positions are handed out in commit order (push cursors never skip). */
export const CONTACT_CHANGE_LOCK = 'SELECT pg_advisory_xact_lock(727001)';

/** Key order independent JSON, so the same record always hashes the same. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.keys(value as object)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${stableStringify((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/** JSON for a jsonb column: PostgreSQL text cannot hold NUL, so it becomes U+FFFD. */
const jsonForDb = (value: unknown) => JSON.stringify(value).replace(/\\u0000/g, '\\ufffd');

/**
 * The ON CONFLICT condition for a policy. Every branch requires the incoming row to be newer when the
 * stored row came from a writer of equal standing, so older data never overwrites newer data and a
 * re-run changes nothing.
 */
function conflictCondition(policy: ConflictPolicy, integration: string, params: unknown[]): string {
  const newer = '(contacts.updated_at IS NULL OR EXCLUDED.updated_at > contacts.updated_at)';
  if (policy.kind === 'latest_wins') return newer;
  params.push(policy.source);
  const source = `$${params.length}`;
  return integration === policy.source
    ? `(contacts.source IS DISTINCT FROM ${source} OR ${newer})`
    : `(contacts.source IS DISTINCT FROM ${source} AND ${newer})`;
}

/** Hashing every row costs; the filter is added only while some vendor erasure is unconfirmed. */
const ERASURE_FILTER = `AND NOT EXISTS (
        SELECT 1 FROM erasure_requests e
        WHERE e.status <> 'done' AND e.subject_hash = encode(sha256(convert_to(d.email, 'UTF8')), 'hex')
      )`;

/** Where a batch's valid rows are read from: the staging table (COPY) or a JSON parameter inside the caller's transaction. */
type RowSource =
  { readonly kind: 'staging'; readonly batchId: string } | { readonly kind: 'json'; readonly rows: string };

const JSON_ROWS = `jsonb_to_recordset($1::jsonb) AS contact_staging(ord int, email text, first_name text, last_name text, phone text,
        company_name text, created_at timestamptz, updated_at timestamptz, source_id text)`;

/**
 * The design document's statement, reading one batch. Additions: the `ord DESC` tie-break (the latest
 * received wins among equal `updated_at`, where the document leaves the choice to the planner), the
 * conflict policy's WHERE, echo suppression, no re-import of a subject whose erasure some vendor has
 * not confirmed yet, the counts, and a column the source's mapping does not carry keeps its stored
 * value (a Mailchimp member has no company: it must not reset one to 'Unknown'). It also records the contact's source and change position.
 */
function upsertStatement(
  mapping: Mapping,
  integration: string,
  object: string,
  source: RowSource,
  erasuresOpen: boolean,
): { sql: string; params: unknown[] } {
  const params: unknown[] = [source.kind === 'staging' ? source.batchId : source.rows, integration, object];
  const condition = conflictCondition(mapping.conflict, integration, params);
  const columns = mappedColumns(mapping);
  const from =
    source.kind === 'staging' ? 'contact_staging\n      WHERE batch_id = $1\n      AND' : `${JSON_ROWS}\n      WHERE`;
  const set = (column: string) => (columns.has(column) ? `EXCLUDED.${column}` : `contacts.${column}`);
  const erasureFilter = erasuresOpen ? ERASURE_FILTER : '';
  const sql = `
    WITH cleaned_contacts AS (
      SELECT
        TRIM(LOWER(email)) as email,
        INITCAP(TRIM(first_name)) as first_name,
        INITCAP(TRIM(last_name)) as last_name,
        REGEXP_REPLACE(phone, '[^0-9+]', '', 'g') as phone,
        COALESCE(company_name, 'Unknown') as company_name,
        created_at,
        updated_at,
        source_id,
        ord
      FROM ${from} email IS NOT NULL
      AND email ~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$'
    ),
    deduplicated_contacts AS (
      SELECT DISTINCT ON (email) *
      FROM cleaned_contacts
      ORDER BY email, updated_at DESC, ord DESC
    ),
    upserted AS (
      INSERT INTO contacts (email, first_name, last_name, phone, company_name, created_at, updated_at, source, change_seq)
      SELECT d.email, d.first_name, d.last_name, d.phone, d.company_name, d.created_at, d.updated_at, $2, nextval('contact_change_seq')
      FROM deduplicated_contacts d
      WHERE NOT EXISTS (
        SELECT 1 FROM sync_pushes p
        WHERE p.integration = $2 AND p.record_key = d.email
        AND p.content_hash = ${contentHashSql('d', columns)}
      )
      ${erasureFilter}
      ON CONFLICT (email) DO UPDATE SET
        first_name = ${set('first_name')},
        last_name = ${set('last_name')},
        phone = ${set('phone')},
        company_name = ${set('company_name')},
        updated_at = EXCLUDED.updated_at,
        source = EXCLUDED.source,
        change_seq = EXCLUDED.change_seq
      WHERE ${condition}
      RETURNING (xmax = 0) AS inserted
    ),
    sourced AS (
      INSERT INTO contact_sources (email, integration, object, external_id, synced_at)
      SELECT d.email, $2, $3, d.source_id, now()
      FROM deduplicated_contacts d
      WHERE true ${erasureFilter}
      ON CONFLICT (email, integration) DO UPDATE SET object = EXCLUDED.object, external_id = COALESCE(EXCLUDED.external_id, contact_sources.external_id), synced_at = EXCLUDED.synced_at
      RETURNING 1
    )
    SELECT
      (SELECT count(*) FROM cleaned_contacts)::int AS cleaned,
      (SELECT count(*) FROM deduplicated_contacts)::int AS distinct_rows,
      (SELECT count(*) FROM upserted WHERE inserted)::int AS inserted,
      (SELECT count(*) FROM upserted WHERE NOT inserted)::int AS updated,
      (SELECT count(*) FROM sourced)::int AS sourced`;
  return { sql, params };
}

interface Quarantined {
  record: string;
  errors: string;
  hash: string;
  subject: string | null;
  occurrences: number;
  /** The quarantine row this came from, when replaying. */
  id?: string;
}

/** A batch after the CPU work (map, validate, shape rows), before any database work. */
export interface PreparedBatch {
  readonly mapping: Mapping;
  readonly integration: string;
  readonly runId: string | null;
  readonly batchId: string;
  readonly received: number;
  readonly rows: unknown[][];
  readonly quarantine: Quarantined[];
  readonly quarantinedCount: number;
  /** Values dropped from kept records (rule action `drop`). */
  readonly droppedCount: number;
  readonly object: string;
  /** Quarantine rows whose record now passes (replay). */
  readonly resolvedIds: string[];
}

function checkInput(input: BatchInput): Mapping {
  if (!input || typeof input !== 'object') throw new Error('batch input must be an object');
  if (typeof input.integration !== 'string' || !/^[a-z0-9_]{1,64}$/.test(input.integration))
    throw new Error(
      `integration must be a lower-case name of letters, digits and _, got ${JSON.stringify(input.integration)}`,
    );
  if (!Array.isArray(input.records)) throw new Error('records must be an array');
  if (input.runId !== undefined && typeof input.runId !== 'string') throw new Error('runId must be a string');
  if (input.externalIds !== undefined && input.externalIds.length !== input.records.length)
    throw new Error('externalIds must have one entry per record');
  const mapping = loadMappings().get(input.mapping);
  if (mapping.direction !== 'inbound')
    throw new Error(`mapping ${mapping.name} is outbound; a batch runs an inbound mapping into the store`);
  return mapping;
}

const SLICE = 5000;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A batch whose valid rows are counted rather than held: what the upsert and the quarantine need. */
type CommitInput = Omit<PreparedBatch, 'rows'> & { readonly rowCount: number };

/** The state of a batch's CPU work while its slices are mapped and validated. */
interface Preparation {
  readonly input: BatchInput;
  readonly options: PipelineOptions;
  readonly sourceIds: readonly string[] | undefined;
  readonly mapping: Mapping;
  readonly batchId: string;
  readonly quarantine: Map<string, Quarantined>;
  readonly resolvedIds: string[];
  quarantinedCount: number;
  droppedCount: number;
  rowCount: number;
}

function startPreparation(
  input: BatchInput,
  options: PipelineOptions,
  sourceIds: readonly string[] | undefined,
): Preparation {
  return {
    input,
    options,
    sourceIds,
    mapping: checkInput(input),
    // Random across processes; a bigint keeps every staged row (and the batch filter) small.
    batchId: String(randomInt(1, 2 ** 48)),
    quarantine: new Map(),
    resolvedIds: [],
    quarantinedCount: 0,
    droppedCount: 0,
    rowCount: 0,
  };
}

/** Maps and validates the slice of records from `start`, appending its staging rows to `rows`. */
function prepareSlice(p: Preparation, start: number, rows: unknown[][]): void {
  const { input, mapping, batchId, sourceIds, options, quarantine } = p;
  const slice = input.records.slice(start, start + SLICE);
  const { valid, invalid, validIndexes, dropped } = validateRecords(mapping, slice, options.rules ?? VALIDATION_RULES);
  p.droppedCount += dropped.length;
  p.rowCount += valid.length;
  valid.forEach((v, i) => {
    const ord = start + validIndexes[i];
    rows.push([
      batchId,
      ord,
      v.email,
      v.first_name ?? null,
      v.last_name ?? null,
      v.phone_number ?? null,
      v.company_name ?? null,
      v.created_at ?? null,
      v.updated_at,
      input.externalIds?.[ord] ?? null,
    ]);
    if (sourceIds) p.resolvedIds.push(sourceIds[ord]);
  });
  for (const { index, record, errors } of invalid) {
    p.quarantinedCount++;
    const hash = createHash('sha256').update(stableStringify(record)).digest('hex');
    const id = sourceIds?.[start + index];
    const key = id ?? hash;
    const existing = quarantine.get(key);
    if (existing) existing.occurrences++;
    else
      quarantine.set(key, {
        record: jsonForDb(protectRecord(record, options.cipher)),
        errors: jsonForDb(errors),
        hash,
        subject: subjectOf(mapping, record),
        occurrences: 1,
        id,
      });
  }
}

function finishPreparation(p: Preparation): Omit<PreparedBatch, 'rows'> {
  return {
    mapping: p.mapping,
    integration: p.input.integration,
    object: p.input.object ?? p.mapping.vendorObject,
    runId: p.input.runId ?? null,
    batchId: p.batchId,
    received: p.input.records.length,
    quarantine: [...p.quarantine.values()],
    quarantinedCount: p.quarantinedCount,
    droppedCount: p.droppedCount,
    resolvedIds: p.resolvedIds,
  };
}

/**
 * Maps and validates in slices, yielding between them so the database work of a previous batch
 * proceeds meanwhile. `sourceIds` are the quarantine ids of the records when replaying.
 */
export async function prepareBatch(
  input: BatchInput,
  options: PipelineOptions = {},
  sourceIds?: readonly string[],
): Promise<PreparedBatch> {
  const p = startPreparation(input, options, sourceIds);
  const rows: unknown[][] = [];
  for (let start = 0; start < input.records.length; start += SLICE) {
    if (start > 0) await yieldToLoop();
    prepareSlice(p, start, rows);
  }
  return { ...finishPreparation(p), rows };
}

/** The staging rows of a batch, each slice mapped and validated only when the COPY asks for its rows. */
function* stagingRows(p: Preparation): Generator<unknown[]> {
  for (let start = 0; start < p.input.records.length; start += SLICE) {
    const rows: unknown[][] = [];
    prepareSlice(p, start, rows);
    yield* rows;
  }
}

/** The subject's hash from the record's mapped email, when it has one, so erasure finds quarantined rows. */
function subjectOf(mapping: Mapping, record: Record<string, unknown>): string | null {
  const path = mapping.fields.find((f) => f.to === 'email')?.from;
  let value: unknown = record;
  for (const segment of (path ?? '').split('.'))
    value = value && typeof value === 'object' ? (value as Record<string, unknown>)[segment] : undefined;
  return typeof value === 'string' && value.trim() ? subjectHash(value) : null;
}

async function storeQuarantine(tx: Queryable, batch: CommitInput): Promise<void> {
  const q = batch.quarantine;
  if (q.length === 0) return;
  if (q[0].id !== undefined) {
    // Replay: the rows exist; they keep their stored record and get the new errors.
    await tx.query(
      `UPDATE pipeline_quarantine SET errors = u.e::jsonb, attempts = attempts + 1, last_seen_at = now()
       FROM unnest($1::bigint[], $2::text[]) AS u(id, e) WHERE pipeline_quarantine.id = u.id`,
      [q.map((x) => x.id), q.map((x) => x.errors)],
    );
    return;
  }
  await tx.query(
    `INSERT INTO pipeline_quarantine (integration, mapping, run_id, record, errors, record_hash, subject_hash, occurrences)
     SELECT $1, $2, $3, u.r::jsonb, u.e::jsonb, u.h, u.s, u.n
     FROM unnest($4::text[], $5::text[], $6::text[], $7::text[], $8::int[]) AS u(r, e, h, s, n)
     ON CONFLICT (integration, mapping, record_hash) DO UPDATE SET
       errors = EXCLUDED.errors,
       run_id = COALESCE(EXCLUDED.run_id, pipeline_quarantine.run_id),
       occurrences = pipeline_quarantine.occurrences + EXCLUDED.occurrences,
       last_seen_at = now()`,
    [
      batch.integration,
      batch.mapping.name,
      batch.runId,
      q.map((x) => x.record),
      q.map((x) => x.errors),
      q.map((x) => x.hash),
      q.map((x) => x.subject),
      q.map((x) => x.occurrences),
    ],
  );
}

type Counts = { cleaned: number; distinct_rows: number; inserted: number; updated: number };

/** The upsert and the quarantine of one prepared batch, inside the caller's transaction. */
async function upsertWithin(tx: Queryable, batch: CommitInput, source: RowSource): Promise<BatchResult> {
  let c: Counts = { cleaned: 0, distinct_rows: 0, inserted: 0, updated: 0 };
  if (batch.rowCount) {
    const open = await tx.query("SELECT 1 FROM erasure_requests WHERE status <> 'done' LIMIT 1");
    const { sql, params } = upsertStatement(
      batch.mapping,
      batch.integration,
      batch.object,
      source,
      open.rows.length > 0,
    );
    await tx.query(CONTACT_CHANGE_LOCK);
    // The statement sorts and materializes the whole batch: with the default 4 MB a batch of tens of
    // thousands spills to temporary files. Local to the transaction.
    if (batch.rowCount > 5000) await tx.query("SET LOCAL work_mem = '64MB'");
    c = (await tx.query<Counts>(sql, params)).rows[0];
    // JS validation and the SQL filter are the same rule; a disagreement must not commit miscounted work.
    if (c.cleaned !== batch.rowCount)
      throw new Error(
        `pipeline invariant broken: ${batch.rowCount} rows passed validation but the statement kept ${c.cleaned}`,
      );
  }
  await storeQuarantine(tx, batch);
  if (batch.resolvedIds.length)
    await tx.query('DELETE FROM pipeline_quarantine WHERE id = ANY($1::bigint[])', [batch.resolvedIds]);
  return {
    received: batch.received,
    accepted: c.distinct_rows,
    quarantined: batch.quarantinedCount,
    duplicates: c.cleaned - c.distinct_rows,
    inserted: c.inserted,
    updated: c.updated,
    unchanged: c.distinct_rows - c.inserted - c.updated,
    dropped: batch.droppedCount,
  };
}

/**
 * Runs a prepared batch inside the caller's open transaction (a sync page, committed with its cursor,
 * run counters and audit entry): the rows go in as one JSON parameter instead of through COPY.
 */
export function commitBatchWithin(tx: Queryable, batch: PreparedBatch): Promise<BatchResult> {
  const rows = batch.rows.map((r) => ({
    ord: r[1],
    email: r[2],
    first_name: r[3],
    last_name: r[4],
    phone: r[5],
    company_name: r[6],
    created_at: r[7],
    updated_at: r[8],
    source_id: r[9],
  }));
  return upsertWithin(tx, { ...batch, rowCount: rows.length }, { kind: 'json', rows: jsonForDb(rows) });
}

/** Removes a batch's staged rows after a failure; the failure itself is what the caller reports. */
async function dropStaged(db: Db, batch: CommitInput): Promise<void> {
  if (batch.rowCount)
    await db.query('DELETE FROM contact_staging WHERE batch_id = $1', [batch.batchId]).catch(() => undefined);
}

/** Upserts a batch whose rows are staged and records its quarantine, in one transaction. */
async function commitStaged(db: Db, batch: CommitInput): Promise<BatchResult> {
  try {
    return await db.transaction(async (tx) => {
      const result = await upsertWithin(tx, batch, { kind: 'staging', batchId: batch.batchId });
      if (batch.rowCount) await tx.query('DELETE FROM contact_staging WHERE batch_id = $1', [batch.batchId]);
      return result;
    });
  } catch (error) {
    await dropStaged(db, batch);
    throw error;
  }
}

/** Stages the valid rows (COPY), then upserts and records the quarantine in one transaction. */
export async function commitBatch(db: Db, batch: PreparedBatch): Promise<BatchResult> {
  const { rows, ...rest } = batch;
  const staged: CommitInput = { ...rest, rowCount: rows.length };
  if (rows.length) await db.copyRows('contact_staging', STAGING_COLUMNS, rows);
  return commitStaged(db, staged);
}

/**
 * Maps and validates a batch while its valid rows stream into the staging table: PostgreSQL stores
 * one part while Node validates the next, and the rows are never all held at once.
 */
async function stageStreaming(db: Db, input: BatchInput, options: PipelineOptions): Promise<CommitInput> {
  const p = startPreparation(input, options, undefined);
  try {
    await db.copyRows('contact_staging', STAGING_COLUMNS, stagingRows(p));
  } catch (error) {
    // PostgreSQL's aborted COPY stores nothing, but PGlite's INSERTs before the failure stay.
    await dropStaged(db, { ...finishPreparation(p), rowCount: p.rowCount });
    throw error;
  }
  return { ...finishPreparation(p), rowCount: p.rowCount };
}

/** Runs one batch through the whole pipeline. */
export async function runBatch(db: Db, input: BatchInput, options: PipelineOptions = {}): Promise<BatchResult> {
  return commitBatch(db, await prepareBatch(input, options));
}

/**
 * Runs a stream of chunks of one integration's records, one batch per chunk and committed in order.
 * A chunk is mapped, validated and staged (COPY) while the database upserts the previous one, so
 * Node's CPU work and PostgreSQL's overlap; memory holds about two chunks whatever the stream's length.
 */
export async function runStream(
  db: Db,
  input: {
    integration: string;
    mapping: string;
    runId?: string;
    chunks: AsyncIterable<readonly Record<string, unknown>[]> | Iterable<readonly Record<string, unknown>[]>;
  },
  options: PipelineOptions = {},
): Promise<BatchResult> {
  let total = emptyResult();
  let pending: Promise<BatchResult> | undefined;
  try {
    for await (const records of input.chunks) {
      const staged = await stageStreaming(
        db,
        { integration: input.integration, mapping: input.mapping, runId: input.runId, records },
        options,
      );
      try {
        if (pending) total = addResults(total, await pending);
      } catch (error) {
        pending = undefined;
        await dropStaged(db, staged);
        throw error;
      }
      pending = commitStaged(db, staged);
    }
    if (pending) total = addResults(total, await pending);
  } catch (error) {
    await pending?.catch(() => undefined);
    throw error;
  }
  return total;
}

export interface QuarantineItem {
  id: string;
  integration: string;
  mapping: string;
  runId: string | null;
  record: Record<string, unknown>;
  errors: FieldError[];
  occurrences: number;
  attempts: number;
  createdAt: string;
  lastSeenAt: string;
}

const asIso = (v: unknown) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const asJson = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

/** Quarantined records, oldest first; sensitive fields stay encrypted. */
export async function listQuarantine(
  db: Queryable,
  q: { integration?: string; limit: number; offset: number },
): Promise<{ items: QuarantineItem[]; total: number }> {
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > 1000)
    throw new Error('limit must be an integer from 1 to 1000');
  if (!Number.isInteger(q.offset) || q.offset < 0) throw new Error('offset must be a non-negative integer');
  const integration = q.integration ?? null;
  const { rows } = await db.query(
    `SELECT id::text AS id, integration, mapping, run_id, record, errors, occurrences, attempts, created_at, last_seen_at
     FROM pipeline_quarantine WHERE ($1::text IS NULL OR integration = $1) ORDER BY id LIMIT $2 OFFSET $3`,
    [integration, q.limit, q.offset],
  );
  const total = (
    await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pipeline_quarantine WHERE ($1::text IS NULL OR integration = $1)',
      [integration],
    )
  ).rows[0].n;
  return {
    total,
    items: rows.map((r) => ({
      id: r.id,
      integration: r.integration,
      mapping: r.mapping,
      runId: r.run_id,
      record: asJson(r.record),
      errors: asJson(r.errors),
      occurrences: r.occurrences,
      attempts: r.attempts,
      createdAt: asIso(r.created_at),
      lastSeenAt: asIso(r.last_seen_at),
    })),
  };
}

/** Replaces a quarantined record with a corrected one (replay it afterwards). */
export async function amendQuarantine(db: Queryable, id: string, record: Record<string, unknown>): Promise<void> {
  if (!/^[0-9]+$/.test(id)) throw new Error(`quarantine id must be numeric, got ${JSON.stringify(id)}`);
  if (!record || typeof record !== 'object' || Array.isArray(record)) throw new Error('record must be an object');
  const hash = createHash('sha256').update(stableStringify(record)).digest('hex');
  const { rows } = await db.query('SELECT mapping FROM pipeline_quarantine WHERE id = $1', [id]);
  if (rows.length === 0) throw new Error(`quarantine item ${id} does not exist`);
  const mapping = loadMappings().get(rows[0].mapping);
  await db.query(
    'UPDATE pipeline_quarantine SET record = $2::jsonb, record_hash = $3, subject_hash = $4 WHERE id = $1',
    [id, jsonForDb(record), hash, subjectOf(mapping, record)],
  );
}

const REPLAY_PAGE = 5000;

/**
 * Runs quarantined records (the given ids, or all) through the pipeline again, with the current rules:
 * those that pass are upserted and leave the quarantine; the others stay with their new errors.
 */
export async function replayQuarantine(
  db: Db,
  ids?: readonly string[],
  options: PipelineOptions = {},
): Promise<BatchResult> {
  if (ids) {
    const bad = ids.find((id) => typeof id !== 'string' || !/^[0-9]+$/.test(id));
    if (bad !== undefined) throw new Error(`quarantine id must be numeric, got ${JSON.stringify(bad)}`);
  }
  let total = emptyResult();
  let after = '0';
  for (;;) {
    const { rows } = await db.query(
      `SELECT id::text AS id, integration, mapping, record FROM pipeline_quarantine
       WHERE id > $1::bigint AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[])) ORDER BY id LIMIT $3`,
      [after, ids ?? null, REPLAY_PAGE],
    );
    if (rows.length === 0) break;
    after = rows[rows.length - 1].id;
    type Group = { integration: string; mapping: string; ids: string[]; records: Record<string, unknown>[] };
    const groups = new Map<string, Group>();
    for (const row of rows) {
      const key = `${row.integration}\u0000${row.mapping}`;
      const group: Group = groups.get(key) ?? {
        integration: row.integration,
        mapping: row.mapping,
        ids: [],
        records: [],
      };
      const record = asJson(row.record) as Record<string, unknown>;
      group.ids.push(row.id);
      group.records.push(options.cipher ? revealRecord(record, options.cipher) : record);
      groups.set(key, group);
    }
    for (const group of groups.values()) {
      const prepared = await prepareBatch(
        { integration: group.integration, mapping: group.mapping, records: group.records, runId: 'replay' },
        options,
        group.ids,
      );
      total = addResults(total, await commitBatch(db, prepared));
    }
    if (rows.length < REPLAY_PAGE) break;
  }
  return total;
}

/**
 * Remembers what was pushed to `integration` (internal contact records), so the vendor's echo of
 * it is not taken for a new change. The hash is computed in SQL exactly as the upsert computes it,
 * over `columns`: those the destination's inbound mapping carries back (default all).
 */
export async function recordPushes(
  db: Queryable,
  integration: string,
  records: readonly Record<string, unknown>[],
  columns: ReadonlySet<string> = ALL_COLUMNS,
): Promise<void> {
  if (records.length === 0) return;
  const bad = records.findIndex((r) => typeof r?.email !== 'string' || !r.email.trim());
  if (bad >= 0) throw new Error(`record ${bad}: email is required to remember a push`);
  const rows = records.map((r) => ({
    email: r.email,
    first_name: r.first_name,
    last_name: r.last_name,
    phone: r.phone_number,
    company_name: r.company_name,
  }));
  await db.query(
    `INSERT INTO sync_pushes (integration, record_key, content_hash)
     SELECT DISTINCT ON (TRIM(LOWER(r.email))) $1, TRIM(LOWER(r.email)), ${contentHashSql('r', columns)}
     FROM jsonb_to_recordset($2::jsonb) AS r(email text, first_name text, last_name text, phone text, company_name text)
     ON CONFLICT (integration, record_key) DO UPDATE SET content_hash = EXCLUDED.content_hash, pushed_at = now()`,
    [integration, jsonForDb(rows)],
  );
}
