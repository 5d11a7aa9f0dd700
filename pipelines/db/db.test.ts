import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { Db, migrate, openPglite, openPostgres, pendingMigrations } from '.';
import { TEST_DATABASE_URL, describeWithService } from '@data-sync/test-services';

function behavesLikePostgres(open: () => Promise<Db>) {
  let db: Db;
  const table = `db_test_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  beforeAll(async () => {
    db = await open();
    await db.exec(`CREATE TABLE ${table} (id int PRIMARY KEY, note text, at timestamptz)`);
  });
  afterAll(async () => {
    await db.exec(`DROP TABLE IF EXISTS ${table}`);
    await db.close();
  });

  test('bulk-loads rows with tabs, newlines, backslashes and nulls intact', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => [
      i,
      i % 7 === 0 ? null : `n\t${i}\\x\nend`,
      new Date(Date.UTC(2024, 0, 1, 0, 0, i)),
    ]);
    expect(await db.copyRows(table, ['id', 'note', 'at'], rows)).toBe(2500);
    const { rows: out } = await db.query<{ id: number; note: string | null }>(
      `SELECT id, note FROM ${table} WHERE id IN (7, 8) ORDER BY id`,
    );
    expect(out).toEqual([
      { id: 7, note: null },
      { id: 8, note: 'n\t8\\x\nend' },
    ]);
  });

  test('a transaction that throws leaves nothing behind', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} (id) VALUES (100000)`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect((await db.query(`SELECT 1 FROM ${table} WHERE id = 100000`)).rows).toHaveLength(0);
  });

  test('migrations apply once, in id order', async () => {
    const name = `${table}_m`;
    const migrations = [
      { id: `${name}_002`, sql: `ALTER TABLE ${name} ADD COLUMN b text; UPDATE ${name} SET b = 'x;y'` },
      { id: `${name}_001`, sql: `CREATE TABLE ${name} (a int); INSERT INTO ${name} VALUES (1)` },
    ];
    expect(await migrate(db, migrations)).toEqual([`${name}_001`, `${name}_002`]);
    expect(await migrate(db, migrations)).toEqual([]);
    expect((await db.query(`SELECT a, b FROM ${name}`)).rows).toEqual([{ a: 1, b: 'x;y' }]);
    await db.exec(`DROP TABLE ${name}; DELETE FROM schema_migrations WHERE id LIKE '${name}%'`);
  });

  test('pending migrations are the ones not recorded, in id order; asking applies none', async () => {
    const name = `${table}_p`;
    const migrations = [
      { id: `${name}_002`, sql: `ALTER TABLE ${name} ADD COLUMN b text` },
      { id: `${name}_001`, sql: `CREATE TABLE ${name} (a int)` },
    ];
    await migrate(db, [migrations[1]]);
    expect(await pendingMigrations(db, migrations)).toEqual([`${name}_002`]);
    expect(await pendingMigrations(db, migrations)).toEqual([`${name}_002`]);
    const { rows } = await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = $1`, [name]);
    expect(rows).toEqual([{ column_name: 'a' }]);
    await db.exec(`DROP TABLE ${name}; DELETE FROM schema_migrations WHERE id LIKE '${name}%'`);
  });
}

test('on a database never migrated every migration is pending, and asking creates nothing', async () => {
  const db = await openPglite();
  try {
    const migrations = [
      { id: 'b', sql: 'CREATE TABLE b (x int)' },
      { id: 'a', sql: 'CREATE TABLE a (x int)' },
    ];
    expect(await pendingMigrations(db, migrations)).toEqual(['a', 'b']);
    const { rows } = await db.query(`SELECT to_regclass('schema_migrations') IS NULL AS absent`);
    expect(rows).toEqual([{ absent: true }]);
  } finally {
    await db.close();
  }
});

describe('PGlite', () => behavesLikePostgres(() => openPglite()));
describeWithService('PostgreSQL', TEST_DATABASE_URL, () =>
  behavesLikePostgres(async () => openPostgres(TEST_DATABASE_URL)),
);

describe('PGlite data directory', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pglite-lock-'));
    dirs.push(dir);
    return dir;
  };
  afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

  test('a second open of a directory in use refuses, naming the holder; data survives reopening', async () => {
    const dir = tempDir();
    const db = await openPglite(dir);
    await db.exec("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('first')");
    await expect(openPglite(dir)).rejects.toThrow(`in use by process ${process.pid}`);
    await db.close();
    const again = await openPglite(dir);
    expect((await again.query('SELECT v FROM kept')).rows).toEqual([{ v: 'first' }]);
    await again.close();
  });

  test('a lock left by a dead process is taken over', async () => {
    const dir = tempDir();
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)']).stdout.toString().trim();
    fs.writeFileSync(path.join(dir, 'data-sync.lock'), dead);
    const db = await openPglite(dir);
    expect(fs.readFileSync(path.join(dir, 'data-sync.lock'), 'utf8')).toBe(String(process.pid));
    await db.close();
  });
});
