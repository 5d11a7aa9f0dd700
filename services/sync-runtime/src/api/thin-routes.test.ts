/**
 * Routes stay thin: they parse, authorize, call a repository (store/) or the engine, and answer. SQL
 * against the store lives in the repositories, so a route file holding a query fails here.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROUTES = path.join(__dirname, 'routes');

/** A string or template literal that reads as SQL: a statement keyword followed by its clause. */
const SQL =
  /(['"`])[^'"`]*?\b(SELECT\s[\s\S]*?\bFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|WITH\s+\w+\s+AS\s*\()\b/;
/** A query or transaction run directly on a connection. */
const DIRECT = /\.(query|transaction|exec|copyRows)\s*(<[^>]*>)?\s*\(/;

function offences(text: string): string[] {
  const found: string[] = [];
  const sql = SQL.exec(text);
  if (sql) found.push(`SQL: ${sql[0].slice(0, 60)}`);
  const direct = DIRECT.exec(text);
  if (direct) found.push(`direct store call: ${direct[0]}`);
  return found;
}

test('no route file holds SQL or queries the store itself', () => {
  const files = fs.readdirSync(ROUTES).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  expect(files.length).toBeGreaterThan(5);
  const problems = files.flatMap((file) =>
    offences(fs.readFileSync(path.join(ROUTES, file), 'utf8')).map((o) => `${file}: ${o}`),
  );
  expect(problems).toEqual([]);
});

test('the check catches SQL in template strings and direct queries (it can fail)', () => {
  expect(
    offences('const rows = await db.query(`SELECT id FROM sync_runs WHERE integration = $1`, [name]);'),
  ).toHaveLength(2);
  expect(offences("await tx.query('INSERT INTO audit_log (actor) VALUES ($1)', [actor]);")).toHaveLength(2);
  expect(offences('const sql = `UPDATE pipeline_runs SET status = $2 WHERE id = $1`;')).toHaveLength(1);
  expect(offences('const sql = "DELETE FROM jobs WHERE id = $1";')).toHaveLength(1);
  expect(offences('await deps.db.transaction(async (tx) => run(tx));')).toHaveLength(1);
  expect(offences("summary: 'Select an integration and delete from the list the runs it has'")).toEqual([]);
});
