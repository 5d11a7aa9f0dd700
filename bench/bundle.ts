/**
 * Bundle benchmark: each runtime bundle's size, the time Node takes to load it (require, in a fresh
 * process), and for the container bundles the time from spawn to the first 200 of /health/ready on
 * PostgreSQL, each beside a minimal Fastify bundle (one route, built by esbuild the same way) measured
 * the same way in the same run. Run: `npm run bench -- bundle` (RUNS=<n>, default 5).
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { build } from 'esbuild';
import { scratchDatabase } from '@data-sync/test-services/scratch-database';

const root = path.resolve(__dirname, '..');
const runs = Number(process.env.RUNS ?? 5);
const { buildRuntime, ENTRIES, limitOf } = require(path.join(root, 'scripts', 'build-runtime.js')) as {
  buildRuntime(o: { quiet: boolean }): Promise<string>;
  ENTRIES: Record<string, string>;
  limitOf(entry: string): number;
};
const TARGETS = { loadMs: { lambda: 150 }, readyMs: 500 };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Milliseconds Node spends in require(file), in a fresh process. */
function loadMs(file: string): number {
  const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
  const child = spawnSync(process.execPath, ['-e', script], { cwd: path.dirname(file), encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`loading ${file} failed:\n${child.stderr}`);
  return Number(child.stdout);
}

/** Milliseconds from spawn to the first 200 of /health/ready. */
async function readyMs(file: string, env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [file], {
    cwd: path.dirname(file),
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk;
        const match = /listening on (http:\/\/\S+)/.exec(output);
        if (match) resolve(match[1]);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`${file} exited with ${code}:\n${output}`)));
    });
    for (;;) {
      const response = await fetch(`${url}/health/ready`).catch(() => null);
      if (response?.status === 200) return performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  } finally {
    child.kill();
  }
}

/** The baseline: Fastify with one route, bundled as the runtime is. */
async function minimalFastify(dir: string): Promise<string> {
  const entry = path.join(dir, 'minimal.ts');
  fs.writeFileSync(
    entry,
    `import Fastify from 'fastify';
const app = Fastify();
app.get('/health/ready', async () => ({ status: 'ok' }));
if (require.main === module)
  void app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' }).then((url) => console.log('listening on ' + url));
`,
  );
  const outfile = path.join(dir, 'minimal-fastify.js');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    minify: true,
    absWorkingDir: root,
    nodePaths: [path.join(root, 'node_modules')],
    logLevel: 'warning',
  });
  return outfile;
}

async function main() {
  const outdir = await buildRuntime({ quiet: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-bundle-'));
  const baseline = await minimalFastify(dir);
  const database = scratchDatabase('bench_bundle');
  await database.create();
  try {
    const env = { DATABASE_URL: database.url, DATA_SYNC_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64') };
    const rows: { name: string; kib: number; limitKib?: number; load: number; ready?: number }[] = [];
    const measureOne = async (name: string, file: string, container: boolean) => {
      const load = median(Array.from({ length: runs }, () => loadMs(file)));
      let ready: number | undefined;
      if (container) {
        const samples: number[] = [];
        for (let i = 0; i < runs; i++) samples.push(await readyMs(file, env));
        ready = median(samples);
      }
      rows.push({ name, kib: fs.statSync(file).size / 1024, load, ready });
    };
    await measureOne('minimal Fastify (baseline)', baseline, true);
    for (const entry of Object.keys(ENTRIES)) {
      await measureOne(`${entry}.js`, path.join(outdir, `${entry}.js`), entry !== 'lambda');
      rows[rows.length - 1].limitKib = limitOf(entry) / 1024;
    }
    const base = rows[0];
    console.log(`median of ${runs} runs each; ready = spawn to the first 200 of /health/ready on PostgreSQL`);
    console.log(
      ['bundle'.padEnd(28), 'size KiB', 'budget', 'x base', 'load ms', 'x base', 'ready ms', 'x base'].join('  '),
    );
    for (const r of rows) {
      console.log(
        [
          r.name.padEnd(28),
          r.kib.toFixed(0).padStart(8),
          (r.limitKib ? r.limitKib.toFixed(0) : '').padStart(6),
          (r.kib / base.kib).toFixed(1).padStart(6),
          r.load.toFixed(0).padStart(7),
          (r.load / base.load).toFixed(1).padStart(6),
          (r.ready === undefined ? '' : r.ready.toFixed(0)).padStart(8),
          (r.ready === undefined ? '' : (r.ready / base.ready!).toFixed(1)).padStart(6),
        ].join('  '),
      );
    }
    const lambda = rows.find((r) => r.name === 'lambda.js')!;
    console.log(
      `targets: lambda.js <= 1536 KiB and <= ${TARGETS.loadMs.lambda} ms to load (${lambda.kib.toFixed(0)} KiB, ${lambda.load.toFixed(0)} ms); ` +
        `containers <= 3072 KiB; ready <= ${TARGETS.readyMs} ms`,
    );
  } finally {
    await database.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
