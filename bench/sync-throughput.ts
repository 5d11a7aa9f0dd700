/**
 * Sync throughput into this machine's PostgreSQL: raw contacts (20% duplicates, 5% invalid) through
 * the whole pipeline (map, validate, quarantine, stage, clean, deduplicate, upsert) next to the design
 * document's SQL run directly on the same rows (COPY into raw_contacts, then the statement), in the
 * same run. Both generate their rows in chunks as they go (the time includes generating them, for
 * both), so the 1M run streams; each run is a child process, so its peak RSS is its own. Rows per
 * CPU-second (this process plus its PostgreSQL backends) is printed too: on a shared machine it
 * moves less than wall-clock throughput.
 *
 *   npm run bench -- sync-throughput          (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else local)
 *   BENCH_SIZES=100000 BENCH_CHUNK=20000 npm run bench -- sync-throughput
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import { migrate, openPostgres, type Db } from '@data-sync/pipelines/db';
import { runStream } from '@data-sync/pipelines/batch';
import { PIPELINE_MIGRATIONS } from '@data-sync/pipelines/migrations';
import { DESIGN_SQL, DESIGN_TABLES_SQL, RAW_COLUMNS } from '@data-sync/pipelines/testing/design-sql';
import { benchChunk, toSalesforce } from '@data-sync/pipelines/testing/generate';

const URL_ =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CHUNK = Number(process.env.BENCH_CHUNK ?? 50_000);
const SEED = 42;

interface RunReport {
  mode: 'baseline' | 'pipeline';
  size: number;
  seconds: number;
  rowsPerSecond: number;
  /** CPU seconds of this process plus its PostgreSQL backends: comparable when the machine is busy. */
  cpuSeconds: number;
  dbCpuSeconds: number;
  peakRssMb: number;
  stored: number;
  detail?: unknown;
}

const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/**
 * CPU used by the PostgreSQL backends tagged with `app`, sampled every 250 ms so backends the pool
 * closes while idle still count (their last sample is kept).
 */
function backendCpu(admin: Db, app: string) {
  const seen = new Map<number, number>();
  const sample = async () => {
    const { rows } = await admin.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
      [app],
    );
    for (const { pid } of rows) {
      try {
        const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
        seen.set(pid, (Number(fields[11]) + Number(fields[12])) / TICKS);
      } catch {
        // The backend exited between the query and the read; its last sample stands.
      }
    }
  };
  const timer = setInterval(() => void sample().catch(() => undefined), 250);
  return async () => {
    clearInterval(timer);
    await sample();
    return [...seen.values()].reduce((a, b) => a + b, 0);
  };
}

async function withSchema<T>(fn: (db: Db, stopCpu: () => Promise<number>) => Promise<T>): Promise<T> {
  const schema = `bench_sync_${process.pid}`;
  const admin = openPostgres(URL_, { max: 2 });
  await admin.exec(`DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`);
  const url = new URL(URL_);
  url.searchParams.set('options', `-c search_path=${schema}`);
  url.searchParams.set('application_name', schema);
  const db = openPostgres(url.toString());
  const stopCpu = backendCpu(admin, schema);
  try {
    return await fn(db, stopCpu);
  } finally {
    await db.close();
    await admin.exec(`DROP SCHEMA ${schema} CASCADE`);
    await admin.close();
  }
}

function* rawRows(size: number) {
  for (let i = 0; i * CHUNK < size; i++)
    for (const row of benchChunk(i, Math.min(CHUNK, size - i * CHUNK), SEED)) yield RAW_COLUMNS.map((c) => row[c]);
}

function* salesforceChunks(size: number) {
  for (let i = 0; i * CHUNK < size; i++)
    yield benchChunk(i, Math.min(CHUNK, size - i * CHUNK), SEED).map((row, j) => toSalesforce(row, i * CHUNK + j));
}

async function child(mode: RunReport['mode'], size: number): Promise<RunReport> {
  return withSchema(async (db, stopCpu) => {
    let detail: unknown;
    let start: number;
    let cpuStart: NodeJS.CpuUsage;
    if (mode === 'baseline') {
      await db.exec(DESIGN_TABLES_SQL);
      cpuStart = process.cpuUsage();
      start = performance.now();
      await db.copyRows('raw_contacts', RAW_COLUMNS, rawRows(size));
      await db.exec(DESIGN_SQL);
    } else {
      await migrate(db, PIPELINE_MIGRATIONS);
      cpuStart = process.cpuUsage();
      start = performance.now();
      detail = await runStream(db, {
        integration: 'salesforce',
        mapping: 'salesforce_to_internal.Contact',
        chunks: salesforceChunks(size),
      });
    }
    const seconds = (performance.now() - start) / 1000;
    const own = process.cpuUsage(cpuStart);
    const dbCpuSeconds = await stopCpu();
    const cpuSeconds = (own.user + own.system) / 1e6 + dbCpuSeconds;
    const stored = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM contacts')).rows[0].n;
    return {
      mode,
      size,
      seconds,
      rowsPerSecond: size / seconds,
      cpuSeconds,
      dbCpuSeconds,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      stored,
      detail,
    };
  });
}

function runChild(mode: RunReport['mode'], size: number): RunReport {
  const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), __filename, 'child', mode, String(size)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (result.status !== 0) throw new Error(`${mode} ${size} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop() as string);
}

async function main() {
  if (process.argv[2] === 'child') {
    console.log(JSON.stringify(await child(process.argv[3] as RunReport['mode'], Number(process.argv[4]))));
    return;
  }
  const sizes = (process.env.BENCH_SIZES ?? '100000,1000000').split(',').map(Number);
  for (const [name, values] of [
    ['BENCH_SIZES', sizes],
    ['BENCH_CHUNK', [CHUNK]],
  ] as const) {
    if (values.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`${name} must be positive integers`);
  }
  console.log(`PostgreSQL ${URL_.replace(/\/\/[^@]*@/, '//')}; chunks of ${CHUNK}; rows 20% duplicates, 5% invalid`);
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  for (const size of sizes) {
    const baseline = runChild('baseline', size);
    const pipeline = runChild('pipeline', size);
    const ratio = pipeline.rowsPerSecond / baseline.rowsPerSecond;
    const line = (name: string, r: RunReport) =>
      `  ${name} ${fmt(r.rowsPerSecond).padStart(9)} rows/s  ${r.seconds.toFixed(2).padStart(7)} s  ${fmt(size / r.cpuSeconds).padStart(7)} rows/CPU-s (node ${(r.cpuSeconds - r.dbCpuSeconds).toFixed(1)} + db ${r.dbCpuSeconds.toFixed(1)} s)  peak RSS ${fmt(r.peakRssMb)} MB  contacts ${fmt(r.stored)}`;
    console.log(`\n${fmt(size)} raw records (load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs)`);
    console.log(line('design SQL (COPY + statement):', baseline));
    console.log(line('pipeline (map..upsert):       ', pipeline));
    console.log(
      `  ratio pipeline/baseline: ${(ratio * 100).toFixed(0)}% of rows/s (target >= 90%), ${((baseline.cpuSeconds / pipeline.cpuSeconds) * 100).toFixed(0)}% of rows per CPU-second`,
    );
    console.log(`  pipeline counts ${JSON.stringify(pipeline.detail)}`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
