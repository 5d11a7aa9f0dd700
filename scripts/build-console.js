// Builds the web console (console/) into static files: index.html, console.css and one esbuild bundle,
// console.js. The runtime serves them at /console; `npm run build` also puts them beside the bundle.
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const CONSOLE_OUTDIR = path.join(root, 'dist', 'console');

async function buildConsole({ outdir = CONSOLE_OUTDIR } = {}) {
  // Written beside the old build and swapped in, so a runtime serving it meanwhile never reads half a file.
  const staging = `${outdir}.tmp-${process.pid}-${Date.now()}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const result = await esbuild.build({
    entryPoints: [path.join(root, 'console', 'src', 'main.ts')],
    outfile: path.join(staging, 'console.js'),
    absWorkingDir: root,
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    minify: true,
    metafile: true,
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'console.css'])
    fs.copyFileSync(path.join(root, 'console', file), path.join(staging, file));
  const previous = `${outdir}.old-${process.pid}-${Date.now()}`;
  if (fs.existsSync(outdir)) fs.renameSync(outdir, previous);
  fs.renameSync(staging, outdir);
  fs.rmSync(previous, { recursive: true, force: true });
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
  return { outdir, bytes };
}

module.exports = { buildConsole, CONSOLE_OUTDIR };
if (require.main === module) {
  buildConsole().then(
    ({ outdir, bytes }) => console.log(`${path.relative(root, outdir)}/console.js  ${(bytes / 1024).toFixed(1)} KiB`),
    (error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
