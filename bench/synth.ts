/**
 * Synth benchmark: wall time and peak RSS of synthesizing every stack for every environment from the
 * compiled app (dist/main.js, as `npm run synth` runs it, without the cdktf CLI), each in a fresh
 * child process, beside `node -e "require('cdktf')"` measured the same way in the same run.
 * Run: `npm run bench -- synth` (RUNS=<n> to change the repetitions, default 3).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
const runs = Number(process.env.RUNS ?? 3);
const MARK = '@@bench-usage@@';

/** Preloaded into every child: prints its peak RSS (KiB) on exit, so baseline and synth are measured alike. */
const preload = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-')), 'usage.js');
fs.writeFileSync(
  preload,
  `process.on('exit', () => process.stderr.write('${MARK}' + process.resourceUsage().maxRSS + '\\n'));\n`,
);

interface Sample {
  readonly seconds: number;
  readonly peakMb: number;
}

function measure(args: string[], env: NodeJS.ProcessEnv): Sample {
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, ['-r', preload, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (child.status !== 0) throw new Error(`${args.join(' ')} exited with ${child.status}:\n${child.stderr}`);
  const mark = child.stderr.split('\n').find((line) => line.startsWith(MARK));
  if (!mark) throw new Error(`${args.join(' ')} did not report its memory`);
  return { seconds, peakMb: Number(mark.slice(MARK.length)) / 1024 };
}

function summarize(samples: Sample[]): Sample {
  const sorted = [...samples].sort((a, b) => a.seconds - b.seconds);
  return { seconds: sorted[Math.floor(sorted.length / 2)].seconds, peakMb: Math.max(...samples.map((s) => s.peakMb)) };
}

function synthCase(label: string, context: Record<string, unknown>, target?: { seconds: number; peakMb: number }) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-out-'));
  const env = { CDKTF_OUTDIR: outdir, CDKTF_CONTEXT_JSON: JSON.stringify(context), CHECKPOINT_DISABLE: '1' };
  const samples = Array.from({ length: runs }, () => measure([path.join(root, 'dist', 'main.js')], env));
  const stacks = fs.readdirSync(path.join(outdir, 'stacks')).sort();
  fs.rmSync(outdir, { recursive: true, force: true });
  return { label, stacks, ...summarize(samples), target };
}

async function main() {
  // The same build `npm run synth` does: the runtime bundle (the worker's asset) and the compiled app.
  await require(path.join(root, 'scripts', 'build-runtime.js')).buildRuntime({ quiet: true });
  require(path.join(root, 'scripts', 'build-app.js')).buildApp();

  const baseline = summarize(Array.from({ length: runs }, () => measure(['-e', "require('cdktf')"], {})));
  const cases = [
    synthCase('AWS, 3 environments', { clouds: 'aws' }, { seconds: 3, peakMb: 400 }),
    synthCase('all clouds with a stack, 3 environments', {}, { seconds: 8, peakMb: 800 }),
  ];

  const fmt = (s: Sample) => `${s.seconds.toFixed(2)} s  ${s.peakMb.toFixed(0)} MB`;
  console.log(
    `runs per case: ${runs} (median wall time, highest peak RSS); node ${process.version}, ${os.cpus().length} CPUs`,
  );
  console.log(`baseline  node -e "require('cdktf')": ${fmt(baseline)}`);
  let failed = false;
  for (const c of cases) {
    const within = c.target ? c.seconds < c.target.seconds && c.peakMb < c.target.peakMb : true;
    failed ||= !within;
    console.log(
      `${c.label} (${c.stacks.length} stacks: ${c.stacks.join(', ')})\n` +
        `  ${fmt(c)}  = ${(c.seconds / baseline.seconds).toFixed(1)}x time, ${(c.peakMb / baseline.peakMb).toFixed(1)}x memory of the baseline` +
        (c.target ? `; target < ${c.target.seconds} s / ${c.target.peakMb} MB: ${within ? 'met' : 'MISSED'}` : ''),
    );
  }
  fs.rmSync(path.dirname(preload), { recursive: true, force: true });
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
