/**
 * Bundles the Cloudflare Worker entry with esbuild into dist/runtime/cloudflare.js (ES module, for
 * workerd with the nodejs_compat flag). Node built-ins stay imports of `node:*`; CommonJS packages
 * that `require()` them get a small wrapper module, since an ES module Worker has no require.
 * Run: npx tsx services/sync-runtime/src/cloudflare/build.ts
 */
import { builtinModules } from 'module';
import * as path from 'path';
import { build, type Plugin } from 'esbuild';

const root = path.resolve(__dirname, '../../../..');
export const WORKER_ENTRY = path.join(__dirname, 'entry.ts');
export const WORKER_OUTFILE = path.join(root, 'dist', 'runtime', 'cloudflare.js');

/**
 * Built-ins this workerd version does not provide, with what the bundled code may read of them: pg
 * reads ~/.pgpass through fs only when no password is given (Hyperdrive always gives one), and the
 * engine names its worker after os.hostname(). Anything else throws, naming the module and member.
 */
const ABSENT_BUILTINS: Readonly<Record<string, string>> = {
  'node:fs': '{}',
  'node:os': "{ hostname: () => 'cloudflare-worker', EOL: '\\n' }",
};

const builtinPattern = new RegExp(`^(node:)?(${builtinModules.map((m) => m.replace(/[/]/g, '\\/')).join('|')})$`);

/** `require('events')` -> a module importing `node:events`; `import 'events'` -> external `node:events`. */
export const nodeBuiltins: Plugin = {
  name: 'workerd-node-builtins',
  setup(b) {
    b.onResolve({ filter: builtinPattern }, (args) => {
      const name = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
      if (name in ABSENT_BUILTINS) return { path: name, namespace: 'absent-builtin' };
      if (args.kind === 'require-call') return { path: name, namespace: 'required-builtin' };
      return { path: name, external: true };
    });
    b.onLoad({ filter: /.*/, namespace: 'required-builtin' }, (args) => ({
      contents: `import lib from ${JSON.stringify(args.path)};\nmodule.exports = lib;`,
      loader: 'js',
    }));
    b.onLoad({ filter: /.*/, namespace: 'absent-builtin' }, (args) => ({
      contents: `const provided = ${ABSENT_BUILTINS[args.path]};\nmodule.exports = new Proxy(provided, { get(target, key) { if (key in target) return target[key]; if (key === '__esModule' || typeof key === 'symbol') return undefined; return () => { throw new Error(${JSON.stringify(`${args.path} is not available on Workers`)} + ': ' + String(key)); }; } });`,
      loader: 'js',
    }));
  },
};

export interface WorkerBuild {
  readonly code: string;
  readonly bytes: number;
  readonly outfile: string | null;
  /** The source files bundled, relative to the project root (esbuild's metafile). */
  readonly inputs: readonly string[];
}

/** Bundles `entry` (default: the production entry); writes `outfile` unless `write` is false. */
export async function buildCloudflareWorker(
  options: { entry?: string; outfile?: string; write?: boolean; minify?: boolean } = {},
): Promise<WorkerBuild> {
  const outfile = options.outfile ?? WORKER_OUTFILE;
  const write = options.write ?? true;
  const result = await build({
    entryPoints: [options.entry ?? WORKER_ENTRY],
    absWorkingDir: root,
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    external: ['cloudflare:*'],
    plugins: [nodeBuiltins],
    minify: options.minify ?? true,
    write,
    metafile: true,
    logLevel: 'warning',
  });
  const code = write ? require('fs').readFileSync(outfile, 'utf8') : result.outputFiles![0].text;
  return {
    code,
    bytes: Buffer.byteLength(code),
    outfile: write ? outfile : null,
    inputs: Object.keys(result.metafile!.inputs),
  };
}

if (require.main === module) {
  buildCloudflareWorker().then(
    ({ outfile, bytes }) => console.log(`${path.relative(root, outfile!)}  ${(bytes / 1024).toFixed(1)} KiB`),
    (error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
