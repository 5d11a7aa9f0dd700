/**
 * Deterministic contact generators for tests and the benchmark: the same seed gives the same rows, so
 * a stream can be produced twice (pipeline and reference) without being held in memory.
 */

/** mulberry32: small, fast, good enough to spread test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A row of the design document's `raw_contacts`. */
export interface RawContact {
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  phone: string | null;
  company_name: string | null;
  created_at: string | null;
  updated_at: string | null;
}

const FIRST = ['john', 'MARY', 'mary ann', "o'neil", 'jean-luc', 'Élodie', 'ana', 'li', 'KARL', 'sam'];
const LAST = ['doe', 'SMITH', 'van der berg', 'mcdonald', 'nguyen', 'Müller', 'o’brien', 'lee'];
const COMPANIES = ['Acme Inc', 'globex', 'Initech LLC', 'umbrella corp', 'Stark Industries'];
const BASE_MS = Date.UTC(2024, 0, 1);

const pick = <T>(r: () => number, items: readonly T[]) => items[Math.floor(r() * items.length)];

/** A timestamp the way Salesforce writes them; `offset` seconds after 2024-01-01, unique per call site. */
export const sfTime = (offset: number) => new Date(BASE_MS + offset * 1000).toISOString().replace('Z', '+0000');

/** Random case and surrounding whitespace: what the SQL's TRIM, LOWER and INITCAP clean. */
function messy(r: () => number, value: string): string {
  const cased = r() < 0.3 ? value.toUpperCase() : r() < 0.5 ? value.toLowerCase() : value;
  return `${r() < 0.3 ? '  ' : ''}${cased}${r() < 0.3 ? ' \t' : ''}`;
}

/** A valid phone in international form with punctuation, so E.164 and the SQL's digit filter agree. */
export function validPhone(r: () => number): string {
  const line = String(Math.floor(r() * 10000)).padStart(4, '0');
  const area = pick(r, ['415', '212', '617', '206']);
  switch (Math.floor(r() * 5)) {
    case 0:
      return `+1 (${area}) 555-${line}`;
    case 1:
      return `+1.${area}.555.${line}`;
    case 2:
      return `+1${area}555${line}`;
    case 3:
      return `+44 20 7946 ${line.slice(1).padStart(4, '0')}`;
    default:
      return `+1 ${area} 555 ${line}`;
  }
}

/** `createdOffset` is per contact, as a vendor's creation date is the same in every version of a record. */
export function validContact(
  r: () => number,
  email: string,
  offset: number,
  createdOffset = offset - 86_400,
): RawContact {
  return {
    email,
    first_name: r() < 0.05 ? null : messy(r, pick(r, FIRST)),
    last_name: r() < 0.05 ? null : messy(r, pick(r, LAST)),
    phone: r() < 0.1 ? null : r() < 0.05 ? '' : validPhone(r),
    company_name: r() < 0.2 ? null : pick(r, COMPANIES),
    created_at: sfTime(createdOffset),
    updated_at: sfTime(offset),
  };
}

/** The same row as Salesforce returns it, for `salesforce_to_internal.Contact`. */
export function toSalesforce(row: RawContact, id: number): Record<string, unknown> {
  return {
    Id: `003${String(id).padStart(15, '0')}`,
    Email: row.email,
    FirstName: row.first_name,
    LastName: row.last_name,
    Phone: row.phone,
    Account: row.company_name === null ? null : { Name: row.company_name },
    CreatedDate: row.created_at,
    LastModifiedDate: row.updated_at,
  };
}

/** An email that differs only in case from `email` (the SQL lower-cases it into the same contact). */
export const recased = (r: () => number, email: string) =>
  [...email].map((c) => (r() < 0.3 ? c.toUpperCase() : c)).join('');

function shuffle<T>(r: () => number, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Rows both the pipeline and the design document's SQL handle the same way: messy case and
 * whitespace in names, punctuated international phones, missing companies, duplicates (case-variant
 * emails, distinct updated_at), and emails the SQL filter drops (missing, malformed, padded).
 */
export function sqlEquivalentRows(n: number, seed: number): RawContact[] {
  const r = rng(seed);
  const identities = Math.max(1, Math.floor(n * 0.7));
  const offsets = shuffle(
    r,
    Array.from({ length: n }, (_, i) => i + 1),
  );
  return Array.from({ length: n }, (_, i) => {
    const identity = Math.floor(r() * identities);
    const email = `user${identity}@example.com`;
    const row = validContact(r, recased(r, email), offsets[i], -identity);
    const roll = r();
    if (roll < 0.03) row.email = null;
    else if (roll < 0.06) row.email = pick(r, ['not-an-email', 'a@b', 'x@y.c', 'two@@example.com', '']);
    else if (roll < 0.08) row.email = ` ${email} `;
    return row;
  });
}

export interface QualityExpectation {
  received: number;
  unique: number;
  duplicates: number;
  missingEmail: number;
  missingUpdatedAt: number;
  badEmail: number;
  badPhone: number;
  longFirstName: number;
  longCompany: number;
}

/**
 * `n` Salesforce contacts with known defects, each defective record having exactly one defect, and
 * `winners`: for each email, the updated_at of the record that must end up stored.
 */
export function qualityDataset(
  n: number,
  seed: number,
): { records: Record<string, unknown>[]; expected: QualityExpectation; winners: Map<string, string> } {
  const r = rng(seed);
  const share = (f: number) => Math.floor(n * f);
  const counts = {
    missingEmail: share(0.02),
    missingUpdatedAt: share(0.01),
    badEmail: share(0.03),
    badPhone: share(0.025),
    longFirstName: share(0.01),
    longCompany: share(0.01),
    duplicates: share(0.15),
  };
  const invalid =
    counts.missingEmail +
    counts.missingUpdatedAt +
    counts.badEmail +
    counts.badPhone +
    counts.longFirstName +
    counts.longCompany;
  const unique = n - invalid - counts.duplicates;
  const offsets = shuffle(
    r,
    Array.from({ length: n }, (_, i) => i + 1),
  );
  let next = 0;
  const rows: RawContact[] = [];
  const winners = new Map<string, string>();
  const winnerMs = new Map<string, number>();
  const keep = (row: RawContact) => {
    const key = (row.email as string).toLowerCase();
    const ms = Date.parse(row.updated_at as string);
    if (!winnerMs.has(key) || ms > (winnerMs.get(key) as number)) {
      winnerMs.set(key, ms);
      winners.set(key, new Date(ms).toISOString());
    }
    rows.push(row);
  };
  const emails: string[] = [];
  for (let i = 0; i < unique; i++) {
    const email = `q${i}@quality.example.org`;
    emails.push(email);
    keep(validContact(r, email, offsets[next++], -i));
  }
  for (let i = 0; i < counts.duplicates; i++) {
    const identity = Math.floor(r() * emails.length);
    keep(validContact(r, recased(r, emails[identity]), offsets[next++], -identity));
  }
  const defective = (i: number) => validContact(r, `bad${i}@quality.example.org`, offsets[next++]);
  let id = 0;
  for (let i = 0; i < counts.missingEmail; i++) rows.push({ ...defective(id++), email: pick(r, [null, '', '   ']) });
  for (let i = 0; i < counts.missingUpdatedAt; i++) rows.push({ ...defective(id++), updated_at: null });
  for (let i = 0; i < counts.badEmail; i++, id++)
    rows.push({
      ...defective(id),
      email: pick(r, [`bad${id}.example.org`, `bad${id}@`, `bad${id}@nodot`, ` bad${id}@quality.example.org`]),
    });
  for (let i = 0; i < counts.badPhone; i++)
    rows.push({ ...defective(id++), phone: pick(r, ['12', 'call me', '+1 555 555 5555', '000-000-0000']) });
  for (let i = 0; i < counts.longFirstName; i++)
    rows.push({ ...defective(id++), first_name: 'x'.repeat(256 + Math.floor(r() * 100)) });
  for (let i = 0; i < counts.longCompany; i++)
    rows.push({ ...defective(id++), company_name: `${'Big Company '.repeat(22)}${i}` });
  const records = shuffle(r, rows).map((row, i) => toSalesforce(row, i));
  return { records, expected: { received: n, unique, ...counts }, winners };
}

/**
 * Chunk `index` of the benchmark stream: `size` rows, 20% duplicates within the chunk, 5% invalid
 * (3% emails the SQL filter also drops, 1% bad phones, 1% over-long company names).
 */
export function benchChunk(index: number, size: number, seed: number): RawContact[] {
  const r = rng(seed * 1_000_003 + index);
  const distinct = Math.floor(size * 0.8);
  const rows: RawContact[] = [];
  for (let i = 0; i < size; i++) {
    const identity = i < distinct ? i : Math.floor(r() * distinct);
    const email = `u${index}x${identity}@bench.example.com`;
    const row = validContact(
      r,
      i < distinct ? email : recased(r, email),
      index * size + i + 1,
      -(index * size + identity),
    );
    const roll = r();
    if (roll < 0.03) row.email = `u${index}x${i}.bench.example.com`;
    else if (roll < 0.04) row.phone = '12';
    else if (roll < 0.05) row.company_name = 'C'.repeat(300);
    rows.push(row);
  }
  return rows;
}
