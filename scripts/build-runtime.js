// Bundles the sync runtime with esbuild into dist/runtime: one file per entry point, printed with its
// size. The stacks package this folder (TerraformAsset) for Lambda and for container images.
const { spawnSync } = require('child_process');
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const outdir = path.join(root, 'dist', 'runtime');

/**
 * Entry points (Node, CommonJS): `main` is the local process (store and Redis queues: docker-compose, the
 * image's default command); each cloud's container runs its own bundle, carrying only the queue SDK it
 * selects; `lambda` is AWS's SQS-triggered worker.
 */
const ENTRIES = {
  main: 'services/sync-runtime/src/main.ts',
  aws: 'services/sync-runtime/src/bundles/aws.ts',
  gcp: 'services/sync-runtime/src/bundles/gcp.ts',
  azure: 'services/sync-runtime/src/bundles/azure.ts',
  oci: 'services/sync-runtime/src/bundles/oci.ts',
  ibm: 'services/sync-runtime/src/bundles/ibm.ts',
  lambda: 'services/sync-runtime/src/lambda.ts',
};

/** Size budgets (bytes): a Lambda cold start loads the whole file, a container its bundle. */
const SIZE_LIMITS = { lambda: 1.5 * 1024 * 1024, container: 3 * 1024 * 1024 };
const limitOf = (entry) => (entry === 'lambda' ? SIZE_LIMITS.lambda : SIZE_LIMITS.container);

/** Loaded at run time, never bundled: PGlite ships WASM beside its module; pg-native is optional. */
const EXTERNAL = ['@electric-sql/pglite', 'pg-native'];

/**
 * Demo mode (DATA_SYNC_DEMO) starts the vendor fakes under test/fakes: process.ts imports it dynamically,
 * which esbuild would still bundle, so the import stays a require the bundle cannot satisfy.
 */
const demoLeftOut = {
  name: 'demo-left-out',
  setup(b) {
    b.onResolve({ filter: /^\.\/demo$/ }, (args) =>
      args.importer === path.join(root, 'services/sync-runtime/src/process.ts')
        ? { path: args.path, external: true }
        : undefined,
    );
  },
};

/**
 * pg picks its socket functions at load: on Node 20 (no `navigator`) its Cloudflare check constructs a
 * `Response`, which makes Node load its whole fetch implementation, a tenth of the Lambda's load time. These
 * bundles run only on Node, so the check answers false at once; the build stops if pg's check is renamed.
 */
const PG_CLOUDFLARE_CHECK = 'function isCloudflareRuntime() {';
const pgOnNode = {
  name: 'pg-on-node',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => {
      const source = fs.readFileSync(args.path, 'utf8');
      if (!source.includes(PG_CLOUDFLARE_CHECK))
        throw new Error(`${args.path} no longer has "${PG_CLOUDFLARE_CHECK}": review the pg-on-node plugin`);
      return { contents: source.replace(PG_CLOUDFLARE_CHECK, `${PG_CLOUDFLARE_CHECK} return false;`), loader: 'js' };
    });
  },
};

/** The Node bundles (esbuild result with its metafile); written to `outdir` when `write` is true. */
function bundleNodeEntries({ outdir: target, write = true }) {
  return esbuild.build({
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, path.join(root, file)])),
    outdir: target,
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node20',
    minify: true,
    sourcemap: false,
    external: EXTERNAL,
    plugins: [demoLeftOut, pgOnNode],
    metafile: true,
    write,
    logLevel: 'warning',
  });
}

/** The Lambda's handler module, which loads lambda.js with its code cache (services/sync-runtime/src/lambda-handler.ts). */
const LAMBDA_HANDLER = 'services/sync-runtime/src/lambda-handler.ts';

/**
 * The Lambda handler module beside the bundles, and lambda.js's V8 code cache, made by loading the bundle
 * through that module under the flags Lambda starts Node with for the worker's memory (a cache made under
 * other flags is refused). Made by this Node: CI builds on the runtime's Node major, as Lambda runs it.
 */
async function buildLambdaHandler(dir) {
  await esbuild.build({
    entryPoints: [path.join(root, LAMBDA_HANDLER)],
    outfile: path.join(dir, 'lambda-handler.js'),
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node20',
    minify: true,
    logLevel: 'warning',
  });
  const { LAMBDA_MEMORY_MB, lambdaNodeArgs } = require('@data-sync/config/node-runtime');
  const made = spawnSync(process.execPath, [...lambdaNodeArgs(LAMBDA_MEMORY_MB), path.join(dir, 'lambda-handler.js')], {
    cwd: dir,
    env: { PATH: process.env.PATH, DATA_SYNC_WRITE_CODE_CACHE: '1' },
    encoding: 'utf8',
  });
  if (made.status !== 0) throw new Error(`making lambda.js's code cache failed:\n${made.stderr}`);
}

async function buildRuntime({ quiet = false } = {}) {
  // Built beside the old bundle and swapped in, so a synth reading dist/runtime meanwhile never finds it half-written.
  const staging = `${outdir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const result = await bundleNodeEntries({ outdir: staging });
  require('tsx/cjs');
  await buildLambdaHandler(staging);
  // The Cloudflare Worker is an ES module for workerd, built by its own TypeScript script.
  const worker = await require('@data-sync/sync-runtime/src/cloudflare/build').buildCloudflareWorker({
    outfile: path.join(staging, 'cloudflare.js'),
  });
  // The web console's files beside the bundle, where its /console route looks for them.
  const consoleBuild = await require('./build-console').buildConsole({ outdir: path.join(staging, 'console') });
  const previous = `${outdir}.old-${process.pid}`;
  if (fs.existsSync(outdir)) fs.renameSync(outdir, previous);
  fs.renameSync(staging, outdir);
  fs.rmSync(previous, { recursive: true, force: true });
  if (!quiet) {
    for (const [file, info] of Object.entries(result.metafile.outputs)) {
      const entry = path.basename(file, '.js');
      const within = info.bytes <= limitOf(entry) ? 'within' : 'OVER';
      console.log(
        `${path.relative(root, path.join(outdir, path.basename(file)))}  ${(info.bytes / 1024).toFixed(1)} KiB` +
          `  (${within} ${(limitOf(entry) / 1024 / 1024).toFixed(1)} MiB)`,
      );
    }
    console.log(`${path.relative(root, path.join(outdir, 'cloudflare.js'))}  ${(worker.bytes / 1024).toFixed(1)} KiB`);
    console.log(
      `${path.relative(root, path.join(outdir, 'console'))}/console.js  ${(consoleBuild.bytes / 1024).toFixed(1)} KiB`,
    );
  }
  return outdir;
}

module.exports = { buildRuntime, bundleNodeEntries, ENTRIES, limitOf, RUNTIME_OUTDIR: outdir };
if (require.main === module) {
  buildRuntime().catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
