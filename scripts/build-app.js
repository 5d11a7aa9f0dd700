// Compiles the cdktf app (main.ts and what it imports) into dist/main.js with esbuild: packages stay
// external, so provider deep imports load lazily and the build takes well under a second.
const esbuild = require('esbuild');
const path = require('path');

const root = path.resolve(__dirname, '..');

function buildApp() {
  esbuild.buildSync({
    entryPoints: [path.join(root, 'main.ts')],
    outfile: path.join(root, 'dist', 'main.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
}

module.exports = { buildApp };
if (require.main === module) buildApp();
