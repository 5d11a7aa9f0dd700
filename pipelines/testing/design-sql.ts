/**
 * The design document's "ETL Pipeline Configuration" statement, verbatim, with the tables it reads
 * and writes. Tests and the benchmark run it as the reference the pipeline must match.
 */
export const DESIGN_TABLES_SQL = `
  CREATE TABLE raw_contacts (email text, first_name text, last_name text, phone text, company_name text, created_at timestamptz, updated_at timestamptz);
  CREATE TABLE contacts (email text PRIMARY KEY, first_name text, last_name text, phone text, company_name text, created_at timestamptz, updated_at timestamptz)`;

export const RAW_COLUMNS = [
  'email',
  'first_name',
  'last_name',
  'phone',
  'company_name',
  'created_at',
  'updated_at',
] as const;

export const DESIGN_SQL = `
-- Example data transformation query
WITH cleaned_contacts AS (
    SELECT 
        TRIM(LOWER(email)) as email,
        INITCAP(TRIM(first_name)) as first_name,
        INITCAP(TRIM(last_name)) as last_name,
        REGEXP_REPLACE(phone, '[^0-9+]', '', 'g') as phone,
        COALESCE(company_name, 'Unknown') as company_name,
        created_at,
        updated_at
    FROM raw_contacts
    WHERE email IS NOT NULL 
    AND email ~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$'
),
deduplicated_contacts AS (
    SELECT DISTINCT ON (email) *
    FROM cleaned_contacts
    ORDER BY email, updated_at DESC
)
INSERT INTO contacts (email, first_name, last_name, phone, company_name, created_at, updated_at)
SELECT * FROM deduplicated_contacts
ON CONFLICT (email) DO UPDATE SET
    first_name = EXCLUDED.first_name,
    last_name = EXCLUDED.last_name,
    phone = EXCLUDED.phone,
    company_name = EXCLUDED.company_name,
    updated_at = EXCLUDED.updated_at;
`;

/** md5 over the design document's columns of `table`, rows ordered by email. */
export const contactsDigestSql = (table: string) =>
  `SELECT md5(COALESCE(string_agg(t::text, '|' ORDER BY t.email), '')) AS digest, count(*)::int AS n
   FROM (SELECT email, first_name, last_name, phone, company_name, created_at, updated_at FROM ${table}) t`;
