/**
 * Bundle benchmark: each runtime bundle's size, the time Node takes to load it (require, in a fresh
 * process), and for the container bundles the time from spawn to the first 200 of /health/ready on
 * PostgreSQL, each beside a minimal Fastify bundle (one route, built by esbuild the same way) measured
 * the same way in the same run. The Lambda is loaded as Lambda does, through its handler module under the
 * bootstrap's flags, with and without its code cache; on a Node with a compile cache (22.1 and later) the
 * containers are also started with the cache the image warms (Dockerfile). Run: `npm run bench -- bundle`
 * (RUNS=<n>, default 5). It runs them on the deployed Node major (installed into a cache, scripts/install-node.js)
 * unless BENCH_NODE names another binary.
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
const { installNode } = require(path.join(root, 'scripts', 'install-node.js')) as {
  installNode(major: number): string;
};
const { LAMBDA_MEMORY_MB, RUNTIME_NODE_MAJOR, lambdaNodeArgs } =
  require('@data-sync/config') as typeof import('@data-sync/config');
/** The deployed Node (the image's and the Lambda's major) unless BENCH_NODE names another binary. */
const node = process.env.BENCH_NODE ?? installNode(RUNTIME_NODE_MAJOR);
const nodeVersion = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
const [major, minor] = nodeVersion.slice(1).split('.').map(Number);
const hasCompileCache = major > 22 || (major === 22 && minor >= 1);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Milliseconds Node spends in require(file), in a fresh process started with `args` (a host file, so they are its only flags). */
function loadMs(file: string, args: string[] = [], env: Record<string, string> = {}): number {
  const host = path.join(path.dirname(file), '.bench-load-host.js');
  fs.writeFileSync(
    host,
    `const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`,
  );
  const child = spawnSync(node, [...args, host], {
    cwd: path.dirname(file),
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
  });
  fs.rmSync(host, { force: true });
  if (child.status !== 0) throw new Error(`loading ${file} failed:\n${child.stderr}`);
  return Number(child.stdout);
}

/** A copy of the Lambda package in `dir` with a code cache made by the measured Node (lambda-code-cache.ts). */
function lambdaPackage(outdir: string, dir: string): string {
  const target = fs.mkdtempSync(path.join(dir, 'lambda-'));
  for (const file of ['lambda-handler.js', 'lambda.js'])
    fs.copyFileSync(path.join(outdir, file), path.join(target, file));
  const made = spawnSync(node, [...lambdaNodeArgs(LAMBDA_MEMORY_MB), path.join(target, 'lambda-handler.js')], {
    env: { PATH: process.env.PATH, DATA_SYNC_WRITE_CODE_CACHE: '1' },
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(`making the Lambda code cache failed:\n${made.stderr}`);
  return path.join(target, 'lambda-handler.js');
}

/** Milliseconds from spawn to the first 200 of /health/ready. */
async function readyMs(file: string, env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const child = spawn(node, [file], {
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
    interface Row {
      name: string;
      kib: number;
      limitKib?: number;
      load: number;
      ready?: number;
      readyCached?: number;
    }
    const rows: Row[] = [];
    const samplesOf = async (measure: () => Promise<number> | number) => {
      const samples: number[] = [];
      for (let i = 0; i < runs; i++) samples.push(await measure());
      return median(samples);
    };
    const measureOne = async (name: string, file: string) => {
      const row: Row = {
        name,
        kib: fs.statSync(file).size / 1024,
        load: await samplesOf(() => loadMs(file)),
        ready: await samplesOf(() => readyMs(file, env)),
      };
      if (hasCompileCache) {
        // As the image does: the bundle loaded once with NODE_COMPILE_CACHE at build, then started with it.
        const cache = { NODE_COMPILE_CACHE: fs.mkdtempSync(path.join(dir, 'compile-cache-')) };
        loadMs(file, [], cache);
        row.readyCached = await samplesOf(() => readyMs(file, { ...env, ...cache }));
      }
      rows.push(row);
      return row;
    };
    await measureOne('minimal Fastify (baseline)', baseline);
    for (const entry of Object.keys(ENTRIES).filter((e) => e !== 'lambda'))
      (await measureOne(`${entry}.js`, path.join(outdir, `${entry}.js`))).limitKib = limitOf(entry) / 1024;
    const handler = lambdaPackage(outdir, dir);
    const lambdaKib = fs.statSync(path.join(outdir, 'lambda.js')).size / 1024;
    const flags = lambdaNodeArgs(LAMBDA_MEMORY_MB);
    const lambda = { name: 'lambda.js, code cache', kib: lambdaKib, limitKib: limitOf('lambda') / 1024 };
    rows.push({ ...lambda, load: await samplesOf(() => loadMs(handler, flags)) });
    rows.push({
      name: 'lambda.js, no cache',
      kib: lambdaKib,
      load: await samplesOf(() => loadMs(path.join(path.dirname(handler), 'lambda.js'), flags)),
    });
    const base = rows[0];
    console.log(
      `Node ${nodeVersion}; median of ${runs} runs each; ready = spawn to the first 200 of /health/ready on PostgreSQL` +
        (hasCompileCache ? '; cached = with the compile cache the image warms' : ''),
    );
    const ratio = (value: number | undefined, of: number | undefined) =>
      value === undefined || of === undefined ? '' : (value / of).toFixed(1);
    console.log(
      ['bundle'.padEnd(28), 'size KiB', 'budget', 'load ms', 'x base', 'ready ms', 'x base', 'cached', 'x base'].join(
        '  ',
      ),
    );
    for (const r of rows) {
      console.log(
        [
          r.name.padEnd(28),
          r.kib.toFixed(0).padStart(8),
          (r.limitKib ? r.limitKib.toFixed(0) : '').padStart(6),
          r.load.toFixed(0).padStart(7),
          ratio(r.load, base.load).padStart(6),
          (r.ready === undefined ? '' : r.ready.toFixed(0)).padStart(8),
          ratio(r.ready, base.ready).padStart(6),
          (r.readyCached === undefined ? '' : r.readyCached.toFixed(0)).padStart(6),
          ratio(r.readyCached, base.readyCached).padStart(6),
        ].join('  '),
      );
    }
    console.log(
      `targets: lambda.js <= 1536 KiB and <= ${TARGETS.loadMs.lambda} ms to load (${lambdaKib.toFixed(0)} KiB, ${rows[rows.length - 2].load.toFixed(0)} ms with its code cache); ` +
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
